"""A frozen encoder and a head: mean-pooled embeddings of the whole post (overlapping windows, so no text is
cut) from minilm or mpnet, then scikit-learn's logistic regression or an RBF-kernel SVM. No backpropagation,
so the bigger encoder is affordable on a CPU; embeddings are cached on disk by texts and model
(:func:`topicfit.embeddings.embed_texts`), so a second head on the same posts costs seconds.

``head="auto"`` (the default) fits both heads over their C grids and keeps the one with the lowest validation
log-loss: a proper score, steadier than macro-F1 on a small validation split, and what the ensembles,
teachers and priors built on this run consume. On 20 Newsgroups (7 classes, frozen MiniLM) the SVM's
validation macro-F1 is 0.79 against logistic regression's 0.74 (``benchmarks/embed_heads.py``): a linear
head underfits sentence embeddings. The kernel SVM costs O(n^2) in the training posts, so above
:data:`SVM_MAX_TRAIN` posts ``auto`` keeps to logistic regression. Its probabilities are libsvm's (Platt scaling
of each pair of classes, cross-validated, then pairwise coupling): validation log-loss 0.53 there, against
0.68-0.73 for one-vs-rest sigmoid or temperature scaling by ``CalibratedClassifierCV``, which it falls back to
where scikit-learn no longer has ``SVC(probability=True)`` (deprecated in 1.9, to go in 1.11).

>>> clf = EmbedClassifier(EmbedConfig(model="mpnet")).fit(train_texts, train_labels, X_val=val_texts, y_val=val_labels)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..embeddings import embed_texts
from ..encoders import PRECISIONS, base_model_id
from ..errors import ConfigError, ModelError
from ..settings import Settings
from ..metrics import compute_metrics
from ..runs import BASELINE_FILE
from . import Classifier, load_skops, save_skops

logger = logging.getLogger(__name__)

C_GRID = (1.0, 4.0, 16.0)  # searched on validation when C is None; the best of the fits is kept
HEADS = ("auto", "logreg", "svm")
SVM_MAX_TRAIN = 20_000  # training posts above which head=auto leaves the kernel SVM out (its cost grows as n^2)


# SVC(probability=True) is deprecated in scikit-learn 1.9 (pinned here); its probabilities are the better ones (above)
warnings.filterwarnings("ignore", message="The `probability` parameter was deprecated", category=FutureWarning)


def svm_head(C: float, *, seed: int = 42):
    """An RBF-kernel SVM on normalised embeddings (gamma 'scale', class-balanced), with probabilities: libsvm's
    cross-validated pairwise Platt scaling, or where scikit-learn has dropped it, temperature scaling out of fold."""
    import sklearn
    from sklearn.svm import SVC

    if tuple(int(v) for v in sklearn.__version__.split(".")[:2]) < (1, 11):
        return SVC(C=C, kernel="rbf", gamma="scale", class_weight="balanced", probability=True, random_state=seed)
    from sklearn.calibration import CalibratedClassifierCV

    return CalibratedClassifierCV(SVC(C=C, kernel="rbf", gamma="scale", class_weight="balanced", random_state=seed),
                                  method="temperature", cv=3, ensemble=False)


@dataclass(frozen=True)
class EmbedConfig(Settings):
    """Settings of the frozen-encoder kind."""

    model: str = field(default="minilm", metadata={"help": "minilm | mpnet | a Hub id | a local folder (any encoder; mean pooling)"})
    max_length: int = field(default=256, metadata={"help": "tokens per window"})
    whole: bool = field(default=True, metadata={
        "help": "read the whole post in overlapping windows and average them; --cut: cut each post to --max-length (head+tail)",
        "false_flags": ["--cut"]})
    max_windows: int = field(default=16, metadata={"help": "at most this many windows per post"})
    head: str = field(default="auto", metadata={
        "help": f"logreg: logistic regression; svm: an RBF-kernel SVM (class-balanced, Platt-scaled); auto: the better on validation "
                f"(the SVM only up to {SVM_MAX_TRAIN:,} training posts)", "choices": HEADS})
    C: float | None = field(default=None, metadata={
        "help": f"the head's inverse regularisation; none: the best of {C_GRID} on validation"})
    batch_size: int = field(default=32, metadata={"help": "texts per encoder batch"})
    precision: str = field(default="auto", metadata={"help": "encoder precision (auto: bf16 on CPUs that support it)",
                                                     "choices": PRECISIONS})
    seed: int = field(default=42, metadata={"help": "random seed"})

    def __post_init__(self) -> None:
        if not 8 <= self.max_length <= 8192:
            raise ConfigError(f"max_length must be between 8 and 8192, got {self.max_length}")
        if self.C is not None and self.C <= 0:
            raise ConfigError(f"C must be positive, got {self.C}")
        if self.head not in HEADS:
            raise ConfigError(f"head must be one of {HEADS}, got {self.head!r}")



class EmbedClassifier(Classifier):
    """Frozen mean-pooled embeddings + logistic regression or a kernel SVM, behind the kind interface."""

    kind = "embed"
    config_class = EmbedConfig

    @property
    def method(self) -> str:
        return f"embed-{Path(self.config.model).name}"

    @property
    def base_model(self) -> str | None:
        return base_model_id(self.config.model)

    def embed(self, X) -> np.ndarray:
        cfg = self.config
        return embed_texts(list(X), model=cfg.model, max_length=cfg.max_length, whole=cfg.whole, max_windows=cfg.max_windows,
                           batch_size=cfg.batch_size, precision=cfg.precision, stats=self.timings_)

    def _head(self, head: str, C: float):
        from sklearn.linear_model import LogisticRegression

        if head == "logreg":
            return LogisticRegression(C=C, max_iter=3000, random_state=self.config.seed)
        return svm_head(C, seed=self.config.seed)

    def _search(self, train, y, val, y_val) -> tuple[str, float]:
        """Every (head, C) of the grid fitted with probabilities, scored on validation; the lowest log-loss wins."""
        best = None
        for head in self.heads(len(y)):
            for c in [self.config.C] if self.config.C is not None else C_GRID:
                fitted = self._head(head, c).fit(train, y)
                proba = fitted.predict_proba(val)
                classes = [str(k) for k in fitted.classes_]
                m = compute_metrics(references=y_val, predictions=[classes[i] for i in proba.argmax(axis=1)], classes=classes,
                                    probabilities=proba)
                self.c_search_.append({"head": head, "C": c, "log_loss": round(m["loss"], 4), "macro_f1": round(m["macro_f1"], 4),
                                       "accuracy": round(m["accuracy"], 4)})
                if best is None or m["loss"] < best[0]:
                    best, self.head_ = (m["loss"], m["macro_f1"], head, c), fitted
        self.validation_macro_f1_ = best[1]
        logger.info("embed head: %s, C=%g (validation log-loss %.4f, macro-F1 %.4f)", best[2], best[3], best[0], best[1])
        return best[2], best[3]

    def heads(self, n_train: int) -> list[str]:
        """The heads searched: ``config.head``, or for ``auto`` logistic regression and (up to SVM_MAX_TRAIN posts) the SVM."""
        if self.config.head != "auto":
            return [self.config.head]
        return ["logreg", "svm"] if n_train <= SVM_MAX_TRAIN else ["logreg"]

    def fit(self, X, y, *, X_val=None, y_val=None, classes=None, workdir=None, resume=False) -> "EmbedClassifier":
        train = self.embed(X)
        y = [str(v) for v in y]
        heads = self.heads(len(y))
        self.c_search_, self.head_ = [], None
        if len(heads) > 1 or self.config.C is None:
            if X_val is None or not len(X_val):
                raise ModelError(f"the head ({', '.join(heads)}) and C are chosen on validation; give a validation split, "
                                 "or set head (logreg or svm) and C")
            self.head_name_, self.C_ = self._search(train, y, self.embed(X_val), [str(v) for v in y_val])
        else:
            self.head_name_, self.C_ = heads[0], self.config.C
            self.head_ = self._head(self.head_name_, self.C_).fit(train, y)
        self.classes_ = np.asarray([str(c) for c in self.head_.classes_])
        if classes is not None and list(self.classes_) != [str(c) for c in classes]:
            raise ModelError(f"every class needs training documents; got {list(self.classes_)}, expected {list(classes)}")
        return self

    def predict_proba(self, X) -> np.ndarray:
        X = list(X)
        if not X:
            return np.zeros((0, len(self.classes_)))
        return self.head_.predict_proba(self.embed(X))

    def fold_copy(self) -> "EmbedClassifier":
        """The same encoder, head and regularisation (no validation search; the embeddings are cached)."""
        return EmbedClassifier(replace(self.config, head=self.head_name_, C=self.C_))

    def run_info(self) -> dict:
        return {"head": {"head": self.head_name_, "C": self.C_, "search": self.c_search_}}

    def save(self, folder: str | Path) -> None:
        """The head as a skops file (no code runs on load); the encoder is named in the run's ``model_config``."""
        save_skops(self.head_, Path(folder) / BASELINE_FILE)

    @classmethod
    def load(cls, folder: str | Path, *, run: dict | None = None, trust: bool = False, **options) -> "EmbedClassifier":
        clf = cls(EmbedConfig.from_dict((run or {}).get("model_config", {})))
        clf.head_ = load_skops(Path(folder) / BASELINE_FILE, trust=trust)
        head = ((run or {}).get("head") or {})
        clf.head_name_ = head.get("head", "logreg")  # runs before the SVM head: logistic regression
        clf.C_ = head.get("C", getattr(clf.head_, "C", None))
        clf.classes_ = np.asarray([str(c) for c in clf.head_.classes_])
        return clf

    # -- tuning --
    @classmethod
    def default_params(cls, config: EmbedConfig, *, quick: bool = False) -> dict:
        return {"C": config.C or 3.0}

    @classmethod
    def search_space(cls, trial, config: EmbedConfig, *, quick: bool = False) -> dict:
        return {"C": trial.suggest_float("C", min(0.1, config.C or 0.1), max(100.0, config.C or 100.0), log=True)}
