"""Evaluation shared by every classifier: metrics, confusion matrices, predictions and reports.

Metrics are plain scikit-learn, returned as flat dicts with keyword-only arguments:

>>> compute_metrics(references=["a", "b"], predictions=["a", "a"], classes=["a", "b"])["accuracy"]
0.5
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from .data import Splits

logger = logging.getLogger(__name__)

PREDICTIONS_FILE = "predictions.jsonl"  # the test split: the contract users rely on
SPLIT_PREDICTIONS_FILE = "predictions-{split}.jsonl"  # train and validation, for ensembles and analysis
CONFUSION_FILE = "confusion_matrix.png"
LEARNING_CURVE_FILE = "learning_curve.png"


def compute_metrics(*, references, predictions, classes, probabilities=None) -> dict:
    """Accuracy, macro-F1, weighted-F1 and (given probabilities) cross-entropy loss.

    Args:
        references (list[str]): true labels.
        predictions (list[str]): predicted labels.
        classes (list[str]): all class names, in the column order of ``probabilities``.
        probabilities (array (n, n_classes) | None): predicted class probabilities.
    """
    from sklearn.metrics import accuracy_score, f1_score, log_loss

    labels = list(classes)
    out = {
        "accuracy": float(accuracy_score(references, predictions)),
        "macro_f1": float(f1_score(references, predictions, labels=labels, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(references, predictions, labels=labels, average="weighted", zero_division=0)),
        "loss": None,
        "n": len(references),
    }
    if probabilities is not None and len(references):
        index = {c: i for i, c in enumerate(labels)}
        y = [index[r] for r in references]
        proba = np.asarray(probabilities, dtype=np.float64)
        proba = proba / proba.sum(axis=1, keepdims=True)  # float32 softmax and 6-digit files sum to 1 only within ~1e-6
        out["loss"] = float(log_loss(y, proba, labels=list(range(len(labels)))))
    return out


def per_class_metrics(*, references, predictions, classes) -> dict:
    """``{class: {"precision", "recall", "f1", "support"}}``."""
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(references, predictions, labels=list(classes), zero_division=0)
    return {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])} for i, c in enumerate(classes)}


def confusion_counts(*, references, predictions, classes) -> list[list[int]]:
    """Rows are true classes, columns predicted classes, both in ``classes`` order."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(references, predictions, labels=list(classes)).tolist()


def plot_confusion_matrix(counts, classes, path: str | Path, title: str = "") -> None:
    """Counts and row-normalised rates side by side, labels readable for 20 classes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(counts)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    n = len(classes)
    size = max(6.0, 0.45 * n + 3)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size, size), constrained_layout=True)
    for ax, values, name, fmt in ((axes[0], counts, "counts", "d"), (axes[1], rates, "row-normalised (recall)", ".2f")):
        im = ax.imshow(values, cmap="Blues")
        ax.set_xticks(range(n), classes, rotation=60, ha="right", fontsize=8 if n > 10 else 10)
        ax.set_yticks(range(n), classes, fontsize=8 if n > 10 else 10)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{title} {name}".strip())
        threshold = values.max() / 2 if values.size else 0
        for i in range(n):
            for j in range(n):
                text = format(values[i, j], fmt)
                ax.text(j, i, text, ha="center", va="center", fontsize=6 if n > 10 else 9,
                        color="white" if values[i, j] > threshold else "black")
        fig.colorbar(im, ax=ax, shrink=0.7)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_learning_curve(history: list[dict], path: str | Path) -> None:
    """Training loss, validation loss and validation macro-F1 per epoch, from the Trainer's log history."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(h["epoch"], h["loss"]) for h in history if "loss" in h and "epoch" in h]
    evals = [h for h in history if "eval_loss" in h]
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    if train:
        ax.plot(*zip(*train), label="training loss", alpha=0.8)
    if evals:
        ax.plot([h["epoch"] for h in evals], [h["eval_loss"] for h in evals], "o-", label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy loss")
    if evals and "eval_macro_f1" in evals[0]:
        ax2 = ax.twinx()
        ax2.plot([h["epoch"] for h in evals], [h["eval_macro_f1"] for h in evals], "s--", color="tab:green", label="validation macro-F1")
        ax2.set_ylabel("macro-F1")
        ax2.set_ylim(0, 1)
        ax2.legend(loc="center right")
    ax.legend(loc="upper right")
    ax.set_title("learning curve")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def predictions_path(run_dir: str | Path, split: str) -> Path:
    """Where a run keeps its predictions for one split."""
    return Path(run_dir) / (PREDICTIONS_FILE if split == "test" else SPLIT_PREDICTIONS_FILE.format(split=split))


def write_predictions(path: str | Path, *, ids, references, probabilities, classes, predictions=None) -> None:
    """One JSON line per document: ``{"id", "label", "prediction", "probabilities": {class: p}}``.

    ``probabilities`` may be ``None`` (a method without them); then ``predictions`` must be given.
    """
    with open(path, "w", encoding="utf-8") as f:
        for i, doc_id in enumerate(ids):
            record = {"id": doc_id, "label": references[i]}
            if probabilities is not None:
                row = probabilities[i]
                record["prediction"] = predictions[i] if predictions is not None else classes[int(np.argmax(row))]
                record["probabilities"] = {c: round(float(p), 6) for c, p in zip(classes, row)}
            else:
                record["prediction"] = predictions[i]
                record["probabilities"] = None
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_predictions(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def predict_split(clf, texts) -> tuple[list[str], np.ndarray | None, float]:
    """Predicted labels, probabilities (``None`` if the classifier has none) and seconds taken.

    scikit-learn estimators predict with their own ``predict`` (uniform random guessing is not the argmax
    of uniform probabilities); other classifiers predict the most probable class.
    """
    from sklearn.base import BaseEstimator

    start = time.perf_counter()
    proba = np.asarray(clf.predict_proba(texts)) if hasattr(clf, "predict_proba") else None
    if proba is None or isinstance(clf, BaseEstimator):
        preds = [str(p) for p in clf.predict(texts)]
    else:
        classes = list(clf.classes_)
        preds = [classes[i] for i in proba.argmax(axis=1)] if len(texts) else []
    return preds, proba, time.perf_counter() - start


def score_split(name: str, docs, *, predictions, probabilities, classes, run_dir=None, seconds: float | None = None) -> dict:
    """Metrics for one split from predictions already made; with ``run_dir``, write its predictions file."""
    m = compute_metrics(references=docs.labels, predictions=predictions, classes=classes, probabilities=probabilities)
    m["per_class"] = per_class_metrics(references=docs.labels, predictions=predictions, classes=classes)
    m["confusion_matrix"] = confusion_counts(references=docs.labels, predictions=predictions, classes=classes)
    if seconds is not None:
        m["predict_seconds"] = round(seconds, 3)
        m["docs_per_second"] = round(len(docs) / seconds, 1) if seconds > 0 else None
    logger.info("%s: accuracy %.4f, macro-F1 %.4f, weighted-F1 %.4f, loss %s", name, m["accuracy"], m["macro_f1"],
                m["weighted_f1"], "n/a" if m["loss"] is None else f"{m['loss']:.4f}")
    if run_dir is not None:
        write_predictions(predictions_path(run_dir, name), ids=docs.ids, references=docs.labels, probabilities=probabilities, classes=classes, predictions=predictions)
        if name == "test":
            plot_confusion_matrix(m["confusion_matrix"], classes, Path(run_dir) / CONFUSION_FILE, title="test")
    return m


def evaluate_splits(clf, splits: Splits, run_dir: str | Path | None = None, *, split_names=("train", "validation", "test")) -> dict:
    """Evaluate a fitted classifier on each split; with ``run_dir``, write predictions and the confusion matrix.

    Returns ``{split: {accuracy, macro_f1, weighted_f1, loss, n, per_class, confusion_matrix, predict_seconds,
    docs_per_second}}``.
    """
    classes = list(splits.classes)
    if list(clf.classes_) != classes:
        raise ValueError(f"classifier classes {list(clf.classes_)} differ from the data's {classes}")
    results = {}
    for name, docs in splits.items():
        if name not in split_names or len(docs) == 0:
            continue
        logger.info("evaluating on %s (%d documents)", name, len(docs))
        preds, proba, seconds = predict_split(clf, docs.texts)
        results[name] = score_split(name, docs, predictions=preds, probabilities=proba, classes=classes, run_dir=run_dir, seconds=seconds)
    return results


def _fmt(x, digits=4) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def render_report(run: dict, metrics: dict) -> str:
    """A human-readable ``report.md`` for one run."""
    lines = [f"# topicfit run: {run.get('name', '')}", ""]
    lines += [f"- method: `{run['method']}`", f"- labels: `{run['labels']}` ({len(run['classes'])} classes)",
              f"- data: `{run['data_config']['dataset']}`, fingerprint `{run['data']['fingerprint']}`",
              f"- created: {run['created']} on {run['machine']['cpu']} ({run['machine']['cores']} cores)",
              f"- git commit: `{run.get('git_commit')}`",
              f"- training time: {_fmt(run['timings'].get('train_seconds'), 1)} s", ""]
    if run["data_config"].get("keep_headers"):
        lines += ["> **Warning:** trained with message headers kept; they leak the label (the `Newsgroups:` line).", ""]
    lines += ["## Metrics", "", "| split | n | accuracy | macro-F1 | weighted-F1 | loss |", "|---|---:|---:|---:|---:|---:|"]
    for split in ("train", "validation", "test"):
        if split in metrics:
            m = metrics[split]
            lines.append(f"| {split} | {m['n']} | {_fmt(m['accuracy'])} | {_fmt(m['macro_f1'])} | {_fmt(m['weighted_f1'])} | {_fmt(m['loss'])} |")
    if "test" in metrics:
        lines += ["", "## Per class (test)", "", "| class | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
        for c, m in metrics["test"]["per_class"].items():
            lines.append(f"| {c} | {_fmt(m['precision'], 3)} | {_fmt(m['recall'], 3)} | {_fmt(m['f1'], 3)} | {m['support']} |")
        lines += ["", f"![confusion matrix]({CONFUSION_FILE})"]
    if run.get("history"):
        lines += ["", f"![learning curve]({LEARNING_CURVE_FILE})"]
    info = run["data"]
    lines += ["", "## Data", "", f"- documents: {info.get('n')}",
              f"- empty after cleaning (kept unless --drop-empty-train): {info.get('empty_after_cleaning')}; "
              f"blank (white space only included): {info.get('blank_after_cleaning')}", ""]
    return "\n".join(lines)


COMPARE_COLUMNS = ("run", "method", "labels", "accuracy", "macro-F1", "weighted-F1", "loss", "train s", "test docs/s")


def compare_table(runs: list[tuple[str, dict, dict]], split: str = "test") -> str:
    """A Markdown table of finished runs ``[(path, run, metrics)]`` on one split, best accuracy first."""
    rows = []
    for path, run, metrics in runs:
        m = metrics.get(split)
        if m is None:
            continue
        rows.append((m["accuracy"], [path, run["method"], run["labels"], _fmt(m["accuracy"]), _fmt(m["macro_f1"]), _fmt(m["weighted_f1"]),
                                      _fmt(m["loss"]), _fmt(run["timings"].get("train_seconds"), 1), _fmt(m.get("docs_per_second"), 1)]))
    rows.sort(key=lambda r: -r[0])
    out = ["| " + " | ".join(COMPARE_COLUMNS) + " |", "|" + "---|" * 3 + "---:|" * (len(COMPARE_COLUMNS) - 3)]
    out += ["| " + " | ".join(r) + " |" for _, r in rows]
    return "\n".join(out)
