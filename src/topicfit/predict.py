"""Use a trained run: :class:`TopicClassifier` for Python, and the record-by-record logic of ``topicfit predict``:
:func:`iter_records` reads plain-text lines, JSONL or CSV one record at a time, :func:`predict_file` streams a
file of any length through a run in chunks (and resumes a killed run).

>>> clf = TopicClassifier.load("runs/coarse-minilm")        # doctest: +SKIP
>>> clf.predict(["The shuttle's main engines were tested."])  # doctest: +SKIP
['sci']
>>> predict_file(clf, "posts.jsonl", "predictions.jsonl")   # doctest: +SKIP
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np

from .errors import ConfigError, DataError, ModelError
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

MAX_LINE_BYTES = 16 * MAX_TEXT_CHARS  # a longer line is skipped over, not held: any text within the limit fits, escaped
_READ_BYTES = 1 << 20
_SURROGATE = re.compile("[\udc80-\udcff]")
_NOT_UTF8 = "input is not valid UTF-8; re-encode it as UTF-8"


class _Overlong(NamedTuple):
    """A plain-text line too long to hold: what :func:`_finish` needs to know of it."""

    chars: int
    bad_utf8: bool


def _bad_utf8(text: str) -> bool:
    """Text decoded with ``surrogateescape`` holds lone surrogates exactly where the bytes were not UTF-8."""
    return _SURROGATE.search(text) is not None


def _skip_line(stream: BinaryIO, head: bytes) -> _Overlong:
    """Read past the rest of a line over :data:`MAX_LINE_BYTES` (``head`` is its start) without holding it."""
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    chars, bad, tail, piece = 0, False, "", head
    while True:
        text = decoder.decode(piece, final=not piece)
        chars, bad, tail = chars + len(text), bad or _bad_utf8(text), (tail + text)[-2:]
        if not piece or piece.endswith(b"\n"):
            break
        piece = stream.readline(_READ_BYTES)
    for end in ("\n", "\r"):  # the line end is not part of the text, as in the short-line path
        if tail.endswith(end):
            chars, tail = chars - 1, tail[:-1]
    return _Overlong(chars, bad)


def _line_records(stream: BinaryIO, fmt: str, text_field: str) -> Iterator[dict]:
    first = True
    while raw := stream.readline(MAX_LINE_BYTES):
        whole = len(raw) < MAX_LINE_BYTES or raw.endswith(b"\n")
        if first and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
            if not raw:  # the input was only the byte-order mark
                return
        first = False
        if not whole:
            overlong = _skip_line(stream, raw)
            if fmt == "lines":
                yield {"text": overlong}
            else:
                yield {"error": f"JSON line over {MAX_LINE_BYTES} bytes; expected an object with a {text_field!r} field "
                                f"of at most {MAX_TEXT_CHARS} characters"}
            continue
        line = raw.decode("utf-8", errors="surrogateescape").removesuffix("\n").removesuffix("\r")
        if fmt == "lines":
            yield {"text": line}
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield {"error": f"not valid JSON ({exc.msg}); expected an object with a {text_field!r} field"}
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get(text_field), str):
            yield {"error": f"expected a JSON object with a string {text_field!r} field",
                   **({"id": obj["id"]} if isinstance(obj, dict) and "id" in obj else {})}
            continue
        yield {"text": obj[text_field], **({"id": obj["id"]} if "id" in obj else {})}


def _csv_records(stream: BinaryIO, text_field: str) -> Iterator[dict]:
    # the csv module refuses fields over 131,072 characters by default: allow every text within the limit (a longer
    # one gets the limit's error below); the setting is process-wide, and only ever raised here
    csv.field_size_limit(max(csv.field_size_limit(), 4 * MAX_TEXT_CHARS))
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.DictReader(text)
    header = reader.fieldnames
    if header is None or text_field not in header:
        text.detach()
        raise ConfigError(f"CSV input needs a header row with a {text_field!r} column; found {header}")

    def rows() -> Iterator[dict]:
        try:
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:  # e.g. a field over the csv module's limit; the reader goes on after that row
                    yield {"error": f"CSV row {reader.line_num} could not be read ({exc})"}
                    continue
                yield {"text": row.get(text_field) or "", **({"id": row["id"]} if "id" in row else {})}
        finally:
            text.detach()  # leave the caller's stream open

    return rows()


def _finish(rec: dict, index: int) -> dict:
    """Number a record and turn a text that cannot be predicted (not UTF-8, over the limit) into an error."""
    rec["index"] = index
    text = rec.get("text")
    if text is None:
        return rec
    chars, bad = (text.chars, text.bad_utf8) if isinstance(text, _Overlong) else (len(text), _bad_utf8(text))
    if bad:
        rec.pop("text")
        rec["error"] = _NOT_UTF8
    elif chars > MAX_TEXT_CHARS:
        rec.pop("text")
        rec["error"] = f"text has {chars} characters, over the limit of {MAX_TEXT_CHARS}"
    return rec


def iter_records(stream: BinaryIO, *, fmt: str = "lines", text_field: str = "text") -> Iterator[dict]:
    """Read records ``{"index", "text"}`` or ``{"index", "error"}`` one at a time from a binary stream: one per input record.

    ``lines``: one text per line. ``jsonl``: one JSON object per line with a ``text`` field (an ``id``
    is carried through). ``csv``: a header row and a ``text`` column. Bytes that are not UTF-8 make an
    error record for the record they are in, never a crash; so does a text over :data:`MAX_TEXT_CHARS`.
    A wrong format or a CSV header without the text column raises :class:`ConfigError` at once.

    >>> [r["text"] for r in iter_records(io.BytesIO(b"one\\ntwo\\n"))]
    ['one', 'two']
    """
    if fmt not in INPUT_FORMATS[1:]:
        raise ConfigError(f"format must be one of {INPUT_FORMATS[1:]}, got {fmt!r}")
    raws = _csv_records(stream, text_field) if fmt == "csv" else _line_records(stream, fmt, text_field)
    return (_finish(rec, i) for i, rec in enumerate(raws))


def read_inputs(raw: bytes, *, fmt: str = "lines", text_field: str = "text") -> list[dict]:
    """All the records of an input held in memory: :func:`iter_records` on ``raw``."""
    return list(iter_records(io.BytesIO(raw), fmt=fmt, text_field=text_field))


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


# --- streaming a whole file -----------------------------------------------------------------------

CHUNK_SIZE = 1024  # records predicted and written together
CHUNK_CHARS = 4 * MAX_TEXT_CHARS  # and at most this much text, so a chunk of long texts stays small too
PROGRESS_LOG_SECONDS = 30  # without a terminal, a progress line this often


def _chunks(records: Iterator[dict], size: int, max_chars: int = CHUNK_CHARS) -> Iterator[list[dict]]:
    chunk, chars = [], 0
    for rec in records:
        chunk.append(rec)
        chars += len(rec.get("text", ""))
        if len(chunk) >= size or chars >= max_chars:
            yield chunk
            chunk, chars = [], 0
    if chunk:
        yield chunk


def _resume_point(path: Path) -> int:
    """How many records ``path`` already holds: its complete lines. A partial last line (the run was killed while
    writing it) is cut off, so the records after it are written again whole."""
    if not path.exists():
        return 0
    count, end, offset, pending, last = 0, 0, 0, b"", b""
    with open(path, "r+b") as f:
        while block := f.read(_READ_BYTES):
            i = block.rfind(b"\n")
            if i < 0:
                pending += block
            else:
                count += block.count(b"\n")
                j = block.rfind(b"\n", 0, i)
                last = block[j + 1 : i] if j >= 0 else pending + block[:i]
                pending, end = block[i + 1 :], offset + i + 1
            offset += len(block)
        if end < offset:
            logger.info("resume: cutting the partial last line (%d bytes) off %s", offset - end, path)
            f.truncate(end)
    if count:
        try:
            index = json.loads(last).get("index")
        except (ValueError, AttributeError):
            index = None
        if index != count - 1:
            raise DataError(f"cannot resume {path}: its last line should be record {count - 1} of topicfit predict's output, "
                            f"found {last[:200]!r}; pass another --output, or leave out --resume to overwrite it")
    return count


def _dump(rec: dict) -> bytes:
    # an id read from bytes that are not UTF-8 holds lone surrogates; backslashreplace writes them as JSON's own \udcXX escapes
    return (json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")


def _open_output(output, *, append: bool):
    """``(write(bytes), close())`` for a path or an open stream (binary or text)."""
    if isinstance(output, (str, Path)):
        try:
            f = open(output, "ab" if append else "wb")
        except OSError as exc:
            raise DataError(f"cannot write {output}: {exc.strerror}") from None

        def write(data: bytes) -> None:
            f.write(data)
            f.flush()
        return write, f.close
    if isinstance(output, io.TextIOBase):
        if hasattr(output, "buffer"):
            output.flush()
            output = output.buffer
        else:
            def write(data: bytes) -> None:
                output.write(data.decode("utf-8"))
                output.flush()
            return write, lambda: None

    def write(data: bytes) -> None:
        output.write(data)
        output.flush()
    return write, lambda: None


def predict_file(clf: TopicClassifier, source, output, *, fmt: str = "auto", text_field: str = "text", top_k: int = 3,
                 chunk_size: int = CHUNK_SIZE, resume: bool = False, progress: bool = True) -> dict:
    """Predict every record of a file or stream and write one JSON line per record, a chunk at a time.

    Memory stays flat however long the input is: records are read, predicted and written ``chunk_size`` at a time
    (flushed after each chunk), in input order, one output line per input record (error records included, as
    :func:`iter_records` makes them).

    Args:
        clf (TopicClassifier): the loaded run.
        source (str | Path | BinaryIO): a file, or an open binary stream such as ``sys.stdin.buffer``.
        output (str | Path | IO): a file (overwritten, or appended to with ``resume``), or an open stream.
        fmt (str, default "auto"): ``lines``, ``jsonl``, ``csv``, or ``auto`` (from the file name; ``lines`` for a stream).
        text_field (str, default "text"): the JSONL field or CSV column holding the text.
        top_k (int, default 3): alternatives per prediction.
        chunk_size (int, default 1024): records predicted and written together.
        resume (bool, default False): continue a killed run: keep the complete lines already in ``output`` (a file),
            skip that many input records and append the rest.
        progress (bool, default True): a tqdm bar on stderr when it is a terminal; else a log line every 30 s.

    Returns:
        dict: ``{"records": written now, "predicted", "errors", "skipped": records already in output}``.

    >>> predict_file(clf, "posts.jsonl", "predictions.jsonl", resume=True)  # doctest: +SKIP
    {'records': 1000000, 'predicted': 999998, 'errors': 2, 'skipped': 0}
    """
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be at least 1, got {chunk_size}")
    is_path = isinstance(source, (str, Path))
    if fmt == "auto":
        fmt = guess_format(str(source) if is_path else None)
    if resume and not isinstance(output, (str, Path)):
        raise ConfigError("resume needs an output file to continue (--output FILE), not a stream")
    skip = _resume_point(Path(output)) if resume else 0
    try:
        stream = open(source, "rb") if is_path else source
    except OSError as exc:
        raise DataError(f"cannot read {source}: {exc.strerror}") from None
    try:
        records = iter_records(stream, fmt=fmt, text_field=text_field)  # a bad format or CSV header fails before any output
        if skip:
            seen = sum(1 for _ in islice(records, skip))
            if seen < skip:
                raise DataError(f"cannot resume {output}: it holds {skip} records but {source} has only {seen}; "
                                "it is the output of another input")
            logger.info("resume: %d records already in %s; predicting from record %d", skip, output, skip)
        write, close = _open_output(output, append=resume)
        bar = None
        if progress and sys.stderr.isatty():
            from tqdm import tqdm

            bar = tqdm(desc="predict", unit=" records", unit_scale=True, initial=skip, file=sys.stderr, dynamic_ncols=True)
        done = errors = 0
        start = last_log = time.monotonic()
        try:
            for chunk in _chunks(records, chunk_size):
                out = predict_inputs(clf, chunk, top_k=top_k, batch_size=chunk_size)
                write(b"".join(_dump(r) for r in out))
                done += len(out)
                errors += sum("error" in r for r in out)
                if bar is not None:
                    bar.update(len(out))
                elif progress and time.monotonic() - last_log >= PROGRESS_LOG_SECONDS:
                    last_log = time.monotonic()
                    logger.info("predict: %d records written (%.0f/s)", skip + done, done / (last_log - start))
        finally:
            if bar is not None:
                bar.close()
            close()
    finally:
        if is_path:
            stream.close()
    return {"records": done, "predicted": done - errors, "errors": errors, "skipped": skip}
