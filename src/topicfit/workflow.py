"""One workflow for every kind of model: start the run → load the splits → fit → save → evaluate every
split → render → write ``run.json`` last.

>>> from topicfit.kinds.baseline import BaselineClassifier, BaselineConfig       # doctest: +SKIP
>>> fit_run(BaselineClassifier(BaselineConfig("tfidf-svm")), DataConfig(), "runs/svm")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from .data import DataConfig, Splits, load_splits, sample_documents
from .errors import ModelError
from .kinds import Classifier
from .metrics import split_metrics
from .plots import plot_confusion_matrix, plot_learning_curve
from .render import model_card, render_report
from .runs import (CARD_FILE, CONFUSION_FILE, LEARNING_CURVE_FILE, METRICS_FILE, MODEL_DIR, REPORT_FILE, SPLITS, environment,
                   finish_run, predictions_path, start_run, wait_for_folder, write_json, write_predictions, write_text)

logger = logging.getLogger(__name__)

TRAIN_EVAL_SAMPLES = 2000  # training posts a slow kind scores after fitting (over-fitting shows on a sample; all of them cost minutes)


def predict_documents(model: Classifier, texts) -> tuple[list[str], np.ndarray | None, float]:
    """Predicted labels, probabilities (``None`` for a kind without them) and the seconds it took."""
    start = time.perf_counter()
    labels, proba = model.predict_labels(list(texts))
    return labels, proba, time.perf_counter() - start


def evaluate(model: Classifier, splits: Splits, run_dir: str | Path | None = None, *, split_names=SPLITS,
             train_sample: int | None = None, seed: int = 42) -> dict:
    """Score a fitted model on each named split; with ``run_dir``, write its predictions files.

    ``train_sample`` scores a stratified sample of that many training posts instead of all of them (the training
    score only shows over-fitting; on 2 CPU cores a transformer spends minutes on it).

    Returns ``{split: {accuracy, macro_f1, weighted_f1, loss, n, per_class, confusion_matrix, predict_seconds,
    docs_per_second}}``.
    """
    classes = list(splits.classes)
    if [str(c) for c in model.classes_] != classes:
        raise ModelError(f"the model's classes {list(model.classes_)} differ from the data's {classes}")
    results = {}
    for name, docs in splits.items():
        if name not in split_names or len(docs) == 0:
            continue
        if name == "train":
            docs = sample_documents(docs, train_sample, seed, "train evaluation")
        logger.info("evaluating on %s (%d documents)", name, len(docs))
        labels, proba, seconds = predict_documents(model, docs.texts)
        results[name] = m = split_metrics(references=docs.labels, predictions=labels, probabilities=proba, classes=classes, seconds=seconds)
        logger.info("%s: accuracy %.4f, macro-F1 %.4f, weighted-F1 %.4f, loss %s", name, m["accuracy"], m["macro_f1"], m["weighted_f1"],
                    "n/a" if m["loss"] is None else f"{m['loss']:.4f}")
        if run_dir is not None:
            write_predictions(predictions_path(run_dir, name), ids=docs.ids, references=docs.labels, predictions=labels,
                              probabilities=proba, classes=classes)
    return results


def fit_run(model: Classifier, data_config: DataConfig, output: str | Path, *, splits: Splits | None = None, overwrite: bool = False,
            resume: bool = False, split_names=SPLITS, train_sample: int | None = TRAIN_EVAL_SAMPLES, process_index: int = 0,
            fit_options: dict | None = None) -> tuple[Path, dict, dict] | None:
    """Fit ``model`` and write a finished run folder at ``output``; returns ``(run_dir, run, metrics)``.

    Args:
        splits (Splits | None): already loaded data (they must come from ``data_config``); loaded here if ``None``.
        split_names: the splits to evaluate (``--no-train-eval`` leaves out ``train``).
        train_sample (int | None, default TRAIN_EVAL_SAMPLES): for a kind slow to score (``sample_train_eval``: the
            transformer), score a stratified sample of this many training posts, not all of them; ``None`` or 0: all.
            Other kinds score every training post: it is cheap, and ensembles and teachers reuse those scores.
        process_index (int): under torchrun/accelerate every process fits; only process 0 (the others return
            ``None``) saves, evaluates and writes the folder.
        fit_options (dict | None): extra keyword arguments for the kind's ``fit`` (e.g. Trainer callbacks).
    """
    # 1. the run folder: process 0 creates it (or reopens it to resume); the others wait for it
    run_dir = start_run(output, overwrite=overwrite, resume=resume) if process_index == 0 else wait_for_folder(output)
    # 2. the data
    splits = splits if splits is not None else load_splits(data_config)
    # 3. fit, with the run folder as the kind's scratch space (checkpoints for --resume)
    logger.info("fitting %s (%s) -> %s", model.kind, model.method, run_dir)
    start = time.perf_counter()
    model.fit(splits.train.texts, splits.train.labels, X_val=splits.validation.texts, y_val=splits.validation.labels,
              classes=splits.classes, workdir=run_dir, resume=resume, **(fit_options or {}))
    train_seconds = time.perf_counter() - start
    if process_index != 0:
        return None  # the model is the same on every process
    # 4. save
    model.save(run_dir / MODEL_DIR)
    # 5. evaluate every split
    sample = (train_sample or None) if getattr(model, "sample_train_eval", False) else None
    results = evaluate(model, splits, run_dir, split_names=[s for s in split_names if s in model.splits], train_sample=sample,
                       seed=data_config.seed)
    # 6. render
    timings = {"train_seconds": round(train_seconds, 1), "test_docs_per_second": results.get("test", {}).get("docs_per_second"),
               **model.timings_}
    config = {"data_config": data_config.to_dict(), "model_config": model.config.to_dict()}
    env = environment()
    run = {"name": run_dir.name, "kind": model.kind, "method": model.method, "labels": splits.scheme.name,
           "label_scheme": splits.scheme.to_dict(), "classes": list(splits.classes), "data": splits.info, "timings": timings,
           **config, **env, **model.run_info()}
    metrics = {**results, "config": config, "data_fingerprint": splits.info.get("fingerprint"), "timings": timings,
               "versions": env["versions"], "git_commit": env["git_commit"]}
    if "test" in results:
        plot_confusion_matrix(results["test"]["confusion_matrix"], list(splits.classes), run_dir / CONFUSION_FILE, title="test")
    if run.get("history"):
        plot_learning_curve(run["history"], run_dir / LEARNING_CURVE_FILE)
    card = model_card(run, metrics, library=model.library, base_model=model.base_model)
    # 7. metrics, report, card, and run.json last: the run is finished
    write_run(run_dir, run, metrics, report=render_report(run, metrics), card=card)
    logger.info("run written to %s", run_dir)
    return run_dir, run, metrics


def write_run(run_dir: str | Path, run: dict, metrics: dict, *, report: str | None = None, card: str | None = None,
              report_file: str = REPORT_FILE) -> None:
    """The one writer of a finished run folder, for every kind and for topics runs: ``metrics.json``, the report,
    the model card (``README.md``, also in ``model/``: the folder an online user uploads to the Hub as it is),
    then ``run.json`` last."""
    run_dir = Path(run_dir)
    write_json(run_dir / METRICS_FILE, metrics)
    if report is not None:
        write_text(run_dir / report_file, report)
    if card is not None:
        write_text(run_dir / CARD_FILE, card)
        write_text(run_dir / MODEL_DIR / CARD_FILE, card)
    finish_run(run_dir, run)
