"""Load test: a real `topicfit serve` process on 127.0.0.1, hit by a bounded Python client.

    python benchmarks/load_test.py benchmarks/runs/coarse/distill-minilm [--connections 16] [--seconds 60] [--backend auto]
        [--batch-wait-ms 5] [--max-batch 64] [--output benchmarks/results/load_test.json]

Each of ``--connections`` threads keeps one HTTP connection busy for ``--seconds``, sending one test post per
request (the test split's length mix). It records requests per second, p50/p99 latency and failures (any
non-200 answer or transport error), then stops the server. With ``--backend auto`` (the server's default) it
also records the backend the server chose (``model/backend-choice.json``). ``--batch-wait-ms``/``--max-batch`` go to
``topicfit serve`` (the server gathers concurrent requests into one prediction; 0 turns that off), unset: the
server's defaults. Writes ``--output`` (default ``benchmarks/results/load_test.json``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from common import RESULTS, save_result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def model_reference(args, texts: list[str]) -> dict:
    """The model's own docs/s here, before the server starts (same backend, same batch size): on batches of
    ``--connections`` texts taken in the clients' order (what a gathered batch holds) and on the same texts sorted
    by length into the backend's batches (how the inference table measures, with little padding)."""
    from topicfit.predict import TopicClassifier

    clf = TopicClassifier.load(args.run, backend=args.backend, batch_size=args.batch_size)
    sample = [texts[i % len(texts)] for i in range(args.reference_batches * args.connections)]
    clf.predict_proba(sample[: args.connections])  # warm-up
    start = time.perf_counter()
    for b in range(0, len(sample), args.connections):
        clf.predict_proba(sample[b : b + args.connections])
    arrival = len(sample) / (time.perf_counter() - start)
    start = time.perf_counter()
    clf.predict_proba(sample)
    whole = len(sample) / (time.perf_counter() - start)
    return {"texts": len(sample), "docs_per_second_batches_of_connections": round(arrival, 1),
            "docs_per_second_sorted_by_length": round(whole, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--backend", default="auto", help="as `topicfit serve --backend` (default auto)")
    parser.add_argument("--batch-wait-ms", type=float, help="as `topicfit serve --batch-wait-ms` (0: no batching; default: the server's)")
    parser.add_argument("--max-batch", type=int, help="as `topicfit serve --max-batch` (default: the server's)")
    parser.add_argument("--batch-size", type=int, help="as `topicfit serve --batch-size` (default: the backend's)")
    parser.add_argument("--reference-batches", type=int, default=40,
                        help="before the server starts, time the model in this process on this many batches of --connections "
                             "texts in the clients' order, and on the same texts sorted by length (the inference table's way)")
    parser.add_argument("--output", type=Path, default=RESULTS / "load_test.json")
    args = parser.parse_args()
    from topicfit.data import DataConfig, load_splits
    from topicfit.backends import machine_key
    from topicfit.runs import BACKEND_CHOICE_FILE, MODEL_DIR, environment, read_run
    from topicfit.serve import BATCH_WAIT_MS, MAX_BATCH

    env = environment()  # before the run: the commit that ran it, even if HEAD moves meanwhile

    run, _ = read_run(args.run)
    texts = load_splits(DataConfig.from_dict(run["data_config"])).test.texts
    port = free_port()
    batching = [*(["--batch-wait-ms", f"{args.batch_wait_ms:g}"] if args.batch_wait_ms is not None else []),
                *(["--max-batch", str(args.max_batch)] if args.max_batch is not None else []),
                *(["--batch-size", str(args.batch_size)] if args.batch_size is not None else [])]
    reference = model_reference(args, texts) if args.reference_batches else None
    server = subprocess.Popen([sys.executable, "-m", "topicfit", "-q", "serve", args.run, "--port", str(port), "--backend", args.backend, *batching])
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("server did not start")
                time.sleep(0.5)
        backend = args.backend
        choice_file = Path(args.run) / MODEL_DIR / BACKEND_CHOICE_FILE
        if backend == "auto" and choice_file.exists() and machine_key() in json.loads(choice_file.read_text()):
            backend = f"auto ({json.loads(choice_file.read_text())[machine_key()]['backend']})"
        latencies: list[float] = []
        failures = [0]
        lock = threading.Lock()
        stop = time.monotonic() + args.seconds

        def worker(k: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            i = k
            while time.monotonic() < stop:
                body = json.dumps({"texts": [texts[i % len(texts)]], "top_k": 3})
                i += args.connections
                t = time.perf_counter()
                try:
                    conn.request("POST", "/predict", body=body, headers={"content-type": "application/json"})
                    resp = conn.getresponse()
                    resp.read()
                    ok = resp.status == 200
                except (OSError, http.client.HTTPException):
                    ok = False
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                with lock:
                    latencies.append(1000 * (time.perf_counter() - t))
                    failures[0] += not ok

        start = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(args.connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)
    wait_ms = BATCH_WAIT_MS if args.batch_wait_ms is None else args.batch_wait_ms
    result = {"run": args.run, "backend": backend, "batch_wait_ms": wait_ms, "max_batch": (args.max_batch or MAX_BATCH) if wait_ms else None,
              "connections": args.connections, "seconds": round(elapsed, 1), "model_alone": reference,
              "batch_size": args.batch_size,
              "requests": len(latencies), "failed": failures[0], "requests_per_second": round(len(latencies) / elapsed, 1),
              "latency_ms_p50": round(float(np.percentile(latencies, 50)), 1), "latency_ms_p99": round(float(np.percentile(latencies, 99)), 1),
              "command": f"python benchmarks/load_test.py {args.run} --connections {args.connections} --seconds {args.seconds:g} --backend {args.backend}"
                         + "".join(f" {flag}" for flag in batching) + (f" --output {args.output}" if args.output != RESULTS / "load_test.json" else ""),
              "machine": {"cpu": env["machine"]["cpu"], "cpu_flags": env["machine"]["cpu_flags"], "cores": env["machine"]["cores"]},
              "git_commit": env["git_commit"],
              "date": dt.date.today().isoformat()}
    save_result(args.output, result)
    print(json.dumps(result, indent=2))
    return 0 if failures[0] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
