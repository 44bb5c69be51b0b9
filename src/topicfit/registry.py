"""The one mapping from kind name to class. Adding a kind is one module in ``topicfit/kinds/`` plus one line
here; the workflow, ``predict``, ``serve``, ``report``, ``tune`` and the CLI read this instead of comparing names.

>>> get_kind("baseline").__name__
'BaselineClassifier'
"""

from __future__ import annotations

import logging
from pathlib import Path

from .backends import DEFAULT_BACKEND
from .errors import RunError
from .kinds import Classifier
from .kinds.baseline import BaselineClassifier
from .kinds.embed import EmbedClassifier
from .kinds.ensemble import EnsembleClassifier
from .kinds.fewlabel import FewLabelClassifier
from .kinds.topics import DiscoveredTopicsClassifier
from .kinds.transformer import TransformerClassifier
from .runs import MODEL_DIR, read_run

logger = logging.getLogger(__name__)

KINDS: dict[str, type[Classifier]] = {
    "baseline": BaselineClassifier,
    "transformer": TransformerClassifier,
    "ensemble": EnsembleClassifier,
    "embed": EmbedClassifier,
    "topics": DiscoveredTopicsClassifier,
    "fewlabel": FewLabelClassifier,
}


def get_kind(name: str) -> type[Classifier]:
    """The class of a kind, or a :class:`RunError` listing the known kinds."""
    if name not in KINDS:
        raise RunError(f"unknown model kind {name!r}; known kinds: {', '.join(KINDS)}")
    return KINDS[name]


def load_run(run_dir: str | Path, *, backend: str = DEFAULT_BACKEND, **options) -> Classifier:
    """The fitted model of a finished run folder, loaded by its kind.

    ``backend`` (default :data:`topicfit.backends.DEFAULT_BACKEND`, ``auto``: torch until ``topicfit export``)
    and ``options`` go to the kind's ``load`` (``trust`` for baselines, ``backend`` and ``batch_size`` for
    transformers; kinds ignore the options they do not take); an ensemble loads its members through this same
    function with the same options.
    """
    run_dir = Path(run_dir)
    run, _ = read_run(run_dir)
    kind = run.get("kind")
    try:
        cls = get_kind(kind)
    except RunError as exc:
        raise RunError(f"{run_dir}: {exc}") from None
    model = cls.load(run_dir / MODEL_DIR, run=run, load_member=load_run, backend=backend, **options)
    logger.info("loaded %s run %s (%s)", kind, run_dir, run.get("method"))
    return model
