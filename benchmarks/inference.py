"""Prediction speed and accuracy of one fine-tuned run on every CPU backend, and what ``--backend auto`` picks.

    python benchmarks/inference.py RUN [--docs 1000] [--batch-sizes 8 16 32] [--lengths 512]

First runs ``topicfit export RUN --int8`` (so the files and ``model/backends.json`` match the current code), then,
at the run's own max length and at each of ``--lengths``:

- every backend: PyTorch fp32, PyTorch bf16 autocast (CPUs with bf16 instructions), onnxruntime fp32 and int8,
  OpenVINO (bf16 where the CPU has it) and OpenVINO static int8; throughput over ``--docs`` test posts drawn at
  random (seeded, so the length mix is the test split's) at every batch size, each backend credited with its
  fastest; speed-ups compare best with best;
- ``auto``: ``TopicClassifier.load(RUN)`` as a user gets it (its own choice and batch size), timed the same way.

At the run's length it also measures latency (one text per call, median and p99 over 50 calls) and accuracy on
the whole test split. Every row names the CPU, its bf16/int8 flags and the length. The result goes to
``benchmarks/results/inference-<cpu>.json`` (``--tag T``: ``inference-<cpu>-T.json``): one file per CPU type and
model, so BENCHMARKS.md keeps a table for each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from common import RESULTS, accuracy, docs_per_second, latency, relative, save_result, test_sample

BACKEND_ROWS = (("pytorch fp32", "torch", "fp32"), ("pytorch bf16", "torch", "bf16"), ("onnx fp32", "onnx", None),
                ("onnx int8", "onnx-int8", None), ("openvino", "openvino", None), ("openvino int8", "openvino-int8", None))


def cpu_slug(cpu: str, flags: list[str]) -> str:
    """A file name per CPU type: its model name, plus amx when it has AMX (the same name covers both kinds of EPYC/Xeon)."""
    name = re.sub(r"[^a-z0-9]+", "-", cpu.lower()).strip("-")
    return name + ("-amx" if any(f.startswith("amx") for f in flags) else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run")
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--lengths", type=int, nargs="*", default=[512], help="max lengths measured besides the run's own")
    parser.add_argument("--tag", help="a suffix for the result's name: another model on the same CPU (inference-<cpu>-TAG.json)")
    args = parser.parse_args()
    from topicfit.backends import has_bf16, missing
    from topicfit.data import DataConfig, load_splits
    from topicfit.metrics import compute_metrics
    from topicfit.predict import TopicClassifier
    from topicfit.runs import BACKEND_CHOICE_FILE, MODEL_DIR, environment, read_run

    env = environment()  # before the run: the commit that ran it, even if HEAD moves meanwhile
    run_dir = Path(args.run)
    run, _ = read_run(run_dir)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "topicfit", "-q", "export", str(run_dir), "--int8"], check=True)
    export_seconds = round(time.perf_counter() - start, 1)
    (run_dir / MODEL_DIR / BACKEND_CHOICE_FILE).unlink(missing_ok=True)  # auto chooses afresh, on this machine
    test = load_splits(DataConfig.from_dict(run["data_config"])).test
    sample = test_sample(test, args.docs)
    own = run["model_config"]["max_length"]
    machine = {"cpu": env["machine"]["cpu"], "cpu_flags": env["machine"]["cpu_flags"], "cores": env["machine"]["cores"]}

    def load(backend, precision, **options):
        clf = TopicClassifier.load(run_dir, backend=backend, **options)
        if precision:
            clf.estimator.precision_ = precision
        return clf

    rows = []
    for length in [own, *[n for n in args.lengths if n != own]]:
        for name, backend, precision in BACKEND_ROWS:
            if precision == "bf16" and not has_bf16():
                continue
            if backend != "torch" and missing(run_dir / MODEL_DIR, backend):
                print(f"skip {name}: {missing(run_dir / MODEL_DIR, backend)}", flush=True)
                continue
            by_batch = {b: docs_per_second(load(backend, precision, batch_size=b, max_length=length), sample) for b in args.batch_sizes}
            best = max(by_batch, key=by_batch.get)
            row = {"backend": name, "max_length": length, "batch_size": best, "docs_per_second": by_batch[best],
                   "docs_per_second_by_batch_size": by_batch, **machine}
            if length == own:
                clf = load(backend, precision, batch_size=best)
                row.update(latency(clf, sample[:50]))
                row.update(accuracy(clf, test, compute_metrics))
            rows.append(row)
            print(row, flush=True)
        clf = TopicClassifier.load(run_dir, max_length=length)  # auto, as a user gets it
        chosen = getattr(clf.estimator, "backend", "torch")
        row = {"backend": f"auto ({chosen})", "max_length": length, "batch_size": getattr(clf.estimator, "batch_size", None)
               or clf.estimator.config.eval_batch_size, "docs_per_second": docs_per_second(clf, sample), **machine}
        if length == own:
            row.update(latency(clf, sample[:50]))
            row.update(accuracy(clf, test, compute_metrics))
        choice = json.loads((run_dir / MODEL_DIR / BACKEND_CHOICE_FILE).read_text()) if (run_dir / MODEL_DIR / BACKEND_CHOICE_FILE).exists() else {}
        row["auto_reason"] = next(iter(choice.values()), {}).get("reason", "torch: no other backend allowed")
        rows.append(row)
        print(row, flush=True)
    check = json.loads((run_dir / MODEL_DIR / "backends.json").read_text())
    result = {"run": relative(run_dir), "method": run["method"], "labels": run["labels"], "run_max_length": own, "docs": len(sample),
              "export_seconds": export_seconds, "validation_check": check, "rows": rows,
              "command": f"python benchmarks/inference.py {args.run} --docs {args.docs} --batch-sizes {' '.join(map(str, args.batch_sizes))}"
                         + (f" --lengths {' '.join(map(str, args.lengths))}" if args.lengths else ""),
              "machine": machine, "versions": env["versions"], "git_commit": env["git_commit"], "date": dt.date.today().isoformat()}
    out = save_result(RESULTS / f"inference-{cpu_slug(machine['cpu'], machine['cpu_flags'])}{'-' + args.tag if args.tag else ''}.json", result)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
