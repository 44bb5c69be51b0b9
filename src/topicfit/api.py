"""The one-call entry points: :func:`train` one kind of model, :func:`discover` topics (and
:func:`topicfit.auto.fit`, the best model within a time budget). Data may be Python lists, a file, a
:class:`~topicfit.data.DataConfig`, or nothing (20 Newsgroups).

>>> import topicfit
>>> clf = topicfit.train(texts, labels, kind="baseline", method="tfidf-svm", output="runs/svm")  # doctest: +SKIP
>>> clf.predict(["the shuttle launch slipped a week"])                                          # doctest: +SKIP
>>> topics = topicfit.discover(texts, n_topics=20)                                              # doctest: +SKIP
>>> topics.transform(["a new graphics card"])                                                   # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import fields, replace
from pathlib import Path

from .data import DataConfig, Documents
from .errors import ConfigError, DataError

logger = logging.getLogger(__name__)

DATA_FILE = "data.jsonl"  # texts and labels given as Python lists, written where the run folder's data_config can find them


def _is_texts(data) -> bool:
    return data is not None and not isinstance(data, (str, os.PathLike, DataConfig))


def write_documents(texts, labels, path: str | Path) -> Path:
    """Python lists of texts and labels as a JSONL file (``id``, ``text``, ``label``), so a run made from lists
    is self-describing like one made from a file: its ``data_config`` names this file."""
    texts = list(texts)
    if labels is None or isinstance(labels, str):
        raise DataError("texts given as a list need their labels as a list of the same length (labels=[...]); "
                        "a label scheme name goes with a file or 20 Newsgroups")
    labels = list(labels)
    if len(labels) != len(texts):
        raise DataError(f"got {len(texts)} texts and {len(labels)} labels; expected one label per text")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise DataError(f"texts must be strings; item {bad[0]} is {type(texts[bad[0]]).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for i, (t, y) in enumerate(zip(texts, labels)):
            f.write(json.dumps({"id": str(i), "text": t, "label": None if y is None else str(y)}, ensure_ascii=False) + "\n")
    return path


def data_config(data=None, labels=None, *, folder: str | Path | None = None, **settings) -> DataConfig:
    """The :class:`DataConfig` for ``data``: ``None`` (20 Newsgroups; ``labels`` may name the scheme, e.g.
    ``"coarse"``), a path (CSV/JSONL/Parquet; its label column holds the classes), a ``DataConfig`` (used as it
    is, ``settings`` replacing fields), or a list of texts with ``labels`` a list beside it (written to
    ``folder/data.jsonl``, or a temporary file without ``folder``)."""
    if isinstance(data, DataConfig):
        return replace(data, **settings) if settings else data
    if _is_texts(data):
        target = Path(folder) / DATA_FILE if folder is not None else Path(tempfile.mkdtemp(prefix="topicfit-data-")) / DATA_FILE
        path = write_documents(data, labels, target)
        return DataConfig(**{"labels": "identity", **settings, "dataset": str(path), "id_column": "id", "text_column": "text",
                             "label_column": "label"})
    if isinstance(labels, str):
        settings = {"labels": labels, **settings}
    elif labels is not None:
        raise DataError("labels given as a list need the texts as a list too (topicfit.train(texts, labels))")
    if data is None or str(data) == "20newsgroups":
        return DataConfig(**settings)
    return DataConfig(**{"labels": "identity", **settings, "dataset": str(data)})


def split_settings(settings: dict, *classes) -> list[dict]:
    """Keyword settings divided among dataclasses by field name; an unknown name stops with the valid ones."""
    out, known = [], set()
    for cls in classes:
        names = {f.name for f in fields(cls)}
        out.append({k: v for k, v in settings.items() if k in names})
        known |= names
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(map(repr, unknown))}; valid names: {', '.join(sorted(known))}")
    return out


def train(data=None, labels=None, *, kind: str = "transformer", output: str | Path | None = None, overwrite: bool = False, **settings):
    """Train one kind of model and return it as a :class:`~topicfit.predict.TopicClassifier`.

    Args:
        data: a list of texts (with ``labels`` a list), a file path, a :class:`DataConfig`, or ``None`` (20 Newsgroups).
        labels: the labels of a list of texts, or a label scheme name for 20 Newsgroups (``"coarse"``, ``"fine"``).
        kind (str, default "transformer"): ``baseline``, ``transformer``, ``embed`` or ``fewlabel`` (:data:`topicfit.registry.KINDS`;
            ``fewlabel`` also learns from the rows without a label, or ``unlabelled="FILE"``).
        output (str | None): write a finished run folder here (``TopicClassifier.load``, ``predict`` and ``serve``
            take it); without it the model is fitted in memory only.
        **settings: fields of ``DataConfig`` and of the kind's settings (``method="tfidf-svm"``, ``epochs=1``, ...).

    >>> clf = train(["good goal", "bad code"] * 20, ["sport", "tech"] * 20, kind="baseline", method="tfidf-nb")  # doctest: +SKIP
    """
    from .data import load_splits
    from .predict import TopicClassifier
    from .registry import get_kind
    from .workflow import fit_run

    cls = get_kind(kind)
    if kind in ("ensemble", "topics"):
        raise ConfigError(f"kind {kind!r} is not trained on data: use topicfit.fit (ensembles) or topicfit.discover (topics)")
    data_settings, model_settings = split_settings(settings, DataConfig, cls.config_class)
    config = data_config(data, labels, folder=output, **data_settings)
    model = cls(cls.config_class(**model_settings))
    splits = load_splits(config)
    unlabelled = {"X_unlabelled": splits.unlabelled} if kind == "fewlabel" and splits.unlabelled else {}  # rows without a label
    if output is not None:
        run_dir, _, _ = fit_run(model, config, output, splits=splits, overwrite=overwrite, fit_options=unlabelled)
        return TopicClassifier.load(run_dir)
    model.fit(splits.train.texts, splits.train.labels, X_val=splits.validation.texts, y_val=splits.validation.labels,
              classes=splits.classes, **unlabelled)
    return TopicClassifier(model, {"kind": kind, "method": model.method, "classes": list(splits.classes), "labels": splits.scheme.name})


def discover(texts, n_topics: int | None = None, *, output: str | Path | None = None, overwrite: bool = False, ids=None, **settings):
    """Discover topics in ``texts`` (no labels needed); returns a fitted
    :class:`~topicfit.kinds.topics.DiscoveredTopicsClassifier` whose ``transform(texts)`` embeds and assigns new texts.

    Args:
        n_topics (int | None): the number of topics; ``None`` chooses it.
        output (str | None): also write a topics run folder (assignments, topic words, report.html).
        **settings: fields of :class:`~topicfit.topics.TopicsConfig` (``model="mpnet"``, ``reducer="umap"``, ...).
    """
    from .kinds.topics import DiscoveredTopicsClassifier
    from .runs import MODEL_DIR, read_run
    from .topics import TopicsConfig, fit_topics_run

    texts = list(texts)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise DataError("discover expects a non-empty list of strings")
    (config_settings,) = split_settings(settings, TopicsConfig)
    config = TopicsConfig(**{**config_settings, "n_topics": n_topics})
    docs = Documents([str(i) for i in (ids if ids is not None else range(len(texts)))], texts, [""] * len(texts))
    if output is None:
        output = Path(tempfile.mkdtemp(prefix="topicfit-topics-")) / "topics"
    run_dir, _ = fit_topics_run(docs, output, config, labels=False, overwrite=overwrite)
    run, _ = read_run(run_dir)
    return DiscoveredTopicsClassifier.load(Path(run_dir) / MODEL_DIR, run=run)
