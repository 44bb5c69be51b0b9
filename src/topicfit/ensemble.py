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


def fit_ensemble_run(run_paths: list[str], output: str | Path, *, overwrite: bool = False) -> tuple[Path, dict]:
    """Choose the weight of two finished runs on validation, score every split from their saved predictions,
    and write an ``ensemble`` run folder that loads (and predicts) through its members."""
    import os
    import time

    from .data import DataConfig, load_splits
    from .evaluate import score_split
    from .predict import TopicClassifier
    from .runs import RunError, read_run, start_run, write_run

    if len(run_paths) != 2:
        raise ValueError(f"an ensemble takes exactly two runs, got {len(run_paths)}")
    runs = [read_run(r)[0] for r in run_paths]
    # the same data and split; only the training cap may differ (validation and test must be identical)
    same = [{k: v for k, v in r["data_config"].items() if k != "max_train_samples"} for r in runs]
    if same[0] != same[1]:
        diff = sorted(k for k in same[0] if same[0].get(k) != same[1].get(k))
        raise RunError(f"{run_paths[0]} and {run_paths[1]} were trained on different data settings ({', '.join(diff)})")
    config = DataConfig.from_dict(runs[0]["data_config"])
    splits = load_splits(config)
    classes = list(splits.classes)
    if any(list(r["classes"]) != classes for r in runs):
        raise RunError(f"{run_paths[0]} and {run_paths[1]} have different classes: {[r['classes'] for r in runs]}")
    # each member's saved probabilities for the documents of the first run's splits; validation and test must match
    probs = {}
    for name, docs in splits.items():
        try:
            probs[name] = [saved_probabilities(r, name, docs.ids, classes) for r in run_paths]
        except (FileNotFoundError, ValueError) as exc:
            if name != "train":
                raise RunError(f"cannot ensemble {run_paths[0]} and {run_paths[1]} on {name}: {exc}") from exc
            logger.info("ensemble: no train scores (%s)", exc)
    if "validation" not in probs:
        raise RunError("both runs need saved validation predictions to choose the ensemble weight")
    weight, table = choose_weight(*probs["validation"], splits.validation.labels, classes)
    run_dir = start_run(output, overwrite=overwrite)
    results = {}
    for name, (p1, p2) in probs.items():
        proba = weight * p1 + (1 - weight) * p2
        preds = [classes[i] for i in proba.argmax(axis=1)]
        results[name] = score_split(name, getattr(splits, name), predictions=preds, probabilities=proba, classes=classes, run_dir=run_dir)
    members = [{"path": os.path.relpath(Path(r).resolve(), run_dir.resolve()), "method": m["method"]} for r, m in zip(run_paths, runs)]
    # time prediction through the same loading path users have
    clf = EnsembleClassifier([TopicClassifier.load(r).estimator for r in run_paths], [weight, 1 - weight])
    sample = splits.test.texts[:500]
    start = time.perf_counter()
    clf.predict_proba(sample)
    results["test"]["docs_per_second"] = round(len(sample) / (time.perf_counter() - start), 1)
    method = f"ensemble({runs[0]['method']}*{weight:.2f}+{runs[1]['method']}*{1 - weight:.2f})"
    write_run(run_dir, clf=clf, splits=splits, method=method, kind="ensemble",
              config={"data_config": config.to_dict(), "model_config": {"members": members, "weights": [weight, 1 - weight]}},
              timings={"train_seconds": round(sum(r["timings"].get("train_seconds") or 0 for r in runs), 1)},
              extra={"members": members, "weights": [weight, 1 - weight], "weight_search": table}, results=results)
    return run_dir, results
