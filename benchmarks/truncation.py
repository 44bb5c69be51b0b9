"""Head-only vs head+tail truncation, judged on the validation split (never on test).

    python benchmarks/truncation.py [--train-samples 4000] [--max-length 256]

Fine-tunes the bundled MiniLM on a stratified subset of the coarse training data, once per strategy, with
everything else equal, and writes ``benchmarks/results/truncation.json`` (rendered by benchmarks/tables.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import subprocess
import sys
import time

from common import REPO, RESULTS, RUNS, save_result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-samples", type=int, default=4000)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--epochs", type=float, default=1.0)
    args = parser.parse_args()
    from topicfit.runs import environment

    env = environment()
    rows = []
    for strategy in ("head", "head+tail"):
        out = RUNS / "truncation" / strategy.replace("+", "-")
        cmd = ["topicfit", "-q", "train", "--labels", "coarse", "--model", "minilm", "--truncation", strategy,
               "--max-length", str(args.max_length), "--epochs", str(args.epochs), "--max-train-samples", str(args.train_samples),
               "--no-train-eval", "--max-eval-samples", "1132", "--output", str(out.relative_to(REPO)), "--overwrite"]
        print("$", shlex.join(cmd), flush=True)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "topicfit", *cmd[1:]], check=True, cwd=REPO)
        seconds = time.perf_counter() - start
        val = json.loads((out / "metrics.json").read_text())["validation"]
        rows.append({"truncation": strategy, "validation_accuracy": val["accuracy"], "validation_macro_f1": val["macro_f1"],
                     "validation_loss": val["loss"], "n_validation": val["n"], "wall_clock_seconds": round(seconds, 1),
                     "command": shlex.join(cmd)})
    result = {"task": "20newsgroups-coarse", "train_samples": args.train_samples, "max_length": args.max_length, "epochs": args.epochs,
              "rows": rows, "machine": {"cpu": env["machine"]["cpu"], "cores": env["machine"]["cores"]},
              "git_commit": env["git_commit"], "date": dt.date.today().isoformat()}
    save_result(RESULTS / "truncation.json", result)
    for r in rows:
        print(f"{r['truncation']:>10}: validation accuracy {r['validation_accuracy']:.4f}, macro-F1 {r['validation_macro_f1']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
