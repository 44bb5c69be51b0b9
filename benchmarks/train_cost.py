"""What one epoch of fine-tuning costs per encoder and max length on this machine, measured on a slice.

    python benchmarks/train_cost.py --models minilm mpnet --max-lengths 128 256 --posts 320

Each case runs ``topicfit train`` on ``--posts`` stratified 20 Newsgroups training posts for one epoch
(batch 16, bf16 autocast where the CPU has it) and reads the Trainer's measured training throughput; the
seconds per epoch of the full 10,182-post training split are that throughput extrapolated, and say so.
Writes ``benchmarks/results/train-cost.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time

from common import RESULTS, RUNS, save_result
from topicfit.cli import main as topicfit
from topicfit.runs import environment, read_run

FULL_TRAIN = 10182  # training posts after the 10% validation split


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["minilm", "mpnet"])
    parser.add_argument("--max-lengths", nargs="+", type=int, default=[128, 256])
    parser.add_argument("--posts", type=int, default=320)
    args = parser.parse_args()
    env = environment()
    rows = []
    for model in args.models:
        for length in args.max_lengths:
            out = RUNS / "train-cost" / f"{model}-{length}"
            start = time.perf_counter()
            argv = ["-q", "train", "--labels", "fine", "--model", model, "--epochs", "1", "--batch-size", "16", "--max-length", str(length),
                    "--max-train-samples", str(args.posts), "--max-eval-samples", "100", "--no-train-eval", "--output", str(out), "--overwrite"]
            if topicfit(argv) != 0:
                raise SystemExit(f"topicfit {' '.join(argv)} failed")
            run, _ = read_run(out)
            per_second = run["timings"]["train_samples_per_second"]
            rows.append({"model": model, "max_length": length, "posts": args.posts, "train_samples_per_second": per_second,
                         "seconds_per_step": round(16 / per_second, 3), "epoch_seconds_extrapolated": round(FULL_TRAIN / per_second),
                         "precision": run["timings"]["precision"], "wall_clock_seconds": round(time.perf_counter() - start, 1)})
            print(json.dumps(rows[-1]), flush=True)
    result = {"rows": rows, "command": "python benchmarks/train_cost.py " + " ".join(sys.argv[1:]),
              "machine": {"cpu": env["machine"]["cpu"], "cores": env["machine"]["cores"], "cpu_flags": env["machine"]["cpu_flags"]},
              "git_commit": env["git_commit"], "date": dt.date.today().isoformat()}
    save_result(RESULTS / "train-cost.json", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
