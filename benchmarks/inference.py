"""Prediction speed and accuracy of one fine-tuned run on each CPU backend.

    python benchmarks/inference.py RUN [--docs 1000] [--batch-sizes 4 8 16 32 64]

Backends: PyTorch fp32, PyTorch bf16 autocast, ONNX fp32, ONNX int8 (fused attention; ``topicfit export
--int8``, which this script runs first so the files match the current exporter). Throughput uses ``--docs``
test posts drawn at random (seeded), so the length mix is the test split's, and is measured at every batch
size; each backend is credited with its fastest, and speed-ups compare best with best. Latency is one text
per call, median and p99 over 50 calls. Accuracy is on the whole test split, at each backend's best batch
size. Writes ``benchmarks/results/inference.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run")
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT.parent / "src"))
    from topicfit.data import DataConfig, load_splits
    from topicfit.evaluate import compute_metrics
    from topicfit.predict import TopicClassifier
    from topicfit.runs import environment, read_run

    env = environment()  # before the run: the commit that ran it, even if HEAD moves meanwhile

    run_dir = Path(args.run)
    run, _ = read_run(run_dir)
    subprocess.run([sys.executable, "-m", "topicfit", "-q", "export", str(run_dir), "--int8"], check=True)
    test = load_splits(DataConfig.from_dict(run["data_config"])).test
    rng = np.random.default_rng(0)
    sample = [test.texts[i] for i in rng.choice(len(test), size=min(args.docs, len(test)), replace=False)]
    singles = sample[:50]
    rows = []
    for name, backend, precision in (("pytorch fp32", "torch", "fp32"), ("pytorch bf16", "torch", "bf16"),
                                     ("onnx fp32", "onnx", None), ("onnx int8", "onnx-int8", None)):
        by_batch = {}
        for batch_size in args.batch_sizes:
            clf = TopicClassifier.load(run_dir, backend=backend, batch_size=batch_size)
            if precision:
                clf.estimator.precision_ = precision
            clf.predict_proba(sample[:32])  # warm-up
            start = time.perf_counter()
            clf.predict_proba(sample)
            by_batch[batch_size] = round(len(sample) / (time.perf_counter() - start), 1)
            print(name, batch_size, by_batch[batch_size], flush=True)
        best = max(by_batch, key=by_batch.get)
        clf = TopicClassifier.load(run_dir, backend=backend, batch_size=best)
        if precision:
            clf.estimator.precision_ = precision
        latencies = []
        for text in singles:
            t = time.perf_counter()
            clf.predict_proba([text])
            latencies.append(1000 * (time.perf_counter() - t))
        proba = clf.predict_proba(test.texts)
        preds = [str(clf.classes_[i]) for i in proba.argmax(axis=1)]
        m = compute_metrics(references=test.labels, predictions=preds, classes=list(map(str, clf.classes_)), probabilities=proba)
        rows.append({"backend": name, "batch_size": best, "docs_per_second": by_batch[best], "docs_per_second_by_batch_size": by_batch,
                     "latency_ms_p50": round(float(np.median(latencies)), 1), "latency_ms_p99": round(float(np.percentile(latencies, 99)), 1), "test_accuracy": m["accuracy"], "test_macro_f1": m["macro_f1"]})
        print(rows[-1], flush=True)
    result = {"run": str(run_dir), "method": run["method"], "labels": run["labels"], "docs": len(sample), "rows": rows,
              "command": f"python benchmarks/inference.py {args.run} --docs {args.docs} --batch-sizes {' '.join(map(str, args.batch_sizes))}",
              "machine": {"cpu": env["machine"]["cpu"], "cores": env["machine"]["cores"]}, "versions": env["versions"],
              "git_commit": env["git_commit"], "date": dt.date.today().isoformat()}
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "inference.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
