"""Out-of-fold refits and temperature calibration: what the distilled student's teacher (:mod:`topicfit.teacher`)
and a transformer's bag-of-words prior (:mod:`topicfit.prior`) both need.

A run whose kind refits in seconds (``Classifier.fold_copy``: baselines, frozen-encoder heads) scores posts it
trained on through refits that left them out (:func:`refit_out_of_fold`); one temperature fitted by log-loss on
posts nobody trained on (:func:`fit_temperature`) calibrates its probabilities. This module loads data but no
run: the caller gives the fitted model and its ``run.json``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .data import DataConfig, load_splits
from .encoders import text_keys
from .metrics import compute_metrics

TEMPERATURE_BOUNDS = (0.02, 50.0)


def fold_of(texts, labels, folds: int) -> dict[str, int]:
    """Each distinct training text's fold, ``0 .. folds-1``: within each label, texts ordered by a hash of the
    text are dealt round the folds, so every class with two posts or more is in every refit's training set, and
    a post repeated in the training split is in one fold only. Keyed by text."""
    first: dict[str, str] = {}
    for text, label in zip(texts, labels):
        first.setdefault(text, str(label))
    keys = dict(zip(first, text_keys(list(first))))
    by_label: dict[str, list[str]] = {}
    for text in sorted(first, key=keys.__getitem__):
        by_label.setdefault(first[text], []).append(text)
    return {text: rank % folds for members in by_label.values() for rank, text in enumerate(members)}


def refit_out_of_fold(model, run: dict, texts, folds: int) -> np.ndarray:
    """Probabilities of ``texts`` (columns: ``model.classes_``) from ``folds`` refits of ``model.fold_copy()``, each
    on the run's training posts (its ``data_config``) without one fold, each scoring only the texts of its fold
    (:func:`fold_of`); a text the run never trained on is given a fold by its hash."""
    train = load_splits(DataConfig.from_dict(run["data_config"])).train  # the posts this run trained on, under its own labels
    fold = fold_of(train.texts, train.labels, folds)
    train_folds = np.array([fold[t] for t in train.texts])
    wanted = np.array([fold.get(t, int(key[:8], 16) % folds) for t, key in zip(texts, text_keys(texts))])  # others: never trained on
    classes = [str(c) for c in model.classes_]
    column = {c: i for i, c in enumerate(classes)}
    out = np.zeros((len(texts), len(classes)))
    for k in range(folds):
        rows = np.flatnonzero(wanted == k)
        if not len(rows):
            continue
        keep = np.flatnonzero(train_folds != k)
        fitted = model.fold_copy().fit([train.texts[i] for i in keep], [train.labels[i] for i in keep])
        columns = [column[str(c)] for c in fitted.classes_]  # a class whose posts all sit in fold k gets 0 here
        out[np.ix_(rows, columns)] = fitted.predict_proba([texts[i] for i in rows])
    return out


def run_name(run_dir: str | Path) -> str:
    """A run folder as ``run.json`` names it: relative to the working directory, as ``model_config.teacher`` is."""
    return os.path.relpath(Path(run_dir).resolve())


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature ``T`` minimising the log-loss of ``p ** (1/T)`` (renormalised) on these labelled rows."""
    from scipy.optimize import minimize_scalar

    log_p = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0))
    rows = np.arange(len(labels))

    def loss(log_t: float) -> float:
        z = log_p / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[rows, labels]))

    low, high = np.log(TEMPERATURE_BOUNDS)
    return float(np.exp(minimize_scalar(loss, bounds=(low, high), method="bounded").x))


def with_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """``p ** (1/T)``, each row renormalised (computed in log space)."""
    z = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)) / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def scores(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy and log-loss of probabilities against class indices (:func:`topicfit.metrics.compute_metrics`)."""
    m = compute_metrics(references=list(labels), predictions=list(probabilities.argmax(axis=1)), classes=range(probabilities.shape[1]),
                        probabilities=probabilities)
    return {"accuracy": round(m["accuracy"], 4), "log_loss": round(m["loss"], 4)}
