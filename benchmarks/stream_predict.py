"""Memory of ``topicfit predict`` on a long input: one `topicfit predict RUN INPUT --output OUT` process, its peak RSS.

    python benchmarks/stream_predict.py runs/svm [--lines 1000000] [--chars 100] [--in-memory]

Writes ``--lines`` short plain-text lines (the first ``--chars`` characters of the run's test posts, whitespace
collapsed, cycled) to a temporary file, predicts them with a real ``topicfit predict`` process and reads that
process's peak resident memory from ``os.wait4`` (so nothing else this script runs is counted). Checks that the
output has exactly one record per line, numbered 0..n-1. ``--in-memory`` also measures the way ``topicfit predict``
worked before it streamed (``read_inputs`` on the whole input, then ``predict_inputs``, then one write), in its own
process, on the same file. Writes ``benchmarks/results/stream-predict.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, RESULTS, save_result

IN_MEMORY = """
import json, sys
from topicfit.predict import TopicClassifier, predict_inputs, read_inputs
run, source, output = sys.argv[1:]
clf = TopicClassifier.load(run)
with open(source, "rb") as f:
    out = predict_inputs(clf, read_inputs(f.read()))
with open(output, "w", encoding="utf-8") as f:
    f.write("".join(json.dumps(r, ensure_ascii=False) + "\\n" for r in out))
"""


def measure(argv: list[str], output: Path) -> dict:
    """Run one child to its end: wall seconds, its peak RSS, and the records it wrote (checked in order)."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[:4]} failed with {os.waitstatus_to_exitcode(status)}")
    records, last = 0, None
    with open(output, "rb") as f:
        for line in f:
            last = line
            records += 1
    assert last is not None and json.loads(last)["index"] == records - 1, "records out of order"
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024), "records_written": records,
            "records_per_second": round(records / seconds)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--chars", type=int, default=100, help="characters per line (the start of a test post)")
    parser.add_argument("--in-memory", action="store_true", help="also measure the pre-streaming way (read all, predict all, write)")
    args = parser.parse_args()
    from topicfit.data import DataConfig, load_splits
    from topicfit.runs import environment, read_run

    env = environment()  # before the run: the commit that ran it, even if HEAD moves meanwhile
    run, _ = read_run(args.run)
    posts = [" ".join(t.split())[: args.chars] for t in load_splits(DataConfig.from_dict(run["data_config"])).test.texts]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "lines.txt"
        with open(source, "w", encoding="utf-8") as f:
            for i in range(args.lines):
                f.write(posts[i % len(posts)] + "\n")
        input_mb = round(source.stat().st_size / 1e6, 1)
        streamed = measure([sys.executable, "-m", "topicfit", "-q", "predict", args.run, str(source), "--output", str(Path(tmp) / "out.jsonl")],
                           Path(tmp) / "out.jsonl")
        print("streamed:", json.dumps(streamed))
        in_memory = None
        if args.in_memory:
            in_memory = measure([sys.executable, "-c", IN_MEMORY, args.run, str(source), str(Path(tmp) / "in-memory.jsonl")],
                                Path(tmp) / "in-memory.jsonl")
            print("in memory:", json.dumps(in_memory))
    result = {"run": args.run, "method": run.get("method"), "lines": args.lines, "chars_per_line": args.chars, "input_mb": input_mb,
              **streamed, "in_memory": in_memory,
              "command": f"python benchmarks/stream_predict.py {args.run} --lines {args.lines} --chars {args.chars}"
                         + (" --in-memory" if args.in_memory else ""),
              "measured_command": f"topicfit -q predict {args.run} LINES.txt --output OUT.jsonl",
              "machine": {"cpu": env["machine"]["cpu"], "cores": env["machine"]["cores"]},
              "git_commit": env["git_commit"], "date": dt.date.today().isoformat()}
    save_result(RESULTS / "stream-predict.json", result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
