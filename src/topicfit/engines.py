"""Prediction on an existing distributed engine: Dask.

Dask is what a Python shop that keeps its posts in Parquet on a data lake already runs (``dask.dataframe.read_parquet``
on S3/GCS/HDFS, a ``distributed`` cluster on Kubernetes, YARN, SLURM or a laptop), it installs from PyPI with no
JVM (Spark's ``mapInPandas`` needs one) and, unlike Ray Data, its dataframes partition the same way pandas users
already think. Each worker loads the run once (:func:`_classifier`, cached per worker process) and predicts its
partitions with the code ``topicfit predict`` runs (:func:`topicfit.predict.predict_inputs`), so the answers are the
same, row for row.

>>> import dask.dataframe as dd                                                        # doctest: +SKIP
>>> posts = dd.read_parquet("s3://bucket/posts/")                                      # doctest: +SKIP
>>> predict_dataframe("runs/fit/best", posts, text_column="body").to_parquet("s3://bucket/topics/")  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import json

from .errors import ConfigError

OUTPUT_COLUMNS = {"label": "object", "probability": "float64", "top_k": "object", "warning": "object", "error": "object"}


@functools.lru_cache(maxsize=4)
def _classifier(run_dir: str, backend: str):
    """The run, loaded once per worker process (and per run and backend)."""
    from .predict import TopicClassifier

    return TopicClassifier.load(run_dir, backend=backend)


def predict_partition(frame, *, run_dir: str, text_column: str = "text", top_k: int = 3, backend: str = "auto"):
    """One pandas partition's predictions: the input columns plus ``label``, ``probability``, ``top_k`` (JSON) and
    ``warning`` / ``error`` (a text that is missing or not a string gets an error row, as ``topicfit predict`` does)."""
    import pandas as pd

    from .predict import MAX_TEXT_CHARS, predict_inputs

    records = []
    for i, text in enumerate(frame[text_column].tolist()):
        if not isinstance(text, str):
            records.append({"index": i, "error": f"expected a string in column {text_column!r}, got {type(text).__name__}"})
        elif len(text) > MAX_TEXT_CHARS:
            records.append({"index": i, "error": f"text of {len(text)} characters is over the limit of {MAX_TEXT_CHARS}"})
        else:
            records.append({"index": i, "text": text})
    out = predict_inputs(_classifier(str(run_dir), backend), records, top_k=top_k)
    result = frame.copy()
    result["label"] = [r.get("label") for r in out]
    result["probability"] = pd.array([r.get("probability") for r in out], dtype="float64")
    result["top_k"] = [json.dumps(r["top_k"]) if "top_k" in r else None for r in out]
    result["warning"] = [r.get("warning") for r in out]
    result["error"] = [r.get("error") for r in out]
    return result


def predict_dataframe(run_dir, frame, *, text_column: str = "text", top_k: int = 3, backend: str = "auto"):
    """A lazy Dask dataframe of ``frame``'s rows with their predictions (one output row per input row, in order);
    compute it, or write it (``.to_parquet``), on whatever cluster the caller's Dask client points at."""
    if text_column not in frame.columns:
        raise ConfigError(f"the dataframe has no column {text_column!r}; its columns: {list(frame.columns)}")
    meta = frame._meta.assign(**{name: __import__("pandas").Series(dtype=dtype) for name, dtype in OUTPUT_COLUMNS.items()})
    return frame.map_partitions(predict_partition, run_dir=str(run_dir), text_column=text_column, top_k=top_k, backend=backend, meta=meta)
