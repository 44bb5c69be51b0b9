"""scikit-learn baselines: plain Pipelines from a small table, saved with skops (no code runs on load).

>>> clf = BaselineClassifier(BaselineConfig("tfidf-svm")).fit(["a rocket", "a goal"] * 5, ["sci", "rec"] * 5)
>>> list(clf.classes_)
['rec', 'sci']

Each TF-IDF baseline's regulariser has its default and its search range in :data:`BASELINES`, and the
vectoriser's defaults are :data:`TFIDF_DEFAULTS`: ``topicfit tune`` reads trial 0 from the same table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from ..errors import ConfigError, ModelError
from ..settings import Settings
from ..runs import BASELINE_FILE
from . import Classifier, load_skops, save_skops

logger = logging.getLogger(__name__)

# unigram TF-IDF with sublinear term frequency; bigrams cost 4x the time and gained nothing on 20NG
TFIDF_DEFAULTS = {"sublinear_tf": True, "min_df": 2, "max_df": 0.5, "strip_accents": "unicode", "ngram_range": (1, 1)}


class Regulariser(NamedTuple):
    param: str  # the Pipeline.set_params name
    default: float
    low: float  # search range
    high: float


class Spec(NamedTuple):
    build: Callable[[float | None, int], object]  # (regulariser value, seed) -> estimator
    description: str
    regulariser: Regulariser | None = None  # None: nothing to tune (random, majority)


def _tfidf_pipeline(model: Callable[[float, int], object]) -> Callable[[float | None, int], object]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline

    return lambda value, seed: Pipeline([("tfidf", TfidfVectorizer(**TFIDF_DEFAULTS)), ("clf", model(value, seed))])


def _specs() -> dict[str, Spec]:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.naive_bayes import ComplementNB
    from sklearn.svm import LinearSVC

    return {
        "random": Spec(lambda _, seed: DummyClassifier(strategy="uniform", random_state=seed), "uniform random guessing"),
        "majority": Spec(lambda _, seed: DummyClassifier(strategy="prior"), "always the most frequent class; probabilities are the class priors"),
        "tfidf-logreg": Spec(_tfidf_pipeline(lambda c, seed: LogisticRegression(C=c, max_iter=2000, random_state=seed)),
                             "TF-IDF + logistic regression", Regulariser("clf__C", 30.0, 0.1, 300.0)),
        "tfidf-svm": Spec(_tfidf_pipeline(lambda c, seed: CalibratedClassifierCV(LinearSVC(C=c, random_state=seed), cv=5)),
                          "TF-IDF + linear SVM, probabilities by 5-fold sigmoid calibration", Regulariser("clf__estimator__C", 0.5, 0.01, 10.0)),
        "tfidf-ridge": Spec(_tfidf_pipeline(lambda a, seed: RidgeClassifier(alpha=a)), "TF-IDF + ridge classifier (no probabilities)",
                            Regulariser("clf__alpha", 1.0, 0.01, 10.0)),
        "tfidf-nb": Spec(_tfidf_pipeline(lambda a, seed: ComplementNB(alpha=a)), "TF-IDF + complement naive Bayes",
                         Regulariser("clf__alpha", 0.3, 0.01, 1.0)),
    }


BASELINES: dict[str, Spec] = _specs()
TUNABLE = tuple(name for name, spec in BASELINES.items() if spec.regulariser)


@dataclass(frozen=True)
class BaselineConfig(Settings):
    """A baseline from :data:`BASELINES`, with optional scikit-learn ``set_params`` overrides."""

    method: str = field(default="tfidf-svm", metadata={"help": "a pipeline of BASELINES", "choices": tuple(BASELINES)})
    params: dict = field(default_factory=dict, metadata={
        "help": 'scikit-learn set_params overrides, e.g. {"clf__C": 10.0, "tfidf__ngram_range": [1, 2]}', "cli": False})
    seed: int = field(default=42, metadata={"help": "random seed"})

    def __post_init__(self) -> None:
        if self.method not in BASELINES:
            raise ConfigError(f"unknown baseline {self.method!r}; choose one of: {', '.join(BASELINES)}")



def make_pipeline(config: BaselineConfig):
    """A fresh, unfitted scikit-learn estimator for ``config``."""
    spec = BASELINES[config.method]
    estimator = spec.build(spec.regulariser.default if spec.regulariser else None, config.seed)
    if config.params:
        params = {k: tuple(v) if k.endswith("ngram_range") else v for k, v in config.params.items()}
        estimator.set_params(**params)
    return estimator


class BaselineClassifier(Classifier):
    """A scikit-learn baseline behind the kind interface."""

    kind = "baseline"
    config_class = BaselineConfig

    @property
    def method(self) -> str:
        return self.config.method

    @property
    def has_probabilities(self) -> bool:
        return hasattr(self.pipeline_, "predict_proba") if hasattr(self, "pipeline_") else True

    def fit(self, X, y, *, X_val=None, y_val=None, classes=None, workdir=None, resume=False) -> "BaselineClassifier":
        from collections import Counter

        from sklearn.calibration import CalibratedClassifierCV

        pipeline, y = make_pipeline(self.config), [str(v) for v in y]
        clf = getattr(pipeline, "named_steps", {}).get("clf")
        counts = Counter(y)
        if isinstance(clf, CalibratedClassifierCV) and isinstance(clf.cv, int) and counts and clf.cv > min(counts.values()):
            label, n = min(counts.items(), key=lambda kv: kv[1])
            if n < 2:
                raise ModelError(f"{self.method} calibrates its probabilities by cross-validation and needs at least 2 training posts "
                                 f"of every class; {label!r} has {n}")
            logger.info("%s: %d-fold calibration (class %r has %d training posts)", self.method, n, label, n)
            clf.set_params(cv=n)
        self.pipeline_ = pipeline.fit(list(X), y)
        self.classes_ = np.asarray([str(c) for c in self.pipeline_.classes_])
        return self

    def predict_proba(self, X) -> np.ndarray:
        if not self.has_probabilities:
            raise ModelError(f"method {self.method!r} gives no probabilities; use predict()")
        return np.asarray(self.pipeline_.predict_proba(list(X)))

    def predict_labels(self, X) -> tuple[list[str], np.ndarray | None]:
        # scikit-learn's own predict: uniform random guessing is not the argmax of uniform probabilities
        X = list(X)
        proba = self.predict_proba(X) if self.has_probabilities else None
        return [str(p) for p in self.pipeline_.predict(X)], proba

    def fold_copy(self) -> "BaselineClassifier":
        return BaselineClassifier(self.config)

    def save(self, folder: str | Path) -> None:
        save_skops(self.pipeline_, Path(folder) / BASELINE_FILE)

    @classmethod
    def load(cls, folder: str | Path, *, run: dict | None = None, trust: bool = False, **options) -> "BaselineClassifier":
        """Load what :meth:`save` wrote. Only scikit-learn, numpy and scipy types are accepted unless ``trust``."""
        config = (run or {}).get("model_config") or {"method": (run or {}).get("method", "tfidf-svm")}
        clf = cls(BaselineConfig.from_dict(config))
        clf.pipeline_ = load_skops(Path(folder) / BASELINE_FILE, trust=trust)
        clf.classes_ = np.asarray([str(c) for c in clf.pipeline_.classes_])
        return clf

    # -- tuning --
    @classmethod
    def default_params(cls, config: BaselineConfig, *, quick: bool = False) -> dict | None:
        reg = BASELINES[config.method].regulariser
        if reg is None:
            return None
        return {reg.param: reg.default, "tfidf__ngram_range": ",".join(map(str, TFIDF_DEFAULTS["ngram_range"])),
                "tfidf__min_df": TFIDF_DEFAULTS["min_df"], "tfidf__sublinear_tf": TFIDF_DEFAULTS["sublinear_tf"]}

    @classmethod
    def search_space(cls, trial, config: BaselineConfig, *, quick: bool = False) -> dict:
        """The model's regulariser and the TF-IDF n-gram range, ``min_df`` and sublinear term frequency."""
        reg = BASELINES[config.method].regulariser
        if reg is None:
            raise ConfigError(f"{config.method} has nothing to tune; tunable baselines: {', '.join(TUNABLE)}")
        return {
            reg.param: trial.suggest_float(reg.param, reg.low, reg.high, log=True),
            "tfidf__ngram_range": trial.suggest_categorical("tfidf__ngram_range", ["1,1", "1,2"]),
            "tfidf__min_df": trial.suggest_int("tfidf__min_df", 1, 5),
            "tfidf__sublinear_tf": trial.suggest_categorical("tfidf__sublinear_tf", [True, False]),
        }

    @classmethod
    def with_params(cls, config: BaselineConfig, params: dict) -> BaselineConfig:
        params = {k: [int(n) for n in v.split(",")] if k == "tfidf__ngram_range" and isinstance(v, str) else v for k, v in params.items()}
        return BaselineConfig(method=config.method, params={**config.params, **params}, seed=config.seed)
