"""Accuracy benchmark: every method topicfit offers, on both label schemes, with topicfit's own commands.

    python benchmarks/accuracy.py                     # everything: baselines, MiniLM fine-tune, ensemble
    python benchmarks/accuracy.py --schemes coarse --skip-transformer
    python benchmarks/accuracy.py --schemes fine --skip-baselines --models mpnet --extra "--epochs 1 --max-length 128"

For each scheme it runs ``topicfit baseline --method all``, ``topicfit train --model minilm`` (or ``--models``; and
``--model distilbert`` when $TOPICFIT_DISTILBERT names a local copy of distilbert-base-uncased), and
``topicfit ensemble`` of the fine-tuned model with the TF-IDF baseline that has the best *validation*
macro-F1. Each result lands in ``benchmarks/results/<scheme>-<method>.json`` (task, method, test metrics,
wall-clock seconds, command, machine, date); ``benchmarks/tables.py`` turns them into BENCHMARKS.md tables.
Run folders go to ``benchmarks/runs/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
RUNS = ROOT / "runs"

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


def machine() -> dict:
    sys.path.insert(0, str(ROOT.parent / "src"))
    from topicfit.runs import environment

    env = environment()
    return {"cpu": env["machine"]["cpu"], "cores": env["machine"]["cores"], "versions": env["versions"], "git_commit": env["git_commit"]}


def topicfit(*args: str) -> tuple[list[str], float]:
    cmd = [sys.executable, "-m", "topicfit", *args]
    print("$", shlex.join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return cmd, time.perf_counter() - start


def write_result(name: str, result: dict, command: str, info: dict) -> Path:
    """``benchmarks/results/NAME.json``: ``result`` with the command that made it, the machine (from :func:`machine`),
    the library versions, the commit and the date."""
    out = ROOT / "results" / f"{name}.json"
    out.write_text(json.dumps({**result, "command": command, "machine": {k: info[k] for k in ("cpu", "cores")}, "versions": info["versions"],
                               "git_commit": info["git_commit"], "date": dt.date.today().isoformat()}, indent=2) + "\n")
    print(f"wrote {out}")
    return out


def relative_command(cmd: list[str]) -> str:
    """The topicfit command as a user types it from the repository root: no interpreter, no machine paths."""
    def rel(arg: str) -> str:
        path = Path(arg)
        return os.path.relpath(path, ROOT.parent) if path.is_absolute() and ROOT.parent in path.parents else arg

    return shlex.join(["topicfit", *(rel(a) for a in cmd[3:])])


def record(scheme: str, run_dir: Path, cmd: list[str], seconds: float, info: dict, tag: str | None = None) -> dict:
    run = json.loads((run_dir / "run.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    keep = ("accuracy", "macro_f1", "weighted_f1", "loss", "n", "docs_per_second")
    result = {
        "task": f"20newsgroups-{scheme}",
        "method": run["method"] + (f" [{tag}]" if tag else ""),
        "run": str(run_dir.relative_to(ROOT.parent)),
        "test": {k: metrics["test"].get(k) for k in keep},  # an ensemble's docs/s: timed through its members, below
        "validation": {k: metrics["validation"].get(k) for k in keep} if "validation" in metrics else None,
        "validation_split": run["data_config"].get("validation_split", "random"),
        "train_seconds": run["timings"].get("train_seconds"),
        "wall_clock_seconds": round(seconds, 1),
        "command": relative_command(cmd),
        "machine": {k: info[k] for k in ("cpu", "cores")},
        "versions": info["versions"],
        "git_commit": info["git_commit"],
        "date": dt.date.today().isoformat(),
    }
    if run["kind"] == "ensemble":  # its evaluation reused the members' saved probabilities; fit timed the real members
        result["test"]["docs_per_second"] = run["timings"].get("test_docs_per_second")
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = run["method"] if run["kind"] != "ensemble" else ("ensemble" if len(run["members"]) == 2 and "finetune-minilm" in run["method"]
                                                             else "ensemble-" + "+".join(m["method"] for m in run["members"]))
    path = RESULTS / f"{scheme}-{name}{f'-{tag}' if tag else ''}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{path.name}: test accuracy {result['test']['accuracy']:.4f}, macro-F1 {result['test']['macro_f1']:.4f}, "
          f"{seconds:.0f}s", flush=True)
    return result


def best_tfidf(scheme_dir: Path) -> Path:
    """The TF-IDF baseline with probabilities and the best validation macro-F1 (never chosen on test)."""
    best, score = None, -1.0
    for run_dir in sorted(scheme_dir.glob("*")):
        if not run_dir.name.startswith("tfidf-") or not (run_dir / "run.json").exists():
            continue
        first = json.loads((run_dir / "predictions-validation.jsonl").open().readline())
        if first.get("probabilities") is None:
            continue
        f1 = json.loads((run_dir / "metrics.json").read_text())["validation"]["macro_f1"]
        if f1 > score:
            best, score = run_dir, f1
    return best


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
