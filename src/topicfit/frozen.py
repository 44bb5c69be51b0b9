"""Where a frozen encoder runs (the ``embed`` kind, topics, a teacher's encoders): PyTorch or OpenVINO, chosen by
speed on this machine among those that give the same embeddings.

``auto`` times each runtime on a sample of the very windows it is about to embed (their real length mix, at the
caller's batch size), after a first pass that meets every shape, and keeps the fastest whose embeddings agree
with PyTorch fp32 (cosine similarity at least :data:`MIN_COSINE` on every window of a check batch). The choice
and each runtime's seconds per token are cached per encoder, window length and machine
(``$TOPICFIT_CACHE/encoders/choice.json``), so the probe runs once; the OpenVINO model, converted from the
PyTorch weights with ``openvino.convert_model``, is cached beside it. :func:`seconds_per_window` (the cached
speed times a corpus' own window length) is what ``topicfit fit`` plans with.

>>> pooler = load_pooler("minilm", sample_ids, batch_size=32)   # doctest: +SKIP
>>> pooler(input_ids, attention_mask).shape                       # doctest: +SKIP
(32, 384)
"""

from __future__ import annotations

import functools
import logging
import os
import time
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .runs import has_bf16, machine_key, read_json, write_json

logger = logging.getLogger(__name__)

ENCODER_BACKENDS = ("auto", "torch", "openvino")
MIN_COSINE = 0.999  # a runtime is kept only if each probe window's embedding is this close to PyTorch fp32's
PROBE_WINDOWS = 96  # windows timed per runtime (after a first pass over the same batches)
CHOICE_FILE = "choice.json"


@functools.lru_cache(maxsize=2)
def bare_encoder(model: str):
    """A bare encoder and its tokenizer, loaded once per process (on this process's GPU when there is one)."""
    import torch

    from .encoders import load_encoder, resolve_model

    tokenizer, encoder = load_encoder(resolve_model(model))
    if torch.cuda.is_available():
        encoder.to(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
    return tokenizer, encoder


def _pooled(hidden, mask):
    """Mean of the token states that are not padding: (batch, tokens, hidden) -> (batch, hidden)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1)


class TorchPooler:
    """The PyTorch encoder, mean-pooled, in ``precision`` (auto: bf16 where the CPU has it)."""

    name = "torch"

    def __init__(self, encoder, precision: str = "auto"):
        from .encoders import choose_precision

        self.encoder, self.precision = encoder, choose_precision(precision)
        self.hidden_size = encoder.config.hidden_size

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        from .encoders import autocast

        device = next(self.encoder.parameters()).device
        self.encoder.eval()
        with torch.inference_mode(), autocast(device.type, self.precision):
            mask = torch.from_numpy(attention_mask).to(device)
            hidden = self.encoder(input_ids=torch.from_numpy(input_ids).to(device), attention_mask=mask).last_hidden_state.float()
            return _pooled(hidden, mask.float()).cpu().numpy()


class OpenVinoPooler:
    """The same encoder converted to OpenVINO (pooling inside the graph), in bf16 where the CPU has it."""

    name = "openvino"

    def __init__(self, model_xml: Path, hidden_size: int):
        import openvino as ov

        self.precision = "bf16" if has_bf16() else "f32"
        self.compiled = ov.Core().compile_model(str(model_xml), "CPU", {"PERFORMANCE_HINT": "LATENCY",
                                                                        "INFERENCE_PRECISION_HINT": self.precision})
        self.hidden_size = hidden_size

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        request = self.compiled.create_infer_request()  # one per call: requests are not shared between threads
        return np.asarray(request.infer({"input_ids": input_ids, "attention_mask": attention_mask})[0], dtype=np.float32)


def _folder() -> Path:
    from .weights import default_cache_dir

    return default_cache_dir() / "encoders"


def _openvino_xml(model: str, encoder) -> Path:
    """The encoder as an OpenVINO model with pooling inside, converted once and cached (``encoders/<name>-ov<version>``)."""
    import openvino as ov
    import torch

    folder = _folder() / f"{Path(model).name}-openvino-{ov.__version__.split('-')[0]}"
    xml = folder / "encoder.xml"
    if xml.exists():
        return xml

    class Pooled(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return _pooled(self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state, attention_mask)

    start = time.perf_counter()
    example = {"input_ids": torch.ones(2, 16, dtype=torch.long), "attention_mask": torch.ones(2, 16, dtype=torch.long)}
    with torch.no_grad():
        converted = ov.convert_model(Pooled(encoder.float().eval()), example_input=example,
                                     input=[("input_ids", [-1, -1], ov.Type.i64), ("attention_mask", [-1, -1], ov.Type.i64)])
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".tmp-{time.time_ns()}"
    ov.save_model(converted, str(tmp / "encoder.xml"))
    (tmp / "encoder.xml").replace(xml.with_suffix(".xml.part"))
    (tmp / "encoder.bin").replace(folder / "encoder.bin")
    xml.with_suffix(".xml.part").replace(xml)  # the .xml last: its presence means the pair is complete
    tmp.rmdir()
    logger.info("converted %s to OpenVINO in %.0fs (%s)", model, time.perf_counter() - start, folder)
    return xml


def _probe_batches(sample_ids: list[list[int]], batch_size: int, pad_id: int):
    from .encoders import padded_batches

    return [(ids, mask) for _, ids, mask in padded_batches(sample_ids, batch_size, pad_id)]


def _timed_pass(pooler, batches) -> float:
    """Seconds for one pass over ``batches``, after a first pass that meets every shape once (kernel set-up,
    OpenVINO's compilation per shape), so what is timed is what a long embedding run costs per batch."""
    for ids, mask in batches:
        pooler(ids, mask)
    start = time.perf_counter()
    for ids, mask in batches:
        pooler(ids, mask)
    return time.perf_counter() - start


def _choose(model: str, tokenizer, encoder, sample_ids, batch_size: int, precision: str, key: str) -> dict:
    """Time each runtime on a sample of ``sample_ids`` and check it against PyTorch fp32; the cached entry for ``key``.

    Speeds are kept per token (``seconds_per_token``), so a corpus of other lengths estimates its own cost."""
    import importlib.util

    rng = np.random.default_rng(0)
    sample = [sample_ids[i] for i in sorted(rng.choice(len(sample_ids), min(PROBE_WINDOWS, len(sample_ids)), replace=False))]
    batches = _probe_batches(sample, batch_size, tokenizer.pad_token_id or 0)
    tokens = sum(len(ids) for ids in sample)
    check = batches[len(batches) // 2]  # one batch of middle length checks the embeddings against fp32
    reference = _normalised(TorchPooler(encoder, "fp32")(*check))
    candidates = {"torch": lambda: TorchPooler(encoder, precision)}
    if importlib.util.find_spec("openvino") is not None:
        candidates["openvino"] = lambda: OpenVinoPooler(_openvino_xml(model, encoder), encoder.config.hidden_size)
    entry = {"seconds_per_token": {}, "min_cosine": {}, "excluded": {}, "probe_windows": len(sample), "probe_tokens": tokens,
             "batch_size": batch_size, "date": time.strftime("%Y-%m-%d")}
    for name, make in candidates.items():
        try:
            pooler = make()
        except Exception as exc:  # a runtime that cannot convert or compile this encoder is left out, with why
            entry["excluded"][name] = f"{type(exc).__name__}: {exc}"[:300]
            continue
        cosine = float((_normalised(pooler(*check)) * reference).sum(1).min())
        entry["min_cosine"][name] = round(cosine, 6)
        if cosine < MIN_COSINE:
            entry["excluded"][name] = f"embeddings differ from PyTorch fp32 (min cosine {cosine:.4f} < {MIN_COSINE})"
            continue
        entry["seconds_per_token"][name] = _timed_pass(pooler, batches) / max(tokens, 1)
    entry["backend"] = min(entry["seconds_per_token"], key=entry["seconds_per_token"].get)
    per_window = tokens / max(len(sample), 1)
    speeds = ", ".join(f"{n} {1 / (s * per_window):.1f}" for n, s in sorted(entry["seconds_per_token"].items(), key=lambda kv: kv[1]))
    logger.info("encoder %s: %s (windows/s on %d probe windows of %.0f tokens: %s; excluded: %s)", model, entry["backend"], len(sample),
                per_window, speeds, entry["excluded"] or "none")
    return entry


def _normalised(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def choice(model: str, tokenizer, encoder, sample_ids, *, batch_size: int = 32, precision: str = "auto", max_length: int = 256) -> dict:
    """The cached runtime choice for this encoder, window length and machine (probed now if there is none)."""
    key = f"{Path(model).name} | {max_length} tokens | batch {batch_size} | {precision} | {machine_key()} | probe 2"
    path = _folder() / CHOICE_FILE
    cached = read_json(path) if path.exists() else {}
    if key in cached:
        return cached[key]
    entry = _choose(model, tokenizer, encoder, sample_ids, batch_size, precision, key)
    try:
        write_json(path, {**(read_json(path) if path.exists() else {}), key: entry})
    except OSError as exc:
        logger.warning("cannot cache the encoder choice in %s (%s)", path, exc.strerror)
    return entry


@functools.lru_cache(maxsize=4)
def _openvino_pooler(model: str, xml: str, hidden_size: int) -> OpenVinoPooler:
    return OpenVinoPooler(Path(xml), hidden_size)


def load_pooler(model: str, tokenizer, encoder, sample_ids, *, backend: str = "auto", batch_size: int = 32, precision: str = "auto",
                max_length: int = 256):
    """The mean-pooling runtime for ``encoder``: ``torch``, ``openvino``, or ``auto`` (the fastest that agrees, see above)."""
    if backend not in ENCODER_BACKENDS:
        raise ConfigError(f"encoder backend must be one of {ENCODER_BACKENDS}, got {backend!r}")
    if backend == "auto" and next(encoder.parameters()).device.type != "cpu":
        backend = "torch"  # a GPU: OpenVINO here runs on the CPU
    if backend == "auto":
        backend = choice(model, tokenizer, encoder, sample_ids, batch_size=batch_size, precision=precision, max_length=max_length)["backend"]
    if backend == "openvino":
        return _openvino_pooler(model, str(_openvino_xml(model, encoder)), encoder.config.hidden_size)
    return TorchPooler(encoder, precision)


def seconds_per_window(model: str, sample_texts, *, max_length: int = 256, whole: bool = True, max_windows: int = 16,
                       batch_size: int = 32, precision: str = "auto") -> tuple[float, float, str]:
    """What embedding costs here: ``(seconds per window, windows per text, backend)`` for a sample of the texts to embed
    (the cached speed per token of the chosen runtime, times this sample's own window length)."""
    from .encoders import encode, encode_windows

    tokenizer, encoder = bare_encoder(model)
    texts = list(sample_texts)
    if whole:
        ids, _ = encode_windows(tokenizer, texts, max_length=max_length, max_windows=max_windows)
    else:
        ids = encode(tokenizer, texts, max_length=max_length)
    entry = choice(model, tokenizer, encoder, ids, batch_size=batch_size, precision=precision, max_length=max_length)
    if next(encoder.parameters()).device.type != "cpu":
        entry = {**entry, "backend": "torch"}
    per_window = sum(len(i) for i in ids) / max(len(ids), 1)  # this corpus' own window length
    return entry["seconds_per_token"][entry["backend"]] * per_window, len(ids) / max(len(texts), 1), entry["backend"]
