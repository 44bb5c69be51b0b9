"""What a distilled student learns from: a finished run's probabilities on the training posts.

A teacher scores its own training posts with the confidence of having seen their labels (naive Bayes and a
logistic head nearly memorise them), so its in-sample probabilities teach little beyond the labels. And an
ensemble led by naive Bayes is nearly uniform (its top class often has under 0.1 of 20), so mixed with the
label it teaches mostly label smoothing. Two remedies, both on by default in ``topicfit distill``:

- **out of fold** (``folds``): a run whose kind refits in seconds (``Classifier.fold_copy``: baselines and
  frozen-encoder heads, and ensembles of them) is refitted once per fold without that fold's training posts
  and scores the fold it did not see (folds are dealt per class, see :func:`topicfit.refits.fold_of`). A member that would
  cost a training run to refit (a fine-tuned transformer) gives its saved in-sample probabilities, and the
  run records which did.
- **calibrated** (``calibrate``): one temperature ``T``, fitted by log-loss on the teacher's validation
  probabilities (posts it did not train on), rescales every row: ``p ** (1/T)``, renormalised.

>>> probabilities, info = teacher_probabilities("runs/ensemble", splits)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .errors import RunError
from .refits import fit_temperature, refit_out_of_fold, run_name, scores, with_temperature
from .runs import predictions_path, read_run, saved_probabilities, saved_rows

logger = logging.getLogger(__name__)


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
    out = refit_out_of_fold(model, run, texts, folds)
    sources[run_name(run_dir)] = f"out of fold ({folds} folds)"
    logger.info("teacher member %s (%s): out-of-fold probabilities from %d refits", run_dir, run["method"], folds)
    return out


class Teacher:
    """A finished run that teaches a student: pass it to the transformer kind, which asks it for soft targets
    (as setfit's ``DistillationTrainer(teacher_model=...)``), so distillation needs no assembly by the caller.

    Args:
        run_dir: the teacher run (any kind with probabilities, trained on the student's data and classes).
        folds (int, default 5): out-of-fold refits for the training posts (< 2: in sample; see the module docstring).
        calibrate (bool, default True): one temperature fitted on validation.
        splits (Splits | None): the data the student fits on, if loaded: its ids match the teacher's saved
            probabilities (otherwise a member without a cheap refit predicts its training posts now).

    >>> student = TransformerClassifier(TrainConfig(model="minilm"), teacher=Teacher("runs/ensemble"))  # doctest: +SKIP
    >>> fit_run(student, data_config, "runs/student")                                              # doctest: +SKIP
    """

    def __init__(self, run_dir: str | Path, *, folds: int = 5, calibrate: bool = True, splits=None):
        self.run_dir, self.folds, self.calibrate, self.splits = Path(run_dir), folds, calibrate, splits

    def soft_targets(self, X, y, X_val=None, y_val=None, classes=None) -> tuple[np.ndarray, dict]:
        """The teacher's probabilities for ``X`` (columns in ``classes`` order) and how they were made."""
        from types import SimpleNamespace

        from .data import Documents

        X = list(X)
        if self.splits is not None and X == list(self.splits.train.texts):
            return teacher_probabilities(self.run_dir, self.splits, folds=self.folds, calibrate=self.calibrate)

        def docs(texts, labels, prefix):  # no ids: nothing saved can be matched, so what is needed is predicted
            texts = list(texts if texts is not None else [])
            return Documents([f"{prefix}{i}" for i in range(len(texts))], texts, [str(v) for v in (labels if labels is not None else [])])

        splits = SimpleNamespace(classes=[str(c) for c in (classes if classes is not None else sorted(set(map(str, y))))],
                                 train=docs(X, y, "\0train:"), validation=docs(X_val, y_val, "\0validation:"))
        return teacher_probabilities(self.run_dir, splits, folds=self.folds, calibrate=self.calibrate)


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
