"""topicfit: fine-tune pretrained transformers to sort documents into topics, with honest baselines.

Public API, one call each::

    import topicfit

    clf = topicfit.fit(texts, labels, budget=20, output="runs/fit")         # the best model within 20 minutes
    clf = topicfit.train(texts, labels, kind="baseline", method="tfidf-svm", output="runs/svm")  # one kind
    topics = topicfit.discover(texts, n_topics=20)                          # topics, no labels needed
    topicfit.TopicClassifier.load("runs/fit/best").predict(["the shuttle launch slipped a week"])
"""

__version__ = "0.1.0"

from .api import discover, train  # noqa: E402
from .auto import FitConfig, fit  # noqa: E402
from .data import DataConfig, Documents, load_newsgroups, load_splits, load_table  # noqa: E402
from .errors import TopicfitError  # noqa: E402
from .kinds.baseline import BaselineClassifier, BaselineConfig  # noqa: E402
from .kinds.ensemble import EnsembleClassifier  # noqa: E402
from .kinds.transformer import TrainConfig, TransformerClassifier  # noqa: E402
from .labels import LabelScheme, get_scheme  # noqa: E402
from .predict import TopicClassifier  # noqa: E402
from .registry import KINDS, load_run  # noqa: E402
from .workflow import fit_run  # noqa: E402

__all__ = ["FitConfig", "discover", "fit", "train", "KINDS", "BaselineClassifier", "BaselineConfig", "DataConfig", "Documents", "EnsembleClassifier", "LabelScheme",
           "TopicClassifier", "TopicfitError", "TrainConfig", "TransformerClassifier", "fit_run", "get_scheme", "load_newsgroups",
           "load_run", "load_splits", "load_table", "__version__"]
