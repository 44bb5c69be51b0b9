"""Do a search's best settings hold on the full data? Retrain them with one flag changed and compare.

    python benchmarks/retrain.py benchmarks/runs/tune/coarse-minilm --max-length 256

A quick search (``topicfit tune --quick``) judges its trials on 1,000 training posts. Some settings, the
max length above all, may matter differently on ten times the data. This script reruns ``topicfit train``
with the study's ``best_params.json`` plus the flags given after the tune folder (flags win), on the same
data settings as the tune's own ``best/`` run, and records both runs' validation and test metrics.
Writes ``benchmarks/results/retrain-<labels>-<target>-<flags>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from common import MAX_NAME, REPO, RESULTS, relative, save_result

METRICS = ("accuracy", "macro_f1", "weighted_f1", "loss")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tune_dir", type=Path)
    args, overrides = parser.parse_known_args()
    from topicfit.runs import environment, read_run

    env = environment()  # before the run: the commit that ran it, even if HEAD moves meanwhile
    summary = json.loads((args.tune_dir / "tune.json").read_text())
    best_run, best_metrics = read_run(args.tune_dir / "best")
    labels = best_run["labels"]
    out = args.tune_dir / ("retrain-" + "-".join(o.lstrip("-") for o in overrides))
    cmd = ["topicfit", "-q", "train", "--labels", labels, "--model", summary["target"], "--config", str(args.tune_dir / "best_params.json"),
           *overrides, "--output", str(out), "--overwrite"]
    print("$", shlex.join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "topicfit", *cmd[1:]], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    _, metrics = read_run(REPO / out)

    def pick(m):
        return {split: {k: m[split][k] for k in METRICS} for split in ("validation", "test")}

    result = {"task": f"20newsgroups-{labels}", "target": summary["target"], "quick": summary["quick"],
              "best_params": summary["best_params"], "overrides": overrides,
              "tuned": {"run": relative(args.tune_dir / "best"), **pick(best_metrics)}, "retrained": {"run": relative(out), **pick(metrics)},
              "wall_clock_seconds": round(seconds, 1), "command": f"python benchmarks/retrain.py {args.tune_dir} {shlex.join(overrides)}",
              "machine": {"cpu": env["machine"]["cpu"], "cores": env["machine"]["cores"]}, "git_commit": env["git_commit"],
              "date": dt.date.today().isoformat()}
    path = RESULTS / f"{result_name(labels, summary['target'], overrides)}.json"
    save_result(path, result)
    print(json.dumps(result, indent=2))
    return 0


def result_name(labels: str, target: str, overrides: list[str]) -> str:
    """``retrain-LABELS-TARGET-FLAGS`` (the flags and values given, dashes between); where that is over
    ``MAX_NAME`` characters, the first flag and how many more: ``retrain-coarse-minilm-learning-rate-and-5-more``."""
    name = f"retrain-{labels}-{target}-" + "-".join(o.lstrip("-") for o in overrides)
    if len(name) + len(".json") <= MAX_NAME:
        return name
    flags = [o.lstrip("-") for o in overrides if o.startswith("--")]
    return f"retrain-{labels}-{target}-{flags[0]}-and-{len(flags) - 1}-more" if flags else f"retrain-{labels}-{target}"


if __name__ == "__main__":
    raise SystemExit(main())
