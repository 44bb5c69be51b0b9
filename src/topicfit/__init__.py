"""topicfit: fine-tune pretrained transformers to sort documents into topics, with honest baselines.

Public API::

    from topicfit import DataConfig, load_splits, TrainConfig, TransformerClassifier, fit_run, TopicClassifier

    splits = load_splits(DataConfig(labels="coarse"))
    fit_run(TransformerClassifier(TrainConfig(model="minilm")), DataConfig(labels="coarse"), "runs/coarse-minilm")
    TopicClassifier.load("runs/coarse-minilm").predict(["the shuttle launch slipped a week"])
"""

__version__ = "0.1.0"

from .data import DataConfig, Documents, load_newsgroups, load_splits, load_table  # noqa: E402
from .errors import TopicfitError  # noqa: E402
from .kinds.baseline import BaselineClassifier, BaselineConfig  # noqa: E402
from .kinds.ensemble import EnsembleClassifier  # noqa: E402
from .kinds.transformer import TrainConfig, TransformerClassifier  # noqa: E402
from .labels import LabelScheme, get_scheme  # noqa: E402
from .predict import TopicClassifier  # noqa: E402
from .registry import KINDS, load_run  # noqa: E402
from .workflow import fit_run  # noqa: E402

__all__ = ["KINDS", "BaselineClassifier", "BaselineConfig", "DataConfig", "Documents", "EnsembleClassifier", "LabelScheme",
           "TopicClassifier", "TopicfitError", "TrainConfig", "TransformerClassifier", "fit_run", "get_scheme", "load_newsgroups",
           "load_run", "load_splits", "load_table", "__version__"]
