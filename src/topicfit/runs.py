"""Run folders: a trained run is a self-describing folder. This module is a leaf: the layout, every file
name, and atomic reads and writes; it imports nothing else from topicfit but the errors.

Layout (file names are defined here only)::

    runs/NAME/
      run.json            # written last: kind, method, labels, classes, configs, data fingerprint, versions, git commit, timings
      metrics.json        # {"train": {...}, "validation": {...}, "test": {...}} plus the resolved configuration
      predictions.jsonl   # one line per test document
      predictions-{train,validation}.jsonl
      confusion_matrix.png, report.md, learning_curve.png (when the kind keeps a training history)
      README.md           # a Hugging Face model card (also in model/, the folder to upload)
      model/              # the fitted model, written by its kind's save()
      checkpoints/        # scratch space while training (resume); removed when the run is finished

``run.json`` is written atomically and last, so a folder without it is unfinished (interrupted or still
training) and no command mistakes it for a finished run.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from .errors import RunError

logger = logging.getLogger(__name__)

# --- every file name of a run folder ---------------------------------------------------------------
RUN_FILE = "run.json"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
CARD_FILE = "README.md"  # the Hugging Face model card
MODEL_DIR = "model"
CHECKPOINTS_DIR = "checkpoints"
PREDICTIONS_FILE = "predictions.jsonl"  # the test split: the contract users rely on
SPLIT_PREDICTIONS_FILE = "predictions-{split}.jsonl"  # train and validation, for ensembles and analysis
CONFUSION_FILE = "confusion_matrix.png"
LEARNING_CURVE_FILE = "learning_curve.png"
# inside model/
BASELINE_FILE = "pipeline.skops"  # a scikit-learn pipeline (skops: no code runs on load)
TOPICFIT_MODEL_FILE = "topicfit_model.json"  # a transformer's tokenisation settings and classes, beside its weights
STACKER_FILE = "stacker.skops"  # an ensemble's learned combiner (logistic regression on the members' log-probabilities)
ENSEMBLE_FILE = "ensemble.json"  # an ensemble's members (paths relative to the run folder) and weights
ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"  # onnxruntime: fused attention, dynamic int8
STATIC_INT8_FILE = "model.int8-static.onnx"  # OpenVINO: static int8 (QDQ), calibrated on training posts
BACKEND_CHECK_FILE = "backends.json"  # export's validation scores of every backend against PyTorch fp32
BACKEND_CHOICE_FILE = "backend-choice.json"  # what `--backend auto` chose, per machine
PROBE_FILE = "probe-texts.json"  # validation posts (their real length mix) that `--backend auto` times each backend on
PRIOR_DIR = "prior"  # a transformer's bag-of-words prior (topicfit.prior): the baseline's pipeline.skops and prior.json
PRIOR_FILE = "prior.json"  # the prior's method, temperature and baseline settings
# a topics run (topicfit topics)
ASSIGNMENTS_FILE = "assignments.jsonl"  # one line per document, input order: id, topic, probability, outlier
TOPICS_FILE = "topics.json"  # one entry per topic: id, size, words, label, representative_ids
TOPICS_REPORT_FILE = "report.html"  # self-contained: map, top words, sizes, topics x labels
DOCUMENTS_FILE = "documents.jsonl.gz"  # ids and texts, so that rename_topics can write labelled.jsonl on its own
LABELLED_FILE = "labelled.jsonl"  # written by rename_topics: id, text, label (a dataset for `topicfit train`)
# inside its model/
CENTROIDS_FILE = "centroids.npy"  # (n_topics, dim) float32: the topics in the embedding space
TOPIC_MODEL_FILE = "topic_model.json"  # settings, thresholds, labels, words, sizes
VOCABULARY_FILE = "vocabulary.json"  # the count vectorizer's terms in column order
# a tuning folder
STUDY_FILE = "study.db"
TUNE_FILE = "tune.json"
BEST_PARAMS_FILE = "best_params.json"
TRIALS_FILE = "trials.csv"
BEST_DIR = "best"

SPLITS = ("train", "validation", "test")

__all__ = ["RunError"]


# --- atomic I/O ----------------------------------------------------------------------------------


def write_text(path: str | Path, text: str) -> None:
    """Write text atomically: to a temporary file first, then rename over the target."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(path: str | Path, obj) -> None:
    """Write JSON atomically (see :func:`write_text`)."""
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: str | Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


# --- the run lifecycle ---------------------------------------------------------------------------


def start_run(output: str | Path, *, overwrite: bool = False, resume: bool = False) -> Path:
    """Create (or reopen, with ``resume``) a run folder; refuse to clobber a finished run unless ``overwrite``."""
    run_dir = Path(output)
    if run_dir.exists() and any(run_dir.iterdir()):
        finished = (run_dir / RUN_FILE).exists()
        if resume:
            if finished:
                raise RunError(f"{run_dir} is a finished run; nothing to resume (use --overwrite to train again)")
            return run_dir
        if not overwrite:
            state = "a finished run" if finished else "an unfinished run"
            raise RunError(f"{run_dir} already holds {state}; pass --overwrite to replace it" + ("" if finished else " or --resume to continue it"))
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def wait_for_folder(path: str | Path, timeout: float = 120.0) -> Path:
    """Other processes of a distributed run wait until process 0 has (re)created the run folder."""
    path = Path(path)
    deadline = time.monotonic() + timeout
    while not path.is_dir() or (path / RUN_FILE).exists():
        if time.monotonic() > deadline:
            raise RunError(f"{path} was not prepared by process 0 within {timeout:.0f}s")
        time.sleep(0.5)
    return path


def finish_run(run_dir: str | Path, run: dict) -> None:
    """Mark a run finished by writing ``run.json``; call it after everything else is saved."""
    run_dir = Path(run_dir)
    shutil.rmtree(run_dir / CHECKPOINTS_DIR, ignore_errors=True)  # the final model is under model/
    write_json(run_dir / RUN_FILE, run)


def read_run(run_dir: str | Path) -> tuple[dict, dict]:
    """Return ``(run, metrics)`` of a finished run, or raise :class:`RunError` saying what is wrong."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run folder")
    if not (run_dir / RUN_FILE).exists():
        raise RunError(f"{run_dir} is not a finished topicfit run (no {RUN_FILE}): it was interrupted or is still "
                       "training; continue it with `topicfit train ... --resume` or train again with --overwrite")
    run = read_json(run_dir / RUN_FILE)
    metrics_path = run_dir / METRICS_FILE
    metrics = read_json(metrics_path) if metrics_path.exists() else {}
    return run, metrics


# --- predictions files ---------------------------------------------------------------------------


def predictions_path(run_dir: str | Path, split: str) -> Path:
    """Where a run keeps its predictions for one split."""
    return Path(run_dir) / (PREDICTIONS_FILE if split == "test" else SPLIT_PREDICTIONS_FILE.format(split=split))


def write_predictions(path: str | Path, *, ids, references, predictions, probabilities, classes) -> None:
    """One JSON line per document: ``{"id", "label", "prediction", "probabilities": {class: p} | null}``."""
    lines = []
    for i, doc_id in enumerate(ids):
        probs = None if probabilities is None else {c: round(float(p), 6) for c, p in zip(classes, probabilities[i])}
        lines.append(json.dumps({"id": doc_id, "label": references[i], "prediction": predictions[i], "probabilities": probs}, ensure_ascii=False))
    write_text(path, "".join(line + "\n" for line in lines))


def read_predictions(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def saved_rows(run_dir: str | Path, split: str, classes: list[str]) -> dict[str, np.ndarray | None]:
    """A run's saved probabilities for one split by document id, columns in ``classes`` order (``None`` for a
    method without probabilities)."""
    path = predictions_path(run_dir, split)
    if not path.exists():
        raise RunError(f"{path} is missing: the run was not evaluated on {split}")
    return {r["id"]: None if r.get("probabilities") is None else np.array([r["probabilities"][c] for c in classes], dtype=np.float64)
            for r in read_predictions(path)}


def saved_probabilities(run_dir: str | Path, split: str, ids: list[str], classes: list[str]) -> np.ndarray:
    """A run's saved probabilities for one split, rows in ``ids`` order, columns in ``classes`` order."""
    by_id = saved_rows(run_dir, split, classes)
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise RunError(f"{predictions_path(run_dir, split)} lacks {len(missing)} documents (e.g. {missing[0]}): the runs used different data")
    if ids and by_id[ids[0]] is None:
        raise RunError(f"{run_dir} has no probabilities (a method without predict_proba)")
    return np.array([by_id[i] for i in ids], dtype=np.float64).reshape(len(ids), len(classes))


# --- how a result was made -----------------------------------------------------------------------


def git_commit(cwd: str | Path | None = None) -> str | None:
    """The full hash of the checked-out commit, or ``None`` outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--verify", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=cwd or Path(__file__).parent)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags(wanted: tuple[str, ...] = ("avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "avx_vnni")) -> list[str]:
    """The CPU instruction-set flags that decide fast inference paths (bf16, int8), as /proc/cpuinfo lists them."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return [f for f in wanted if f in flags]


BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def has_bf16() -> bool:
    """Whether this CPU has bf16 instructions (AVX-512 BF16 or AMX)."""
    return any(flag in cpu_flags() for flag in BF16_FLAGS)


def machine_key() -> str:
    """What decides which runtime is fastest: the CPU, its bf16/int8 flags, the cores and the runtimes' versions."""
    from importlib.metadata import PackageNotFoundError, version

    versions = []
    for pkg in ("torch", "onnxruntime", "openvino"):
        try:
            versions.append(f"{pkg}=={version(pkg)}")
        except PackageNotFoundError:
            pass
    return " | ".join([cpu_name(), ",".join(cpu_flags()) or "no bf16/int8 flags", f"{os.cpu_count()} cores", *versions])


def environment() -> dict:
    """Machine, package versions, git commit and time: how a result was made."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("topicfit", "torch", "transformers", "accelerate", "scikit-learn", "numpy", "skops", "onnxruntime", "openvino"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_name(), "cpu_flags": cpu_flags(), "cores": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "versions": versions,
        "git_commit": git_commit(),
    }
