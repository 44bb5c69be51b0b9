"""Whole documents at inference: cut each post to the run's max length (head+tail) or average the logits of
overlapping windows over the whole post? Compared on the validation split only (the choice of default must
not look at test).

    python benchmarks/long_documents.py benchmarks/runs/fine/distill-minilm benchmarks/runs/coarse/distill-minilm

Writes ``benchmarks/results/long-documents.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time

from common import RESULTS, relative, save_result
from topicfit.data import DataConfig, load_splits
from topicfit.metrics import compute_metrics
from topicfit.registry import load_run
from topicfit.runs import environment, read_run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="finished transformer runs")
    args = parser.parse_args()
    env = environment()
    rows = []
    for run_dir in args.runs:
        run, _ = read_run(run_dir)
        validation = load_splits(DataConfig.from_dict(run["data_config"])).validation
        for mode in ("cut", "windows"):
            model = load_run(run_dir, long_documents=mode)
            start = time.perf_counter()
            labels, proba = model.predict_labels(validation.texts)
            seconds = time.perf_counter() - start
            m = compute_metrics(references=validation.labels, predictions=labels, classes=list(model.classes_), probabilities=proba)
            rows.append({"run": relative(run_dir), "labels": run["labels"], "long_documents": mode, "n": m["n"], "accuracy": m["accuracy"],
                         "macro_f1": m["macro_f1"], "weighted_f1": m["weighted_f1"], "loss": m["loss"],
                         "docs_per_second": round(len(validation) / seconds, 1)})
            print(json.dumps(rows[-1]), flush=True)
    result = {"split": "validation", "rows": rows, "command": "python benchmarks/long_documents.py " + " ".join(args.runs),
              "machine": {"cpu": env["machine"]["cpu"], "cores": env["machine"]["cores"], "cpu_flags": env["machine"]["cpu_flags"]},
              "git_commit": env["git_commit"], "date": dt.date.today().isoformat()}
    save_result(RESULTS / "long-documents.json", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
