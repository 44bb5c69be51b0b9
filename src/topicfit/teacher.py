"""What a distilled student learns from: a finished run's probabilities on the training posts.

A teacher scores its own training posts with the confidence of having seen their labels (naive Bayes and a
logistic head nearly memorise them), so its in-sample probabilities teach little beyond the labels. And an
ensemble led by naive Bayes is nearly uniform (its top class often has under 0.1 of 20), so mixed with the
label it teaches mostly label smoothing. Two remedies, both on by default in ``topicfit distill``:

- **out of fold** (``folds``): a run whose kind refits in seconds (``Classifier.fold_copy``: baselines and
  frozen-encoder heads, and ensembles of them) is refitted once per fold without that fold's training posts
  and scores the fold it did not see (folds are dealt per class, see :func:`fold_of`). A member that would
  cost a training run to refit (a fine-tuned transformer) gives its saved in-sample probabilities, and the
  run records which did.
- **calibrated** (``calibrate``): one temperature ``T``, fitted by log-loss on the teacher's validation
  probabilities (posts it did not train on), rescales every row: ``p ** (1/T)``, renormalised.

>>> probabilities, info = teacher_probabilities("runs/ensemble", splits)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from .data import DataConfig, load_splits
from .encoders import text_keys
from .errors import RunError
from .metrics import compute_metrics
from .runs import predictions_path, read_run, saved_probabilities, saved_rows

logger = logging.getLogger(__name__)

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


def in_sample(run_dir: str | Path, model, texts, ids) -> np.ndarray:
    """The run's saved probabilities for these posts (from its train and validation files, by id; columns: its
    classes); the posts it saved nothing for are predicted now."""
    classes = [str(c) for c in model.classes_]
    rows: dict[str, np.ndarray] = {}
    for split in ("train", "validation"):
        if predictions_path(run_dir, split).exists():
            rows.update((i, p) for i, p in saved_rows(run_dir, split, classes).items() if p is not None)
    out = np.array([rows.get(i, np.zeros(len(classes))) for i in ids], dtype=np.float64).reshape(len(ids), len(classes))
    todo = [k for k, i in enumerate(ids) if i not in rows]
    if todo:
        logger.info("teacher %s: predicting %d posts it saved no probabilities for", run_dir, len(todo))
        out[todo] = model.predict_proba([texts[k] for k in todo])
    return out


def out_of_fold(run_dir: str | Path, texts, ids, folds: int, sources: dict[str, str], model=None) -> np.ndarray:
    """Probabilities of ``texts`` (columns: the run's classes) from refits that never saw them.

    An ensemble combines its members' out-of-fold probabilities with its own weights or stacker; a kind without
    a cheap refit (``fold_copy`` is ``None``) answers in sample. ``sources`` collects, per run folder
    (:func:`run_name`), which it was. ``model``: the run, if the caller has loaded it already.
    """
    from .kinds.ensemble import EnsembleClassifier
    from .registry import load_run

    model = model if model is not None else load_run(run_dir)
    if isinstance(model, EnsembleClassifier):
        members = []
        for path, used, matrix in zip(model.paths, model.used(), model.class_matrices()):
            proba = out_of_fold(path, texts, ids, folds, sources) if used else None
            members.append(proba @ matrix if proba is not None and matrix is not None else proba)
        return model.combine(members)
    run, _ = read_run(run_dir)
    if model.fold_copy() is None:
        sources[run_name(run_dir)] = "in sample"
        logger.info("teacher member %s (%s): refitting costs a training run; its in-sample probabilities are used", run_dir, run["method"])
        return in_sample(run_dir, model, texts, ids)
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
    sources[run_name(run_dir)] = f"out of fold ({folds} folds)"
    logger.info("teacher member %s (%s): out-of-fold probabilities from %d refits", run_dir, run["method"], folds)
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


def teacher_probabilities(run_dir: str | Path, splits, *, folds: int = 5, calibrate: bool = True) -> tuple[np.ndarray, dict]:
    """The soft targets for ``splits.train`` (columns in ``splits.classes`` order) and what was done to them.

    ``folds`` < 2 takes the teacher's in-sample probabilities; ``calibrate`` fits one temperature on validation.
    """
    from .registry import load_run

    classes = [str(c) for c in splits.classes]
    run, _ = read_run(run_dir)
    if [str(c) for c in run["classes"]] != classes:
        raise RunError(f"{run_dir} cannot teach: its classes {run['classes']} differ from the data's {classes}")
    model = load_run(run_dir)
    if not model.has_probabilities:
        raise RunError(f"{run_dir} cannot teach: method {run['method']!r} gives no probabilities")
    index = {c: i for i, c in enumerate(classes)}
    train_y = np.array([index[str(v)] for v in splits.train.labels])
    sources: dict[str, str] = {}
    if folds >= 2:
        train = out_of_fold(run_dir, splits.train.texts, splits.train.ids, folds, sources, model=model)
    else:
        train = in_sample(run_dir, model, splits.train.texts, splits.train.ids)
        sources[run_name(run_dir)] = "in sample"
    before = scores(train, train_y)
    info = {"folds": folds if folds >= 2 else 0, "sources": sources, "train_accuracy": before["accuracy"], "train_log_loss": before["log_loss"],
            "temperature": 1.0}
    if calibrate and len(splits.validation):
        try:
            validation = saved_probabilities(run_dir, "validation", splits.validation.ids, classes)
        except RunError:
            validation = np.asarray(model.predict_proba(splits.validation.texts), dtype=np.float64)
        val_y = np.array([index[str(v)] for v in splits.validation.labels])
        temperature = fit_temperature(validation, val_y)
        info.update(temperature=round(temperature, 4), validation_log_loss=scores(validation, val_y)["log_loss"],
                    validation_log_loss_calibrated=scores(with_temperature(validation, temperature), val_y)["log_loss"])
        train = with_temperature(train, temperature)
        info["train_log_loss_calibrated"] = scores(train, train_y)["log_loss"]
    logger.info("teacher %s: %s", run_dir, info)
    return train, info
