"""Ensembles: average two runs' probabilities with a weight chosen on the validation split.

A fine-tuned transformer and TF-IDF make different mistakes, so their average beats both. The weight is
chosen on validation macro-F1 only; the test split is scored once, afterwards.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .evaluate import compute_metrics, predictions_path, read_predictions

logger = logging.getLogger(__name__)

WEIGHT_GRID = tuple(round(w, 2) for w in np.linspace(0, 1, 21))


class EnsembleClassifier:
    """Weighted average of members' ``predict_proba`` (scikit-learn face)."""

    def __init__(self, members: list, weights: list[float]):
        if len(members) != len(weights) or not members:
            raise ValueError("give one weight per member")
        classes = [list(map(str, m.classes_)) for m in members]
        if any(c != classes[0] for c in classes):
            raise ValueError(f"ensemble members disagree on the classes: {classes}")
        self.members, self.weights = members, list(weights)
        self.classes_ = np.asarray(classes[0])

    def predict_proba(self, X) -> np.ndarray:
        X = list(X)
        return sum(w * np.asarray(m.predict_proba(X)) for m, w in zip(self.members, self.weights) if w > 0)

    def predict(self, X) -> list[str]:
        return [str(self.classes_[i]) for i in self.predict_proba(X).argmax(axis=1)]


def saved_probabilities(run_dir: str | Path, split: str, ids: list[str], classes: list[str]) -> np.ndarray:
    """A run's saved probabilities for one split, rows in ``ids`` order, columns in ``classes`` order."""
    path = predictions_path(run_dir, split)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the run was not evaluated on {split}")
    by_id = {r["id"]: r for r in read_predictions(path)}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ValueError(f"{path} lacks {len(missing)} documents (e.g. {missing[0]}): the runs used different data")
    if by_id[ids[0]].get("probabilities") is None:
        raise ValueError(f"{run_dir} has no probabilities (method without predict_proba); it cannot join an ensemble")
    return np.array([[by_id[i]["probabilities"][c] for c in classes] for i in ids], dtype=np.float64)


def choose_weight(first: np.ndarray, second: np.ndarray, references: list[str], classes: list[str]) -> tuple[float, list[dict]]:
    """The weight ``w`` of ``first`` (``1 - w`` for ``second``) with the best validation macro-F1 (ties: accuracy)."""
    table = []
    for w in WEIGHT_GRID:
        proba = w * first + (1 - w) * second
        preds = [classes[i] for i in proba.argmax(axis=1)]
        m = compute_metrics(references=references, predictions=preds, classes=classes)
        table.append({"weight": w, "macro_f1": m["macro_f1"], "accuracy": m["accuracy"]})
    best = max(table, key=lambda r: (r["macro_f1"], r["accuracy"]))
    logger.info("ensemble weight %.2f: validation macro-F1 %.4f, accuracy %.4f", best["weight"], best["macro_f1"], best["accuracy"])
    return best["weight"], table
