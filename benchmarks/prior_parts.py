"""What each part of a transformer over a bag-of-words prior knows (``topicfit train/distill --prior``): the
model's logits are the transformer's plus the prior's. Runs the transformer without its prior (PyTorch) and
the prior alone, and scores, on validation and test, each part alone and their sum with the prior scaled by
0.5, 1 (the model as trained) and 1.5.

    python benchmarks/prior_parts.py benchmarks/runs/fine/distill-minilm-prior benchmarks/runs/fine/distill-minilm-prior-dropout

Writes ``benchmarks/results/prior-parts.json``. Nothing here chooses a model: the scale 1 is the model as trained.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from common import machine, relative, write_result

SCALES = (0.0, 0.5, 1.0, 1.5)  # 0: the transformer part alone


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="finished runs trained with --prior")
    args = parser.parse_args()
    from topicfit.data import DataConfig, load_splits
    from topicfit.metrics import compute_metrics
    from topicfit.predict import TopicClassifier
    from topicfit.runs import read_run

    def score(logits: np.ndarray, docs, classes) -> dict:
        m = compute_metrics(references=docs.labels, predictions=[classes[i] for i in logits.argmax(axis=1)], classes=classes)
        return {"accuracy": round(m["accuracy"], 4), "macro_f1": round(m["macro_f1"], 4)}

    info = machine()
    rows = []
    for run_dir in map(Path, args.runs):
        run, _ = read_run(run_dir)
        splits = load_splits(DataConfig.from_dict(run["data_config"]))
        classes = [str(c) for c in splits.classes]
        clf = TopicClassifier.load(run_dir, backend="torch").estimator
        prior, clf.prior_ = clf.prior_, None  # the transformer part alone
        row = {"run": relative(run_dir), "method": run["method"], "prior_dropout": run["model_config"].get("prior_dropout", 0.0),
               "temperature": round(prior.temperature, 4)}
        for split in ("validation", "test"):
            docs = getattr(splits, split)
            transformer = np.log(np.clip(clf.predict_proba(docs.texts).astype(np.float64), 1e-30, 1.0))  # logits up to a constant per post
            prior_logits = prior.logits(docs.texts, classes).astype(np.float64)
            row[split] = {"prior alone": score(prior_logits, docs, classes),
                          **{f"transformer + {s:g} x prior": score(transformer + s * prior_logits, docs, classes) for s in SCALES}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    write_result("prior-parts", {"rows": rows}, "python benchmarks/prior_parts.py " + " ".join(args.runs), info)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
