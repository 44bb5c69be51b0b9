"""Discovered topics as a classifier: a finished ``topicfit topics`` run predicts the topic (or, after
:func:`topicfit.topics.rename_topics`, the name) of new texts with the rule its fit used: embed with the run's
encoder settings, take the cosine similarity to each topic's centroid, softmax at the run's temperature.
Topics that share a name are one class, their probabilities summed.

>>> clf = DiscoveredTopicsClassifier.load("runs/topics/model", run=read_json("runs/topics/run.json"))  # doctest: +SKIP
>>> clf.predict(["the shuttle launch slipped a week"])                                   # doctest: +SKIP
['space']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..embeddings import embed_texts
from ..encoders import base_model_id
from ..errors import ModelError
from ..topics import TopicClustering, TopicsConfig, unique_names
from . import Classifier


class DiscoveredTopicsClassifier(Classifier):
    """A fitted :class:`~topicfit.topics.TopicClustering` behind the kind interface (``classes_``: the topic names)."""

    kind = "topics"
    config_class = TopicsConfig
    splits = ()  # a topics run has no labelled splits to score

    @property
    def method(self) -> str:
        return f"topics-{Path(self.config.model).name}"

    @property
    def base_model(self) -> str | None:
        return base_model_id(self.config.model)

    def fit(self, X, y=None, **options):
        raise ModelError("topics are discovered, not trained on labels: use `topicfit topics` (topicfit.topics.fit_topics_run)")

    def _set_model(self, model: TopicClustering) -> "DiscoveredTopicsClassifier":
        self.model_ = model
        self.classes_ = np.asarray(unique_names(model.labels_))
        column = {name: j for j, name in enumerate(self.classes_)}
        # (n_topics, n_classes): topic t adds its probability to its name's column
        self.merge_ = np.zeros((len(model.labels_), len(self.classes_)))
        self.merge_[np.arange(len(model.labels_)), [column[name] for name in model.labels_]] = 1.0
        return self

    def embed(self, X) -> np.ndarray:
        cfg = self.config
        return embed_texts(list(X), model=cfg.model, max_length=cfg.max_length, whole=cfg.whole, max_windows=cfg.max_windows,
                           batch_size=cfg.batch_size, precision=cfg.precision, stats=self.timings_)

    def transform(self, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Texts to ``(topic ids, probabilities, outlier flags)``: embedded here with the run's encoder settings,
        then assigned by the rule the fit used (:meth:`topicfit.topics.TopicClustering.transform`)."""
        return self.model_.transform(self.embed([X] if isinstance(X, str) else list(X)))

    @property
    def topics_(self) -> list[dict]:
        """One entry per topic: ``id``, ``label``, ``words``."""
        return [{"id": k, "label": label, "words": list(words)} for k, (label, words) in enumerate(zip(self.model_.labels_, self.model_.words_))]

    def predict_proba(self, X) -> np.ndarray:
        X = list(X)
        if not X:
            return np.zeros((0, len(self.classes_)))
        return self.model_.predict_proba(self.embed(X)) @ self.merge_

    def save(self, folder: str | Path) -> None:
        self.model_.save(folder)

    @classmethod
    def load(cls, folder: str | Path, *, run: dict | None = None, **options) -> "DiscoveredTopicsClassifier":
        model = TopicClustering.load(folder)
        return cls(model.config)._set_model(model)
