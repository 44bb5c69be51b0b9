"""scikit-learn baselines: a small registry of plain Pipelines, saved with skops (no code runs on load).

>>> clf = make_baseline("tfidf-svm").fit(["a rocket", "a goal"], ["sci", "rec"])
>>> list(clf.classes_)
['rec', 'sci']
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

logger = logging.getLogger(__name__)

BASELINE_FILE = "pipeline.skops"


def tfidf(**overrides) -> TfidfVectorizer:
    """Unigram TF-IDF with sublinear term frequency; bigrams cost 4x the time and gained nothing on 20NG."""
    settings = dict(sublinear_tf=True, min_df=2, max_df=0.5, strip_accents="unicode")
    return TfidfVectorizer(**{**settings, **overrides})


def _pipeline(model) -> Callable[..., Pipeline]:
    def build(seed: int = 42, **vectorizer) -> Pipeline:
        estimator = model(seed)
        return Pipeline([("tfidf", tfidf(**vectorizer)), ("clf", estimator)])

    return build


# name -> (builder(seed) -> estimator, one-line description)
BASELINES: dict[str, tuple[Callable[..., object], str]] = {
    "random": (lambda seed=42: DummyClassifier(strategy="uniform", random_state=seed), "uniform random guessing"),
    "majority": (lambda seed=42: DummyClassifier(strategy="prior"), "always the most frequent class; probabilities are the class priors"),
    "tfidf-logreg": (_pipeline(lambda seed: LogisticRegression(C=30, max_iter=2000, random_state=seed)), "TF-IDF + logistic regression (C=30)"),
    "tfidf-svm": (_pipeline(lambda seed: CalibratedClassifierCV(LinearSVC(C=0.5, random_state=seed), cv=5)),
                  "TF-IDF + linear SVM (C=0.5), probabilities by 5-fold sigmoid calibration"),
    "tfidf-ridge": (_pipeline(lambda seed: RidgeClassifier(alpha=1.0)), "TF-IDF + ridge classifier (no probabilities)"),
    "tfidf-nb": (_pipeline(lambda seed: ComplementNB(alpha=0.3)), "TF-IDF + complement naive Bayes (alpha=0.3)"),
}


def make_baseline(name: str, *, seed: int = 42):
    """A fresh, unfitted baseline from the registry."""
    if name not in BASELINES:
        raise KeyError(f"unknown baseline {name!r}; choose one of: {', '.join(BASELINES)}")
    return BASELINES[name][0](seed=seed)


def save_baseline(clf, folder: str | Path) -> Path:
    """Save a fitted baseline as a skops file (a format that does not execute code when loaded)."""
    import skops.io as sio

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / BASELINE_FILE
    sio.dump(clf, path)
    return path


def load_baseline(folder: str | Path, *, trust: bool = False):
    """Load a baseline saved by :func:`save_baseline`.

    Only types from scikit-learn, numpy and scipy are accepted; anything else is refused unless ``trust``
    (the user vouches for the file).
    """
    import skops.io as sio

    path = Path(folder) / BASELINE_FILE
    untrusted = sio.get_untrusted_types(file=path)
    allowed_prefixes = ("sklearn.", "numpy.", "scipy.", "builtins.")
    unknown = [t for t in untrusted if not t.startswith(allowed_prefixes)]
    if unknown and not trust:
        raise ValueError(f"{path} contains types that are not scikit-learn/numpy/scipy: {unknown}; "
                         "refusing to load it. Pass --trust (trust=True) only if you vouch for this file.")
    return sio.load(path, trusted=untrusted)


def fit_baseline_run(method: str, splits, data_config, run_dir, *, params: dict | None = None) -> tuple[dict, dict]:
    """Fit a registry baseline (with optional scikit-learn ``set_params`` overrides), save and evaluate it as a run."""
    import time

    from .runs import MODEL_DIR, write_run

    clf = make_baseline(method, seed=data_config.seed)
    if params:
        clf.set_params(**params)
    start = time.perf_counter()
    clf.fit(splits.train.texts, splits.train.labels)
    train_seconds = time.perf_counter() - start
    save_baseline(clf, Path(run_dir) / MODEL_DIR)
    return write_run(run_dir, clf=clf, splits=splits, method=method, kind="baseline",
                     config={"data_config": data_config.to_dict(), "model_config": {"method": method, "params": params or {}}},
                     timings={"train_seconds": round(train_seconds, 2)})
