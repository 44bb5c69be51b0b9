"""topicfit: fine-tune pretrained transformers to sort documents into topics, with honest baselines.

Public API::

    from topicfit import TopicClassifier, TransformerClassifier, TrainConfig, DataConfig, load_splits, get_scheme
"""

__version__ = "0.1.0"

from .data import DataConfig, Documents, load_newsgroups, load_splits, load_table  # noqa: E402
from .labels import LabelScheme, get_scheme  # noqa: E402
from .predict import TopicClassifier  # noqa: E402
from .train import TrainConfig, TransformerClassifier  # noqa: E402

__all__ = ["DataConfig", "Documents", "LabelScheme", "TopicClassifier", "TrainConfig", "TransformerClassifier",
           "get_scheme", "load_newsgroups", "load_splits", "load_table", "__version__"]
