"""Embeddings of texts by a frozen encoder (mean-pooled, L2-normalised), cached on disk per text, model and
settings; the encoder runs where :mod:`topicfit.frozen` chooses (PyTorch or OpenVINO, the fastest here).

>>> X = embed_texts(["the shuttle launch slipped", "a new graphics card"], model="minilm")  # doctest: +SKIP
>>> X.shape                                                                               # doctest: +SKIP
(2, 384)
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

import numpy as np

from .encoders import encode, encode_windows, padded_batches, pool_rows, process_group, text_keys
from .frozen import TorchPooler, bare_encoder, load_pooler

logger = logging.getLogger(__name__)


def mean_pooled(tokenizer, model, texts, *, max_length: int = 256, batch_size: int = 16, precision: str = "auto", whole: bool = True,
          max_windows: int = 16, normalize: bool = True, backend: str = "torch", name: str | None = None) -> np.ndarray:
    """Mean-pooled sentence embeddings, shape (n, hidden), from a bare encoder (``load_encoder`` without a head).

    With ``whole`` every text is read in overlapping windows and the windows' embeddings are averaged, so
    nothing of a long post is cut; otherwise each text is cut to ``max_length`` (head+tail). ``backend``: where
    the encoder runs (``torch``, ``openvino``, or ``auto``: the fastest that agrees, :mod:`topicfit.frozen`;
    ``name`` is the encoder's name there, for its cache).
    """
    from .progress import progress

    texts = list(texts)
    if whole:
        ids, owner = encode_windows(tokenizer, texts, max_length=max_length, max_windows=max_windows)
    else:
        ids, owner = encode(tokenizer, texts, max_length=max_length), list(range(len(texts)))
    if backend == "torch" or not ids:
        pooler = TorchPooler(model, precision)
    else:
        pooler = load_pooler(name or model.config.name_or_path, tokenizer, model, ids, backend=backend, batch_size=batch_size,
                             precision=precision, max_length=max_length)
    out = np.zeros((len(ids), model.config.hidden_size), dtype=np.float32)
    batches = padded_batches(ids, batch_size, tokenizer.pad_token_id or 0)
    with progress(total=len(ids), desc=f"embedding ({pooler.name})", unit="window") as bar:
        for batch, input_ids, mask in batches:
            out[batch] = pooler(input_ids, mask)
            bar.update(len(batch))
    pooled = pool_rows(out, owner, len(texts))
    if normalize:
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return pooled


# --- cached embeddings ----------------------------------------------------------------------------

EMBEDDINGS_DIR = "embeddings"  # under the cache folder (weights.default_cache_dir)
_USE_CACHE = [True]  # False inside `uncached()`


@contextlib.contextmanager
def uncached():
    """Within this block :func:`embed_texts` neither reads nor writes the cache (to time what serving costs)."""
    _USE_CACHE.append(False)
    try:
        yield
    finally:
        _USE_CACHE.pop()


def _cache_folder(model: str, max_length: int, whole: bool, max_windows: int) -> Path:
    from .weights import default_cache_dir

    return default_cache_dir() / EMBEDDINGS_DIR / f"{Path(model).name}-{max_length}-{f'whole{max_windows}' if whole else 'cut'}"


def cached_fraction(texts, *, model: str = "minilm", max_length: int = 256, whole: bool = True, max_windows: int = 16) -> float:
    """The share of ``texts`` whose embeddings are in the cache already (what :func:`embed_texts` will not compute)."""
    texts = list(texts)
    folder = _cache_folder(model, max_length, whole, max_windows)
    if not texts or not folder.is_dir():
        return 0.0
    keys = set()
    for shard in folder.glob("*.npz"):
        with np.load(shard) as data:
            keys.update(data["keys"].tolist())
    return sum(k in keys for k in text_keys(texts)) / len(texts)


def _read_cache(folder: Path) -> dict[str, np.ndarray]:
    rows: dict[str, np.ndarray] = {}
    for shard in sorted(folder.glob("*.npz")):
        with np.load(shard) as data:
            rows.update(zip(data["keys"].tolist(), data["vectors"]))
    return rows


def embed_texts(texts, *, model: str = "minilm", max_length: int = 256, whole: bool = True, max_windows: int = 16,
                batch_size: int = 32, precision: str = "auto", cache: bool = True, stats: dict | None = None,
                distributed: bool = False, backend: str = "auto") -> np.ndarray:
    """Mean-pooled, L2-normalised embeddings of ``texts`` by a frozen encoder (:func:`mean_pooled`), cached on disk.

    The cache holds one vector per distinct text, per model and settings, under ``$TOPICFIT_CACHE/embeddings``:
    the same posts embedded again (another label scheme or split, another head, the topics command) cost
    nothing, and only texts not seen before reach the encoder. ``stats``, if given, is updated with
    ``embed_seconds``, ``texts_embedded`` and ``texts_from_cache``.

    With ``distributed``, under ``torchrun``/``accelerate launch`` (several processes, one or many machines), every
    process embeds its share of the distinct texts and all of them receive every vector (``all_gather_object``
    over torch.distributed); process 0 adds them to its cache. Every process must call it with the same texts.
    There the encoder runs in PyTorch (each process's GPU where it has one); alone, on ``backend`` (``auto``: the
    fastest runtime here that gives the same embeddings, :mod:`topicfit.frozen`).
    """
    texts = list(texts)
    keys = text_keys(texts)
    folder = _cache_folder(model, max_length, whole, max_windows)
    cache = cache and _USE_CACHE[-1]
    rows = _read_cache(folder) if cache and folder.is_dir() else {}
    rank, world = process_group() if distributed else (0, 1)
    if world > 1:
        return _embed_shared(texts, keys, rows, folder, rank, world, model=model, max_length=max_length, whole=whole,
                             max_windows=max_windows, batch_size=batch_size, precision=precision, cache=cache, stats=stats)
    todo = sorted({k: i for i, k in enumerate(keys) if k not in rows}.values())  # one text per distinct key
    seconds = 0.0
    if todo:
        tokenizer, encoder = bare_encoder(model)
        start = time.perf_counter()
        vectors = mean_pooled(tokenizer, encoder, [texts[i] for i in todo], max_length=max_length, batch_size=batch_size,
                        precision=precision, whole=whole, max_windows=max_windows, backend=backend, name=model)
        seconds = time.perf_counter() - start
        logger.info("embedded %d texts with %s in %.0fs (%.1f texts/s)", len(todo), model, seconds, len(todo) / max(seconds, 1e-9))
        new = {keys[i]: v for i, v in zip(todo, vectors)}
        rows.update(new)
        if cache:
            _write_shard(folder, new)
    else:
        logger.info("embeddings of %d texts from the cache %s", len(texts), folder)
    if stats is not None:
        for name, value in (("embed_seconds", seconds), ("texts_embedded", len(todo)), ("texts_from_cache", len(texts) - len(todo))):
            stats[name] = round(stats.get(name, 0) + value, 1)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([rows[k] for k in keys])


def _write_shard(folder: Path, new: dict[str, np.ndarray]) -> None:
    """Add vectors to the cache as one new file (written aside, then renamed: readers never see half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{os.getpid()}-{time.time_ns()}.npz"
    np.savez(tmp, keys=np.array(list(new)), vectors=np.stack(list(new.values())))
    os.replace(tmp, folder / f"{time.time_ns()}-{os.getpid()}.npz")


def _embed_shared(texts, keys, rows, folder, rank, world, *, model, max_length, whole, max_windows, batch_size, precision, cache, stats):
    """:func:`embed_texts` across processes: process ``rank`` takes every ``world``-th distinct text (in first-seen
    order, so the shares do not depend on what each machine has cached), embeds those it has not cached, and the
    shares are exchanged so that every process returns all vectors."""
    import torch.distributed as dist

    distinct = list(dict.fromkeys(keys))
    first = {k: i for i, k in reversed(list(enumerate(keys)))}
    mine = distinct[rank::world]
    todo = [k for k in mine if k not in rows]
    start = time.perf_counter()
    if todo:
        tokenizer, encoder = bare_encoder(model)
        vectors = mean_pooled(tokenizer, encoder, [texts[first[k]] for k in todo], max_length=max_length, batch_size=batch_size,
                        precision=precision, whole=whole, max_windows=max_windows)
        rows.update(zip(todo, vectors))
    seconds = time.perf_counter() - start
    logger.info("process %d of %d embedded %d texts with %s in %.0fs (%d of its %d from the cache)", rank, world, len(todo), model,
                seconds, len(mine) - len(todo), len(mine))
    shares: list = [None] * world
    dist.all_gather_object(shares, {k: rows[k] for k in mine})
    fresh = set(todo)  # what this process computed, and below what the others computed that it had not cached
    new = {k: v for share in shares for k, v in share.items() if k not in rows or k in fresh}
    rows.update(new)
    if cache and rank == 0 and new:
        _write_shard(folder, new)
    if stats is not None:  # this process's part
        for name, value in (("embed_seconds", seconds), ("texts_embedded", len(todo)), ("texts_from_cache", len(texts) - len(todo))):
            stats[name] = round(stats.get(name, 0) + value, 1)
    return np.stack([rows[k] for k in keys]) if texts else np.zeros((0, 0), dtype=np.float32)
