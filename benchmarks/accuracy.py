"""Accuracy benchmark: every method topicfit offers, on both label schemes, with topicfit's own commands.

    python benchmarks/accuracy.py                     # everything: baselines, MiniLM fine-tune, ensemble
    python benchmarks/accuracy.py --schemes coarse --skip-transformer
    python benchmarks/accuracy.py --schemes fine --skip-baselines --models mpnet --extra "--epochs 1 --max-length 128"

For each scheme it runs ``topicfit baseline --method all``, ``topicfit train --model minilm`` (or ``--models``; and
``--model distilbert`` when $TOPICFIT_DISTILBERT names a local copy of distilbert-base-uncased), and
``topicfit ensemble`` of the fine-tuned model with the TF-IDF baseline that has the best *validation*
macro-F1. Each result lands in ``benchmarks/results/<scheme>-<method>.json`` (task, method, test metrics,
wall-clock seconds, command, machine, date; a long ensemble gets a short name, see ``common.result_name``);
``benchmarks/tables.py`` turns them into BENCHMARKS.md tables.
Run folders go to ``benchmarks/runs/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path

from common import RUNS, best_tfidf, machine, record, topicfit

# the fine-tuning recipe the benchmark records (every value is also a `topicfit train` flag)
TRAIN_FLAGS = ["--epochs", "3", "--learning-rate", "1e-4", "--batch-size", "16", "--max-length", "256",
               "--truncation", "head+tail", "--class-weight", "balanced"]


def merge_flags(flags: list[str], extra: list[str]) -> list[str]:
    """``flags`` with every ``--name value`` pair that ``extra`` repeats replaced by extra's (one value each).

    >>> merge_flags(["--epochs", "3", "--batch-size", "16"], ["--epochs", "1", "--fp32"])
    ['--batch-size', '16', '--epochs', '1', '--fp32']
    """
    given = {a for a in extra if a.startswith("--")}
    kept, i = [], 0
    while i < len(flags):
        if flags[i] in given:
            i += 2
            continue
        kept.append(flags[i])
        i += 1
    return kept + extra


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schemes", nargs="+", default=["coarse", "fine"], choices=["coarse", "fine"])
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--skip-transformer", action="store_true")
    parser.add_argument("--models", nargs="+", default=["minilm"], help="encoders to fine-tune (minilm, mpnet, a Hub id or folder)")
    parser.add_argument("--extra", default="", help="extra flags for `topicfit train` (they win), e.g. '--epochs 1 --max-length 128'")
    parser.add_argument("--validation-split", choices=["random", "date"], help="passed to every command (default: topicfit's)")
    parser.add_argument("--tag", help="appended to the run folders and result files, e.g. '2ep': keeps an earlier run of the same model")
    parser.add_argument("--skip-train", action="store_true", help="reuse the finished fine-tuned runs; only make their ensembles again")
    args = parser.parse_args()
    split = ["--validation-split", args.validation_split] if args.validation_split else []
    info = machine()
    for scheme in args.schemes:
        base_dir = RUNS / scheme / "baselines"
        if not args.skip_baselines:
            for method in ("random", "majority", "tfidf-logreg", "tfidf-svm", "tfidf-ridge", "tfidf-nb"):
                cmd, seconds = topicfit("-q", "baseline", "--labels", scheme, *split, "--method", method, "--output", str(base_dir / method), "--overwrite")
                record(scheme, base_dir / method, cmd, seconds, info)
        if args.skip_transformer:
            continue
        models = [(Path(m).name + (f"-{args.tag}" if args.tag else ""), m) for m in args.models]
        if os.environ.get("TOPICFIT_DISTILBERT"):
            models.append(("distilbert", os.environ["TOPICFIT_DISTILBERT"]))
        for name, model in models:
            run_dir = RUNS / scheme / name
            if not args.skip_train:
                cmd, seconds = topicfit("train", "--labels", scheme, *split, "--model", model, *merge_flags(TRAIN_FLAGS, shlex.split(args.extra)),
                                        "--output", str(run_dir), "--overwrite")
                record(scheme, run_dir, cmd, seconds, info, args.tag)
            partner = best_tfidf(base_dir)
            if partner is not None:
                ens_dir = RUNS / scheme / f"{name}+{partner.name}"
                cmd, seconds = topicfit("-q", "ensemble", str(run_dir), str(partner), "--output", str(ens_dir), "--overwrite")
                record(scheme, ens_dir, cmd, seconds, info, args.tag)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
