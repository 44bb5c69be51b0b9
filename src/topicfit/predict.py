"""Use a trained run: :class:`TopicClassifier` for Python, and the record-by-record logic of ``topicfit predict``.

>>> clf = TopicClassifier.load("runs/coarse-minilm")        # doctest: +SKIP
>>> clf.predict(["The shuttle's main engines were tested."])  # doctest: +SKIP
['sci']
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

import numpy as np

from .errors import ConfigError, ModelError
from .registry import load_run
from .runs import read_run

logger = logging.getLogger(__name__)

INPUT_FORMATS = ("auto", "lines", "jsonl", "csv")
MAX_TEXT_CHARS = 1_000_000  # longer texts get a per-record error rather than hours of tokenising


class TopicClassifier:
    """A finished run of any kind behind one interface.

    Args:
        estimator: the fitted model (a :class:`topicfit.kinds.Classifier`).
        run (dict): the run's ``run.json``.
    """

    def __init__(self, estimator, run: dict, run_dir: Path | None = None):
        self.estimator, self.run, self.run_dir = estimator, run, run_dir

    @classmethod
    def load(cls, run_dir: str | Path, *, trust: bool = False, backend: str = "auto", batch_size: int | None = None,
             long_documents: str | None = None, max_length: int | None = None) -> "TopicClassifier":
        """Load a finished run folder.

        Args:
            run_dir (str | Path): the run folder.
            trust (bool, default False): allow a baseline file with types beyond scikit-learn's.
            backend (str, default "auto"): for transformers, ``auto`` (the fastest backend this machine has for
                the run within 0.3 points of fp32; ``torch`` until ``topicfit export RUN --int8``), ``torch``, or
                ``onnx``, ``onnx-int8``, ``openvino``, ``openvino-int8`` (see :mod:`topicfit.backends`).
            batch_size (int | None): transformers: texts per forward pass; ``None`` keeps the run's
                ``eval_batch_size`` (PyTorch) or the ONNX default.
            long_documents (str | None): transformers: ``cut`` or ``windows`` (pool overlapping windows over each
                whole text); ``None`` keeps the run's setting.
            max_length (int | None): transformers: tokens per text (or window); ``None`` keeps the run's.
        """
        run_dir = Path(run_dir)
        run, _ = read_run(run_dir)
        return cls(load_run(run_dir, trust=trust, backend=backend, batch_size=batch_size, long_documents=long_documents,
                            max_length=max_length), run, run_dir)

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.estimator.classes_)

    @property
    def has_probabilities(self) -> bool:
        return self.estimator.has_probabilities

    def predict_proba(self, texts) -> np.ndarray:
        """Probabilities, shape (n, n_classes), columns in ``classes_`` order."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not self.has_probabilities:
            raise ModelError(f"method {self.run.get('method')!r} gives no probabilities; use predict()")
        return np.asarray(self.estimator.predict_proba(texts))

    def predict(self, texts) -> list[str]:
        """Predicted label names; a single string is accepted too."""
        return self.estimator.predict(texts)

    def predict_records(self, texts: list[str], *, top_k: int = 3) -> list[dict]:
        """``[{"label", "probability", "top_k": [{"label", "probability"}, ...]}]``, one per text, in order."""
        if not texts:
            return []
        labels, proba = self.estimator.predict_labels(list(texts))
        if proba is None:
            return [{"label": p, "probability": None, "top_k": [{"label": p, "probability": None}]} for p in labels]
        index = {str(c): j for j, c in enumerate(self.classes_)}
        k = max(1, min(top_k, proba.shape[1]))
        out = []
        for label, row in zip(labels, proba):
            order = np.argsort(-row, kind="stable")[:k]
            top = [{"label": str(self.classes_[j]), "probability": round(float(row[j]), 6)} for j in order]
            out.append({"label": label, "probability": round(float(row[index[label]]), 6), "top_k": top})
        return out


# --- reading prediction input ---------------------------------------------------------------------


def _bad_utf8(text: str) -> bool:
    """Text decoded with ``surrogateescape`` holds lone surrogates exactly where the bytes were not UTF-8."""
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def read_inputs(raw: bytes, *, fmt: str = "lines", text_field: str = "text") -> list[dict]:
    """Split raw input into records ``{"index", "text"}`` or ``{"index", "error"}``: one per input record.

    ``lines``: one text per line. ``jsonl``: one JSON object per line with a ``text`` field (an ``id``
    is carried through). ``csv``: a header row and a ``text`` column. Bytes that are not UTF-8 make an
    error record for the record they are in, never a crash.
    """
    if fmt not in INPUT_FORMATS[1:]:
        raise ConfigError(f"format must be one of {INPUT_FORMATS[1:]}, got {fmt!r}")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text = raw.decode("utf-8", errors="surrogateescape")
    records: list[dict] = []
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if reader.fieldnames is None or text_field not in reader.fieldnames:
            raise ConfigError(f"CSV input needs a header row with a {text_field!r} column; found {reader.fieldnames}")
        for row in reader:
            records.append({"text": row.get(text_field) or "", **({"id": row["id"]} if "id" in row else {})})
    else:
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # a final newline ends the last record; it does not start another
        for line in lines:
            line = line.removesuffix("\r")
            if fmt == "lines":
                records.append({"text": line})
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                records.append({"error": f"not valid JSON ({exc.msg}); expected an object with a {text_field!r} field"})
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get(text_field), str):
                records.append({"error": f"expected a JSON object with a string {text_field!r} field",
                                **({"id": obj["id"]} if isinstance(obj, dict) and "id" in obj else {})})
                continue
            records.append({"text": obj[text_field], **({"id": obj["id"]} if "id" in obj else {})})
    for i, rec in enumerate(records):
        rec["index"] = i
        t = rec.get("text")
        if t is None:
            continue
        if _bad_utf8(t):
            rec.pop("text")
            rec["error"] = "input is not valid UTF-8; re-encode it as UTF-8"
        elif len(t) > MAX_TEXT_CHARS:
            rec.pop("text")
            rec["error"] = f"text has {len(t)} characters, over the limit of {MAX_TEXT_CHARS}"
    return records


def guess_format(path: str | None) -> str:
    """``jsonl``/``csv`` from a file's extension, else ``lines`` (stdin included)."""
    suffix = Path(path).suffix.lower() if path and path != "-" else ""
    return {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv"}.get(suffix, "lines")


def predict_inputs(clf: TopicClassifier, records: list[dict], *, top_k: int = 3, batch_size: int = 256) -> list[dict]:
    """Attach predictions to the records that have a text; keep error records as they are, in order."""
    todo = [r for r in records if "text" in r]
    for b in range(0, len(todo), batch_size):
        chunk = todo[b : b + batch_size]
        for rec, pred in zip(chunk, clf.predict_records([r["text"] for r in chunk], top_k=top_k)):
            if not rec["text"].strip():
                pred["warning"] = "empty text: the prediction reflects the training data's empty posts only"
            rec.update(pred)
    out = []
    for rec in records:
        rec = dict(rec)
        rec.pop("text", None)
        out.append(rec)
    return out
