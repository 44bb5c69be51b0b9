"""A bag-of-words prior under a fine-tuned transformer: one model whose logits are the transformer's plus the
calibrated log-probabilities of a TF-IDF baseline (``topicfit train --prior RUN``, ``topicfit distill --prior RUN``).

    logits(x) = transformer(x) + log p_prior(x) / T

The transformer is trained with the prior in place, so it learns what the bag of words misses (the residual,
as boosting does from a base margin) instead of learning the same words again. Naive Bayes reads every word of
a post at a cost of microseconds; MiniLM reads 256 tokens of it with context. The prior is fitted once, in
closed form, on the training posts, and saved inside the model folder (``model/prior/``), so the run serves,
exports and predicts as one model: the ONNX backends run the transformer and add the same prior.

Two details keep training honest:

- **out of fold**: on its own training posts a fitted baseline is far more confident than on new posts, and the
  transformer would learn to trust it too much. During training each post's prior comes from a refit that
  left the post's fold out (:func:`topicfit.refits.refit_out_of_fold`); at inference, from the baseline fitted on
  every training post.
- **calibrated**: one temperature ``T`` is fitted by log-loss on the validation posts
  (:func:`topicfit.refits.fit_temperature`); naive Bayes' probabilities are nearly uniform (``T`` well under 1).

>>> prior, train_logits = fit_prior("runs/tfidf-nb", X, y, X_val, y_val, classes)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .kinds.baseline import BaselineClassifier
from .refits import fit_temperature, refit_out_of_fold, run_name, scores, with_temperature
from .runs import MODEL_DIR, PRIOR_DIR, PRIOR_FILE, read_json, read_run, write_json

logger = logging.getLogger(__name__)


@dataclass
class Prior:
    """A fitted baseline and the temperature that calibrates it; :meth:`logits` is what the transformer adds."""

    baseline: BaselineClassifier
    temperature: float
    info: dict

    @property
    def method(self) -> str:
        return self.baseline.method

    def logits(self, texts, classes) -> np.ndarray:
        """``log p / T`` for each text, shape (n, len(classes)), columns in ``classes`` order."""
        return as_logits(self.baseline.predict_proba(list(texts)), self.temperature, self.baseline.classes_, classes)

    def save(self, model_dir: str | Path) -> None:
        folder = Path(model_dir) / PRIOR_DIR
        self.baseline.save(folder)
        write_json(folder / PRIOR_FILE, {**self.info, "temperature": self.temperature, "model_config": self.baseline.config.to_dict()})

    @classmethod
    def load(cls, model_dir: str | Path) -> "Prior | None":
        """The prior saved in a model folder, or ``None`` for a transformer without one."""
        folder = Path(model_dir) / PRIOR_DIR
        if not (folder / PRIOR_FILE).exists():
            return None
        meta = read_json(folder / PRIOR_FILE)
        baseline = BaselineClassifier.load(folder, run={"model_config": meta["model_config"]})
        return cls(baseline, float(meta["temperature"]), {k: v for k, v in meta.items() if k not in ("temperature", "model_config")})


def as_logits(probabilities: np.ndarray, temperature: float, columns, classes) -> np.ndarray:
    """Probabilities (columns named by ``columns``) as calibrated log-probabilities in ``classes`` order."""
    index = {str(c): i for i, c in enumerate(columns)}
    ordered = np.asarray(probabilities, dtype=np.float64)[:, [index[str(c)] for c in classes]]
    return (np.log(np.clip(ordered, 1e-12, 1.0)) / temperature).astype(np.float32)


def fit_prior(run_dir: str | Path, X, y, X_val, y_val, classes, *, folds: int = 5) -> tuple[Prior, np.ndarray]:
    """The prior of a finished baseline run (what was done in its ``info``) and its out-of-fold logits for the
    training texts ``X``.

    Args:
        run_dir: a finished TF-IDF baseline run with probabilities (e.g. ``tfidf-nb``) on the same classes.
        folds (int): refits for the training posts' logits (< 2: the fitted baseline's own, in sample).
    """
    run, _ = read_run(run_dir)
    classes = [str(c) for c in classes]
    baseline = BaselineClassifier.load(Path(run_dir) / MODEL_DIR, run=run) if run.get("kind") == BaselineClassifier.kind else None
    if baseline is None or not baseline.has_probabilities:
        raise ConfigError(f"--prior {run_dir}: expected a finished TF-IDF baseline run with probabilities (e.g. `topicfit baseline "
                          f"--method tfidf-nb`); it is a {run.get('kind')} run ({run.get('method')})")
    if sorted(str(c) for c in baseline.classes_) != sorted(classes):
        raise ConfigError(f"--prior {run_dir}: its classes {list(baseline.classes_)} differ from the data's {classes}")
    columns = [str(c) for c in baseline.classes_]
    if folds >= 2:
        train = refit_out_of_fold(baseline, run, list(X), folds)
    else:
        train = baseline.predict_proba(list(X))
    info = {"run": run_name(run_dir), "method": baseline.method, "folds": folds if folds >= 2 else 0}
    temperature = 1.0
    if X_val is not None and len(X_val):
        val_proba = baseline.predict_proba(list(X_val))
        val_y = np.array([columns.index(str(v)) for v in y_val])
        temperature = fit_temperature(val_proba, val_y)
        info.update(validation=scores(val_proba, val_y))
    info.update(temperature=round(temperature, 4), train=scores(with_temperature(train, temperature), np.array([columns.index(str(v)) for v in y])))
    logger.info("prior %s: %s", run_dir, info)
    return Prior(baseline, temperature, info), as_logits(train, temperature, columns, classes)
