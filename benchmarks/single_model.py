"""One model that serves at MiniLM speed (issue 10's bar): each run is exported to int8 ONNX and timed as a user
gets it (``--backend auto``) and in PyTorch, on the same test posts, beside the plain MiniLM student; its
accuracy is scored on the whole test split by each backend, against the best TF-IDF baseline's.

    python benchmarks/single_model.py --scheme fine --runs distill-minilm-oof distill-minilm-prior [--docs 1000]

For each run under ``benchmarks/runs/SCHEME``: ``topicfit export RUN --int8`` (files and backend check made by
the current code), then, per backend: docs/s over ``--docs`` test posts (seeded sample), latency (one post per
call, median and p99 over 50) and test accuracy, macro-F1, weighted-F1. Nothing here chooses a model: the runs
were chosen on validation by the scripts that made them. Writes ``benchmarks/results/single-model-<scheme>.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from common import RUNS, accuracy, docs_per_second, latency, machine, relative_command, test_sample, topicfit, write_result


def best_tfidf_on_test(baselines: Path) -> dict:
    """The TF-IDF baseline with the best *test* accuracy: the bar to beat (reported, never used to choose)."""
    scores = {}
    for run_dir in sorted(baselines.glob("tfidf-*")):
        if (run_dir / "metrics.json").exists():
            test = json.loads((run_dir / "metrics.json").read_text())["test"]
            scores[run_dir.name] = {"test_accuracy": round(test["accuracy"], 4), "test_macro_f1": round(test["macro_f1"], 4)}
    name = max(scores, key=lambda n: scores[n]["test_accuracy"])
    return {"method": name, **scores[name]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scheme", choices=["fine", "coarse"], default="fine")
    parser.add_argument("--runs", nargs="+", required=True, help="run folders under benchmarks/runs/SCHEME (transformers)")
    parser.add_argument("--docs", type=int, default=1000)
    args = parser.parse_args()
    from topicfit.data import DataConfig, load_splits
    from topicfit.metrics import compute_metrics
    from topicfit.predict import TopicClassifier
    from topicfit.runs import BACKEND_CHOICE_FILE, MODEL_DIR, read_json, read_run

    info = machine()
    rows, exports, test, sample = [], {}, None, None
    for name in args.runs:
        run_dir = RUNS / args.scheme / name
        run, _ = read_run(run_dir)
        start = time.perf_counter()
        cmd, _ = topicfit("-q", "export", str(run_dir), "--int8")
        exports[name] = {"command": relative_command(cmd), "seconds": round(time.perf_counter() - start, 1),
                         "check": read_json(run_dir / MODEL_DIR / "backends.json")}
        (run_dir / MODEL_DIR / BACKEND_CHOICE_FILE).unlink(missing_ok=True)  # auto chooses afresh, on this machine
        if test is None:
            test = load_splits(DataConfig.from_dict(run["data_config"])).test
            sample = test_sample(test, args.docs)
        for backend in ("torch", "auto"):
            clf = TopicClassifier.load(run_dir, backend=backend)
            speed = docs_per_second(clf, sample)  # auto chooses its backend in the warm-up
            chosen = getattr(clf.estimator, "backend", "") or "torch"  # what auto chose (runtimes name their backend)
            row = {"run": name, "method": run["method"], "backend": backend, "runs_on": chosen, "docs_per_second": speed,
                   **latency(clf, sample[:50]), **accuracy(clf, test, compute_metrics),
                   "validation_macro_f1": round(json.loads((run_dir / "metrics.json").read_text())["validation"]["macro_f1"], 4)}
            rows.append(row)
            print(row, flush=True)
    write_result(f"single-model-{args.scheme}", {"scheme": args.scheme, "docs": len(sample), "rows": rows, "exports": exports,
                                                 "best_tfidf": best_tfidf_on_test(RUNS / args.scheme / "baselines")},
                 f"python benchmarks/single_model.py --scheme {args.scheme} --runs {' '.join(args.runs)} --docs {args.docs}", info)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
