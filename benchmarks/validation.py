"""Which validation split predicts the test split better: a random stratified 10% of the training posts, or
each group's latest 10% (``--validation-split date``)?

    python benchmarks/validation.py                       # TF-IDF baselines on both schemes
    python benchmarks/validation.py --embed minilm mpnet  # plus the frozen-encoder kind (embeddings cached)

For every method and split it records validation and test macro-F1 and accuracy; the summary gives, per split
option, the mean gap |validation - test| and whether the method with the best validation macro-F1 is the best
on test. Writes ``benchmarks/results/validation.json``; ``benchmarks/tables.py`` renders it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from common import RESULTS, RUNS, save_result
from topicfit.cli import main as topicfit
from topicfit.runs import environment, read_run

TFIDF = ("tfidf-logreg", "tfidf-svm", "tfidf-nb", "tfidf-ridge")


def run(args: list[str], output: Path) -> dict:
    start = time.perf_counter()
    if topicfit(["-q", *args, "--output", str(output), "--overwrite"]) != 0:
        raise SystemExit(f"topicfit {' '.join(args)} failed")
    _, metrics = read_run(output)
    return {k: {m: metrics[k][m] for m in ("accuracy", "macro_f1")} for k in ("validation", "test")} | {"seconds": round(time.perf_counter() - start, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schemes", nargs="+", default=["coarse", "fine"])
    parser.add_argument("--embed", nargs="*", default=[], help="also the embed kind with these encoders")
    args = parser.parse_args()
    env = environment()
    rows = []
    for scheme in args.schemes:
        for split in ("random", "date"):
            common = ["--labels", scheme, "--validation-split", split]
            jobs = [(m, ["baseline", "--method", m, *common]) for m in TFIDF]
            jobs += [(f"embed-{e}", ["embed", "--model", e, *common]) for e in args.embed]
            for name, cmd in jobs:
                result = run(cmd, RUNS / "validation" / scheme / split / name)
                rows.append({"scheme": scheme, "split": split, "method": name, **result})
                print(json.dumps(rows[-1]), flush=True)
    summary = []
    for scheme in args.schemes:
        for split in ("random", "date"):
            group = [r for r in rows if r["scheme"] == scheme and r["split"] == split]
            gap = sum(abs(r["validation"]["macro_f1"] - r["test"]["macro_f1"]) for r in group) / len(group)
            picked = max(group, key=lambda r: r["validation"]["macro_f1"])["method"]
            best = max(group, key=lambda r: r["test"]["macro_f1"])["method"]
            summary.append({"scheme": scheme, "split": split, "mean_abs_gap_macro_f1": round(gap, 4), "picked_by_validation": picked,
                            "best_on_test": best, "picks_the_test_best": picked == best})
    result = {"rows": rows, "summary": summary, "command": "python benchmarks/validation.py " + " ".join(sys.argv[1:]),
              "machine": {"cpu": env["machine"]["cpu"], "cores": env["machine"]["cores"], "cpu_flags": env["machine"]["cpu_flags"]},
              "git_commit": env["git_commit"], "date": dt.date.today().isoformat()}
    save_result(RESULTS / "validation.json", result)
    for s in summary:
        print(s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
