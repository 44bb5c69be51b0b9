"""Model kinds: every kind of model topicfit trains wears this one small interface (scikit-learn's face).

A kind is one module in this package with one class derived from :class:`Classifier`, plus one line in
:data:`topicfit.registry.KINDS`. The workflow (fit, save, evaluate, write the run), ``predict``, ``serve``,
``report``, ``tune`` and the CLI look kinds up there by name; none of them compares kind names.

The interface:

- ``__init__(config)``: a frozen dataclass of settings (``config_class``), stored unchanged;
- ``fit(X, y, *, X_val, y_val, classes, workdir, resume)`` returns ``self`` and sets ``classes_``;
- ``predict_proba(X)`` columns follow ``classes_``; ``predict_labels(X)`` gives ``(labels, probabilities)``;
- ``save(folder)`` and ``load(folder, *, run, **options)``: the model is a self-describing folder;
- ``method``: the name a run records; ``run_info()``: extra ``run.json`` entries; ``timings_``: extra timings;
- ``fold_copy()``: an unfitted copy that refits in seconds, or ``None`` (the default);
- tuning, where it applies: ``search_space(trial, config, quick)`` and ``default_params(config)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import ModelError


class Classifier:
    """Base of every model kind. Subclasses set ``kind`` and ``config_class`` and implement ``fit``,
    ``predict_proba``, ``save`` and ``load``."""

    kind: ClassVar[str] = ""  # the registry name, stored in run.json
    config_class: ClassVar[type]
    library: ClassVar[str] = "sklearn"  # the Hub's library_name for the model card
    has_probabilities: bool = True
    splits: tuple[str, ...] = ("train", "validation", "test")  # the splits the workflow may score it on
    sample_train_eval: ClassVar[bool] = False  # slow to score: the workflow scores a sample of the training posts
    validation_macro_f1_: float | None = None  # set by kinds that score the validation split while fitting

    def __init__(self, config=None):
        self.config = config if config is not None else self.config_class()
        self.timings_: dict = {}

    # -- what every kind implements --
    def fit(self, X, y, *, X_val=None, y_val=None, classes=None, workdir: Path | None = None, resume: bool = False):
        raise NotImplementedError

    def predict_proba(self, X) -> np.ndarray:
        raise NotImplementedError

    def save(self, folder: str | Path) -> None:
        raise NotImplementedError

    @classmethod
    def load(cls, folder: str | Path, *, run: dict | None = None, **options) -> "Classifier":
        raise NotImplementedError

    # -- shared behaviour --
    @property
    def method(self) -> str:
        return self.kind

    @property
    def base_model(self) -> str | None:
        """The Hub id of the pretrained model this one starts from, if any (for the model card)."""
        return None

    def predict_labels(self, X) -> tuple[list[str], np.ndarray | None]:
        """Predicted labels and probabilities (``None`` for a kind without them), from one pass over ``X``."""
        proba = np.asarray(self.predict_proba(X))
        classes = [str(c) for c in self.classes_]
        return [classes[i] for i in proba.argmax(axis=1)] if len(proba) else [], proba

    def predict(self, X) -> list[str]:
        """Predicted label names; a single string is accepted too."""
        return self.predict_labels([X] if isinstance(X, str) else list(X))[0]

    def fold_copy(self) -> "Classifier | None":
        """An unfitted model with this fitted one's settings, cheap to refit on part of the training posts (for a
        teacher's out-of-fold probabilities, :mod:`topicfit.teacher`); ``None`` where a refit costs a training run."""
        return None

    def run_info(self) -> dict:
        """Extra entries for ``run.json`` (a training history, an ensemble's members, ...)."""
        return {}

    # -- tuning (kinds without a search space leave these as they are) --
    @classmethod
    def default_params(cls, config, *, quick: bool = False) -> dict | None:
        """The searched settings of ``config``: trial 0 of a search, so the study measures what it gains."""
        return None

    @classmethod
    def search_space(cls, trial, config, *, quick: bool = False) -> dict:
        raise ModelError(f"the {cls.kind} kind has no search space")

    def trial_options(self, trial, deadline: float | None) -> dict:
        """Extra ``fit`` arguments for one search trial (a kind that trains in epochs reports to Optuna and is pruned)."""
        return {}

    @classmethod
    def with_params(cls, config, params: dict):
        """``config`` with the searched ``params`` applied."""
        from dataclasses import replace

        return replace(config, **params)


# --- scikit-learn objects on disk (baselines, the embed kind's head) --------------------------------------


def save_skops(obj, path: str | Path) -> None:
    """Save a fitted scikit-learn object as a skops file (a format that does not execute code when loaded)."""
    import skops.io as sio

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sio.dump(obj, path)


def load_skops(path: str | Path, *, trust: bool = False):
    """Load a skops file. Only scikit-learn, numpy and scipy types are accepted unless ``trust`` (the user vouches for it)."""
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    unknown = [t for t in untrusted if not t.startswith(("sklearn.", "numpy.", "scipy.", "builtins."))]
    if unknown and not trust:
        raise ModelError(f"{path} contains types that are not scikit-learn/numpy/scipy: {unknown}; "
                         "refusing to load it. Pass --trust (trust=True) only if you vouch for this file.")
    return sio.load(path, trusted=untrusted)
