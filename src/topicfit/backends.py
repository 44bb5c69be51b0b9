"""Where a fine-tuned transformer runs at inference, and ``auto``: the fastest backend this machine has for
this run, among those that keep its accuracy.

=================  ============  ==========================================================================
backend            runtime       what runs
=================  ============  ==========================================================================
``torch``          PyTorch       the safetensors weights, in the run's precision (bf16 autocast where the
                                 CPU has bf16 instructions)
``onnx``           onnxruntime   ``model.onnx``: fp32, standard operators
``onnx-int8``      onnxruntime   ``model.int8.onnx``: fused attention, int8 weights (per channel), activations
                                 quantised on the fly
``openvino``       OpenVINO      ``model.onnx``, computed in bf16 where the CPU has bf16 instructions
                                 (avx512_bf16, AMX), else fp32
``openvino-int8``  OpenVINO      ``model.int8-static.onnx``: int8 weights (per channel) and activations
                                 calibrated on training posts; the rest in bf16 where the CPU has it
=================  ============  ==========================================================================

The ONNX files come from ``topicfit export RUN --int8``, which also scores every backend on the run's
validation split against PyTorch fp32 (``model/backends.json``). ``auto`` (the default of ``predict``,
``evaluate`` and ``serve``) keeps the backends whose files and runtime are present and whose validation
accuracy and macro-F1 are within :data:`ACCURACY_BUDGET` of fp32, times each on a few full-length batches,
and takes the fastest. The choice is cached per run and per machine (``model/backend-choice.json``, keyed by
CPU model, its bf16/int8 flags, cores and runtime versions) and logged with its reasons. Without the export
check, ``auto`` is ``torch``.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .encoders import encode_documents, padded_batches, pooled_softmax
from .errors import ConfigError, ModelError
from .kinds import Classifier
from .prior import Prior
from .runs import (PROBE_FILE, BACKEND_CHECK_FILE, has_bf16, machine_key, BACKEND_CHOICE_FILE, INT8_FILE, ONNX_FILE, STATIC_INT8_FILE, TOPICFIT_MODEL_FILE, cpu_flags,
                   cpu_name, read_json, write_json)

logger = logging.getLogger(__name__)

ACCURACY_BUDGET = 0.003  # auto keeps a backend only if it loses at most 0.3 points of accuracy and of macro-F1 to fp32
CALIBRATION_TEXTS = 16  # full-length texts timed per backend when auto chooses for a run without probe texts
PROBE_VERSION = 2  # choices cached by an older probe (synthetic texts) are made again
PROBE_SECONDS = 3.0  # auto times each backend for at least this long


@dataclass(frozen=True)
class Backend:
    """One way to run a fine-tuned transformer: the exported file it reads (``None``: the PyTorch weights),
    the package it needs, the extra that installs it, and its default batch size (texts per call)."""

    name: str
    file: str | None
    package: str
    extra: str
    batch_size: int | None


BACKEND_SPECS: dict[str, Backend] = {b.name: b for b in (
    Backend("torch", None, "torch", "", None),  # None: the run's eval_batch_size
    Backend("onnx", ONNX_FILE, "onnxruntime", "onnx", 8),
    Backend("onnx-int8", INT8_FILE, "onnxruntime", "onnx", 8),  # batches of 8: the int8 model's fastest here
    Backend("openvino", ONNX_FILE, "openvino", "openvino", 16),
    Backend("openvino-int8", STATIC_INT8_FILE, "openvino", "openvino", 16),
)}
BACKENDS = ("auto", *BACKEND_SPECS)
DEFAULT_BACKEND = "auto"  # of load_run, TopicClassifier.load and the CLI's --backend; torch for a run never exported


def _importable(package: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(package) is not None


def missing(model_dir: Path, name: str) -> str | None:
    """Why backend ``name`` cannot run ``model_dir`` here (a missing file or package), or ``None``."""
    spec = BACKEND_SPECS[name]
    if spec.file and not (model_dir / spec.file).exists():
        return f"{spec.file} is missing (topicfit export RUN --int8)"
    if not _importable(spec.package):
        return f"the {spec.package} package is missing (pip install -c constraints.txt 'topicfit[{spec.extra}]')"
    return None


# --- the exported runtimes --------------------------------------------------------------------------------


class RuntimeClassifier(Classifier):
    """A fine-tuned transformer run by an inference runtime on an exported ONNX file: the same tokenisation,
    batching (sorted by length, padded per batch, results in input order) and outputs as the PyTorch model."""

    kind = "transformer"
    backend = ""

    def __init__(self, model_dir: str | Path, *, batch_size: int | None = None, long_documents: str | None = None,
                 max_length: int | None = None):
        from transformers import AutoTokenizer

        model_dir = Path(model_dir)
        spec = BACKEND_SPECS[self.backend]
        problem = missing(model_dir, self.backend)
        if problem:
            raise ModelError(f"backend {self.backend!r} cannot run {model_dir}: {problem}")
        meta = read_json(model_dir / TOPICFIT_MODEL_FILE)  # tokenisation settings and classes; no PyTorch weights
        self.config, self.classes_ = meta["config"], np.array(meta["classes"])
        self.max_length = max_length or self.config["max_length"]
        self.long_documents = long_documents or self.config.get("long_documents", "cut")
        self.tokenizer_ = AutoTokenizer.from_pretrained(model_dir)
        self.batch_size = batch_size or spec.batch_size
        self.timings_ = {}
        self.prior_ = Prior.load(model_dir)  # a bag-of-words prior added to the logits, as in PyTorch
        self.open(model_dir / spec.file)

    def open(self, path: Path) -> None:
        raise NotImplementedError

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict_proba(self, X) -> np.ndarray:
        X = list(X)
        ids, owner = encode_documents(self.tokenizer_, X, max_length=self.max_length, truncation=self.config["truncation"],
                                      long_documents=self.long_documents)
        logits = np.zeros((len(ids), len(self.classes_)), dtype=np.float32)
        for batch, input_ids, mask in padded_batches(ids, self.batch_size, self.tokenizer_.pad_token_id or 0):
            logits[batch] = self.logits(input_ids, mask)
        return pooled_softmax(logits, owner, len(X), offset=None if self.prior_ is None else self.prior_.logits(X, self.classes_))


class OnnxClassifier(RuntimeClassifier):
    """onnxruntime on ``model.onnx`` (``onnx``) or ``model.int8.onnx`` (``onnx-int8``)."""

    backend = "onnx"

    def __init__(self, model_dir: str | Path, *, int8: bool = False, **options):
        self.backend = "onnx-int8" if int8 else "onnx"
        super().__init__(model_dir, **options)

    def open(self, path: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def logits(self, input_ids, attention_mask):
        return self.session.run(["logits"], {"input_ids": input_ids, "attention_mask": attention_mask})[0]


class OpenVinoClassifier(RuntimeClassifier):
    """OpenVINO on ``model.onnx`` (``openvino``) or the statically quantised ``model.int8-static.onnx``
    (``openvino-int8``), computing in bf16 where the CPU has bf16 instructions."""

    backend = "openvino"

    def __init__(self, model_dir: str | Path, *, int8: bool = False, **options):
        self.backend = "openvino-int8" if int8 else "openvino"
        super().__init__(model_dir, **options)

    def open(self, path: Path) -> None:
        import openvino as ov

        self.precision_ = "bf16" if has_bf16() else "f32"
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": self.precision_}
        self.compiled = ov.Core().compile_model(str(path), "CPU", config)
        self.output = self.compiled.output(0)

    def logits(self, input_ids, attention_mask):
        request = self.compiled.create_infer_request()  # one per call: requests are not shared between threads
        return request.infer({"input_ids": input_ids, "attention_mask": attention_mask})[self.output]


RUNTIMES: dict[str, Callable[..., RuntimeClassifier]] = {
    "onnx": OnnxClassifier,
    "onnx-int8": lambda d, **o: OnnxClassifier(d, int8=True, **o),
    "openvino": OpenVinoClassifier,
    "openvino-int8": lambda d, **o: OpenVinoClassifier(d, int8=True, **o),
}


# --- auto --------------------------------------------------------------------------------------------------


def allowed_backends(model_dir: Path) -> tuple[list[str], dict[str, str]]:
    """The backends ``auto`` may choose for ``model_dir``, and why each other one is left out."""
    check = read_json(model_dir / BACKEND_CHECK_FILE) if (model_dir / BACKEND_CHECK_FILE).exists() else None
    allowed, excluded = ["torch"], {}
    for name in list(BACKEND_SPECS)[1:]:
        problem = missing(model_dir, name)
        scores = (check or {}).get("backends", {}).get(name)
        if problem:
            excluded[name] = problem
        elif check is None:
            excluded[name] = f"no accuracy check ({BACKEND_CHECK_FILE}; topicfit export RUN --int8 writes it)"
        elif scores is None:
            excluded[name] = f"not in the accuracy check {BACKEND_CHECK_FILE}"
        elif not scores.get("within_budget"):
            excluded[name] = (f"validation accuracy {scores['accuracy']:.4f} / macro-F1 {scores['macro_f1']:.4f} against fp32 "
                              f"{check['reference']['accuracy']:.4f} / {check['reference']['macro_f1']:.4f}: over the "
                              f"{100 * ACCURACY_BUDGET:.1f}-point budget")
        else:
            allowed.append(name)
    return allowed, excluded


def calibration_texts(max_length: int) -> list[str]:
    """Texts of at least ``max_length`` tokens, for a run exported before it kept probe texts (``probe-texts.json``)."""
    return ["the satellite reached orbit after launch and the engine of the car needs a new part " * (max_length // 12 + 1)] * CALIBRATION_TEXTS


def probe_texts(model_dir: Path, max_length: int) -> tuple[list[str], str]:
    """What ``auto`` times: the run's own validation posts saved at export (their real length mix), else
    synthetic full-length texts; and which it was."""
    path = Path(model_dir) / PROBE_FILE
    if path.exists():
        texts = read_json(path)["texts"]
        return texts, f"{len(texts)} validation posts"
    return calibration_texts(max_length), f"{CALIBRATION_TEXTS} synthetic full-length texts"


def docs_per_second(clf, texts: list[str], repeats: int = 2, min_seconds: float = PROBE_SECONDS) -> float:
    """Best of at least ``repeats`` timed passes over ``texts`` (more until ``min_seconds`` have been timed, at
    most 10), after one warm-up batch: stable enough to rank backends whose speeds differ by 10%."""
    clf.predict_proba(texts[:4])
    best, timed, passes = float("inf"), 0.0, 0
    while passes < repeats or (timed < min_seconds and passes < 10):
        start = time.perf_counter()
        clf.predict_proba(texts)
        seconds = time.perf_counter() - start
        best, timed, passes = min(best, seconds), timed + seconds, passes + 1
    return len(texts) / best


def choose_backend(model_dir: str | Path, load: Callable[[str], Classifier], *, max_length: int) -> str:
    """The backend ``auto`` stands for on this machine: see the module's docstring.

    Args:
        model_dir: the run's ``model/`` folder.
        load: ``load(name)`` -> a classifier on backend ``name`` (the caller's loader, with its options).
        max_length: tokens per text in the timed batches (the run's).
    """
    model_dir = Path(model_dir)
    allowed, excluded = allowed_backends(model_dir)
    if len(allowed) == 1:  # before any cache or machine look-up: the common case of a run never exported
        logger.info("backend auto: torch, the only backend allowed here (%s)", "; ".join(f"not {n}: {w}" for n, w in excluded.items()))
        return "torch"
    key = machine_key()
    check_file = model_dir / BACKEND_CHECK_FILE
    stamp = check_file.stat().st_mtime_ns if check_file.exists() else None
    choice_file = model_dir / BACKEND_CHOICE_FILE
    cached = read_json(choice_file).get(key) if choice_file.exists() else None
    if cached and cached.get("check_stamp") == stamp and cached.get("probe") == PROBE_VERSION and cached.get("allowed") == allowed and cached.get("max_length") == max_length:
        logger.info("backend auto: %s (chosen on this machine before: %s)", cached["backend"], cached["reason"])
        return cached["backend"]
    for name, why in excluded.items():
        logger.info("backend auto: not %s: %s", name, why)
    texts, what = probe_texts(model_dir, max_length)
    speeds = {name: round(docs_per_second(load(name), texts), 1) for name in allowed}
    chosen = max(speeds, key=speeds.get)
    reason = (f"fastest of {', '.join(f'{n} {s:.0f}' for n, s in sorted(speeds.items(), key=lambda kv: -kv[1]))} texts/s "
              f"on {what} at up to {max_length} tokens, each at its own batch size; within {100 * ACCURACY_BUDGET:.1f} points of fp32 on validation")
    logger.info("backend auto: %s (%s)", chosen, reason)
    entry = {"backend": chosen, "reason": reason, "docs_per_second": speeds, "allowed": allowed, "excluded": excluded,
             "max_length": max_length, "check_stamp": stamp, "probe": PROBE_VERSION, "date": time.strftime("%Y-%m-%d")}
    try:
        write_json(choice_file, {**(read_json(choice_file) if choice_file.exists() else {}), key: entry})
    except OSError as exc:  # a read-only run folder: choose again next time
        logger.warning("backend auto: cannot cache the choice in %s (%s)", choice_file, exc.strerror)
    return chosen


def load_backend(model_dir: str | Path, backend: str, load_torch: Callable[..., Classifier], **options) -> Classifier:
    """A classifier on ``backend`` (``auto`` resolved by :func:`choose_backend`); ``load_torch(**options)`` loads
    the PyTorch one. ``options``: ``batch_size``, ``long_documents``, ``max_length``."""
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        meta = read_json(Path(model_dir) / TOPICFIT_MODEL_FILE)
        backend = choose_backend(model_dir, lambda name: load_backend(model_dir, name, load_torch, **options),
                                 max_length=options.get("max_length") or meta["config"]["max_length"])
    if backend == "torch":
        return load_torch(**options)
    return RUNTIMES[backend](model_dir, **options)
