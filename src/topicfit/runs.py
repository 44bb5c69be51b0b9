"""Run folders: a trained run is a self-describing folder.

Layout (file names are defined here only)::

    runs/NAME/
      run.json            # written last: method, labels, classes, configs, data fingerprint, versions, git commit, timings
      metrics.json        # {"train": {...}, "validation": {...}, "test": {...}} plus the resolved configuration
      predictions.jsonl   # one line per test document
      predictions-{train,validation}.jsonl
      confusion_matrix.png, report.md, learning_curve.png (transformers)
      README.md           # a Hugging Face model card (also in model/, the folder to upload)
      model/              # the fitted classifier (safetensors + tokenizer, or a skops file)

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
from pathlib import Path

logger = logging.getLogger(__name__)

RUN_FILE = "run.json"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
CARD_FILE = "README.md"  # the Hugging Face model card
MODEL_DIR = "model"


class RunError(ValueError):
    """A run folder is missing, unfinished or not a topicfit run."""


def write_json(path: str | Path, obj) -> None:
    """Write JSON atomically: to a temporary file first, then rename over the target."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


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


def finish_run(run_dir: str | Path, run: dict) -> None:
    """Mark a run finished by writing ``run.json``; call it after everything else is saved."""
    write_json(Path(run_dir) / RUN_FILE, run)


def read_run(run_dir: str | Path) -> tuple[dict, dict]:
    """Return ``(run, metrics)`` of a finished run, or raise :class:`RunError` saying what is wrong."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run folder")
    if not (run_dir / RUN_FILE).exists():
        raise RunError(f"{run_dir} is not a finished topicfit run (no {RUN_FILE}): it was interrupted or is still "
                       "training; continue it with `topicfit train ... --resume` or train again with --overwrite")
    run = json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8"))
    metrics_path = run_dir / METRICS_FILE
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.exists() else {}
    return run, metrics


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict:
    """Machine, package versions, git commit and time: how a result was made."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("topicfit", "torch", "transformers", "accelerate", "scikit-learn", "numpy", "skops", "onnxruntime"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "versions": versions,
        "git_commit": git_commit(),
    }


def write_run(run_dir: str | Path, *, clf, splits, method: str, kind: str, config: dict, timings: dict,
              extra: dict | None = None, results: dict | None = None) -> tuple[dict, dict]:
    """Evaluate ``clf`` on every split, write metrics, predictions, plots and report, then mark the run finished.

    ``kind`` says how :class:`topicfit.predict.TopicClassifier` loads the model: ``baseline``, ``transformer``
    or ``ensemble``. Pass ``results`` when the predictions were scored already (an ensemble).
    """
    from .evaluate import evaluate_splits, render_report
    from .report import model_card

    run_dir = Path(run_dir)
    if results is None:
        results = evaluate_splits(clf, splits, run_dir)
    if "test" in results:
        timings = {**timings, "test_docs_per_second": results["test"].get("docs_per_second")}
    run = {
        "name": run_dir.name,
        "kind": kind,
        "method": method,
        "labels": splits.scheme.name,
        "label_scheme": splits.scheme.to_dict(),
        "classes": list(splits.classes),
        "data": splits.info,
        "timings": timings,
        **config,
        **environment(),
        **(extra or {}),
    }
    metrics = {**results, "config": config, "data_fingerprint": splits.info.get("fingerprint"), "timings": timings,
               "versions": run["versions"], "git_commit": run["git_commit"]}
    write_json(run_dir / METRICS_FILE, metrics)
    (run_dir / REPORT_FILE).write_text(render_report(run, metrics), encoding="utf-8")
    card = model_card(run, metrics)
    (run_dir / CARD_FILE).write_text(card, encoding="utf-8")
    if (run_dir / MODEL_DIR).is_dir():  # the folder an online user uploads to the Hub as it is
        (run_dir / MODEL_DIR / CARD_FILE).write_text(card, encoding="utf-8")
    finish_run(run_dir, run)
    logger.info("run written to %s", run_dir)
    return run, metrics
