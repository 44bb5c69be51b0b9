"""The frozen-encoder kind's head: logistic regression against an RBF-kernel SVM, and how the SVM's
probabilities are calibrated, alone and in the validation-weighted average with the TF-IDF SVM (the ensemble
``topicfit fit`` builds).

    python benchmarks/embed_heads.py --labels coarse

Embeddings: MiniLM, mean-pooled whole posts (the embed kind's defaults, from the embedding cache). Each head is
fitted on the training split; the ensemble weight is chosen on validation (step 0.05, a weighted average of
probabilities as the ensemble kind's ``weights`` combination), then the test split is scored. The embed kind
keeps the head and C with the lowest validation log-loss (``chosen_by_validation``).
Writes ``benchmarks/results/embed-heads-SCHEME.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "src"))

from common import machine, write_result  # noqa: E402

from topicfit.data import DataConfig, load_splits  # noqa: E402
from topicfit.embeddings import embed_texts  # noqa: E402
from topicfit.kinds.baseline import BaselineClassifier, BaselineConfig  # noqa: E402
from topicfit.kinds.embed import C_GRID  # noqa: E402
from topicfit.metrics import compute_metrics  # noqa: E402

warnings.filterwarnings("ignore", message="The `probability` parameter was deprecated", category=FutureWarning)


def heads():
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    def svc(C, probability=False):
        return SVC(C=C, kernel="rbf", gamma="scale", class_weight="balanced", probability=probability, random_state=42)

    for C in C_GRID:
        yield f"logreg C={C:g}", lambda C=C: LogisticRegression(C=C, max_iter=3000, random_state=42)
    for C in C_GRID:
        yield f"svm C={C:g} (libsvm probabilities)", lambda C=C: svc(C, probability=True)
    yield "svm C=4 (sigmoid, 3-fold CalibratedClassifierCV)", lambda: CalibratedClassifierCV(svc(4.0), method="sigmoid", cv=3, ensemble=False)
    yield "svm C=4 (temperature, 3-fold CalibratedClassifierCV)", lambda: CalibratedClassifierCV(svc(4.0), method="temperature", cv=3,
                                                                                                 ensemble=False)


def scores(y, proba, classes) -> dict:
    m = compute_metrics(references=list(y), predictions=[classes[i] for i in proba.argmax(axis=1)], classes=classes, probabilities=proba)
    return {k: round(m[v], 4) for k, v in (("accuracy", "accuracy"), ("macro_f1", "macro_f1"), ("weighted_f1", "weighted_f1"),
                                           ("log_loss", "loss"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", default="coarse", choices=("coarse", "fine"))
    args = parser.parse_args()
    info = machine()
    splits = load_splits(DataConfig(labels=args.labels))
    classes = list(splits.classes)
    E = {name: embed_texts(d.texts, model="minilm") for name, d in splits.items()}
    Y = {name: list(d.labels) for name, d in splits.items()}
    tfidf = BaselineClassifier(BaselineConfig(method="tfidf-svm")).fit(splits.train.texts, splits.train.labels)
    T = {name: tfidf.predict_proba(splits.validation.texts if name == "validation" else splits.test.texts) for name in ("validation", "test")}
    rows = []
    for name, make in heads():
        start = time.perf_counter()
        head = make().fit(E["train"], Y["train"])
        seconds = time.perf_counter() - start
        assert [str(c) for c in head.classes_] == classes
        P = {split: head.predict_proba(E[split]) for split in ("validation", "test")}
        grid = np.round(np.arange(0, 1.0001, 0.05), 2)
        w = max(grid, key=lambda w: (scores(Y["validation"], w * T["validation"] + (1 - w) * P["validation"], classes)["macro_f1"], -w))
        rows.append({"head": name, "fit_seconds": round(seconds, 1),
                     "validation": scores(Y["validation"], P["validation"], classes), "test": scores(Y["test"], P["test"], classes),
                     "ensemble_with_tfidf_svm": {"tfidf_weight": float(w),
                                                 "validation": scores(Y["validation"], w * T["validation"] + (1 - w) * P["validation"], classes),
                                                 "test": scores(Y["test"], w * T["test"] + (1 - w) * P["test"], classes)}})
        print(rows[-1], flush=True)
    grid_rows = [r for r in rows if "CalibratedClassifierCV" not in r["head"]]  # what the embed kind searches
    chosen = min(grid_rows, key=lambda r: r["validation"]["log_loss"])["head"]
    for r in rows:
        r["chosen_by_validation"] = r["head"] == chosen
    write_result(f"embed-heads-{args.labels}", {"scheme": args.labels, "encoder": "minilm (mean-pooled whole posts)", "rows": rows,
                                                 "tfidf_svm": {s: scores(Y[s], T[s], classes) for s in ("validation", "test")}},
                 "python benchmarks/embed_heads.py " + " ".join(sys.argv[1:]), info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
