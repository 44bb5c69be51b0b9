"""What hyperparameter search gains over topicfit's defaults, measured with `topicfit tune`.

    python benchmarks/tune.py --method tfidf-svm --trials 30
    python benchmarks/tune.py --model minilm --trials 8 --quick --timeout 30

Trial 0 of every study is the defaults, so the gain is on the validation split; the best settings are then
retrained and scored once on test. Writes ``benchmarks/results/tune-<target>.json``.
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

from common import REPO, RESULTS, save_result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", help="a TF-IDF baseline")
    parser.add_argument("--model", help="a transformer (e.g. minilm)")
    parser.add_argument("--labels", default="coarse")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--timeout", type=float)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    target = args.method or args.model or "minilm"
    out = Path("benchmarks/runs/tune") / f"{args.labels}-{target}"
    cmd = ["topicfit", "-q", "tune", "--labels", args.labels, "--trials", str(args.trials), "--output", str(out), "--overwrite"]
    cmd += ["--method", args.method] if args.method else ["--model", target]
    cmd += (["--quick"] if args.quick else []) + (["--timeout", str(args.timeout)] if args.timeout else [])
    from topicfit.runs import environment

    env = environment()  # before the run: the commit that ran it, even if HEAD moves meanwhile
    print("$", shlex.join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "topicfit", *cmd[1:]], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    summary = json.loads((REPO / out / "tune.json").read_text())
    result = {"task": f"20newsgroups-{args.labels}", **summary, "wall_clock_seconds": round(seconds, 1), "command": shlex.join(cmd),
              "machine": {"cpu": env["machine"]["cpu"], "cores": env["machine"]["cores"]}, "git_commit": env["git_commit"],
              "date": dt.date.today().isoformat()}
    save_result(RESULTS / f"tune-{args.labels}-{target}.json", result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
