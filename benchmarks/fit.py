"""`topicfit fit` as a user runs it: one command per label scheme, a cold embedding cache (so every encoder cost
is paid), the wall clock of the whole command against its budget, and the chosen model's test scores.

    python benchmarks/fit.py --schemes coarse fine --budget 20

Writes ``benchmarks/results/fit-SCHEME.json`` (the leaderboard, the plan, the seconds) and leaves the output in
``benchmarks/runs/fit-SCHEME/`` (git-ignored). Rendered by ``benchmarks/tables.py`` (the headline table).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RUNS, machine, relative_command, write_result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemes", nargs="+", default=["coarse"], choices=("coarse", "fine"))
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--extra", default="", help="more `topicfit fit` flags, e.g. '--encoders minilm'")
    parser.add_argument("--tag", help="a suffix for the result's name (another setting of the same command)")
    args = parser.parse_args()
    info = machine()
    for scheme in args.schemes:
        output = RUNS / f"fit-{scheme}" if not args.tag else RUNS / f"fit-{scheme}-{args.tag}"
        cmd = [sys.executable, "-m", "topicfit", "fit", "--labels", scheme, "--budget", f"{args.budget:g}", "--output", str(output),
               "--overwrite", *args.extra.split()]
        with tempfile.TemporaryDirectory(prefix="topicfit-cold-cache-") as cache:  # nothing embedded before: every cost is paid
            start = time.perf_counter()
            subprocess.run(cmd, check=True, env={**os.environ, "TOPICFIT_CACHE": cache})
            seconds = time.perf_counter() - start
        board = json.loads((output / "leaderboard.json").read_text())
        chosen = next(r for r in board["candidates"] if r["chosen"])
        result = {"scheme": scheme, "budget_minutes": args.budget, "seconds": round(seconds, 1),
                  "within_budget_plus_10_percent": seconds <= 1.1 * 60 * args.budget, "chosen": chosen,
                  "candidates": board["candidates"], "plan": {k: board[k] for k in ("data", "machine") if k in board}}
        write_result(f"fit-{scheme}" + (f"-{args.tag}" if args.tag else ""), result, relative_command(cmd), info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
