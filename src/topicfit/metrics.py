"""Metrics shared by every model kind: plain scikit-learn, flat dicts, keyword-only arguments, no plotting.

>>> compute_metrics(references=["a", "b"], predictions=["a", "a"], classes=["a", "b"])["accuracy"]
0.5
"""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)

TABLE_HEADER = ("split", "n", "accuracy", "macro-F1", "weighted-F1", "loss")


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


def macro_f1_of(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """Macro-F1 of class indices over the classes that occur in ``y`` or ``pred`` (as scikit-learn's ``f1_score``
    averages), without scikit-learn's checks: fast enough for a bootstrap's thousand resamples."""
    cm = np.bincount(y * n_classes + pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    tp = np.diag(cm)
    denominator = cm.sum(axis=0) + cm.sum(axis=1)  # 2 tp + fp + fn
    present = denominator > 0
    return float(np.mean(2 * tp[present] / denominator[present]))


def per_class_metrics(*, references, predictions, classes) -> dict:
    """``{class: {"precision", "recall", "f1", "support"}}``."""
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(references, predictions, labels=list(classes), zero_division=0)
    return {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])} for i, c in enumerate(classes)}


def confusion_counts(*, references, predictions, classes) -> list[list[int]]:
    """Rows are true classes, columns predicted classes, both in ``classes`` order."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(references, predictions, labels=list(classes)).tolist()


def split_metrics(*, references, predictions, classes, probabilities=None, seconds: float | None = None) -> dict:
    """Everything a run records for one split: :func:`compute_metrics`, per-class scores, the confusion matrix
    and, given ``seconds``, the prediction speed."""
    m = compute_metrics(references=references, predictions=predictions, classes=classes, probabilities=probabilities)
    m["per_class"] = per_class_metrics(references=references, predictions=predictions, classes=classes)
    m["confusion_matrix"] = confusion_counts(references=references, predictions=predictions, classes=classes)
    if seconds is not None:
        m["predict_seconds"] = round(seconds, 3)
        m["docs_per_second"] = round(len(references) / seconds, 1) if seconds > 0 else None
    return m


def expected_calibration_error(confidence, correct, *, bins: int = 15) -> tuple[float, list[dict]]:
    """Top-label ECE: the support-weighted gap between confidence and accuracy over equal-width confidence bins.

    Returns the ECE and the bins (``lower``, ``upper``, ``confidence``, ``accuracy``, ``n``) for a reliability diagram.
    """
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    rows, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (confidence > lo) & (confidence <= hi) if lo > 0 else (confidence >= lo) & (confidence <= hi)
        if mask.any():
            conf, acc = float(confidence[mask].mean()), float(correct[mask].mean())
            ece += mask.mean() * abs(conf - acc)
            rows.append({"lower": float(lo), "upper": float(hi), "confidence": conf, "accuracy": acc, "n": int(mask.sum())})
    return float(ece), rows


def fmt(x, digits: int = 4) -> str:
    """A number for a table: fixed digits, ``n/a`` for ``None``."""
    return "n/a" if x is None else f"{x:.{digits}f}"


def metrics_table(metrics: dict, splits=("train", "validation", "test")) -> list[str]:
    """The Markdown table of a run's scores, one row per split present in ``metrics``: the one table every
    report, model card and command summary shows."""
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "|---|" + "---:|" * (len(TABLE_HEADER) - 1)]
    for split in splits:
        m = metrics.get(split)
        if m:
            lines.append(f"| {split} | {m['n']} | {fmt(m['accuracy'])} | {fmt(m['macro_f1'])} | {fmt(m['weighted_f1'])} | {fmt(m.get('loss'))} |")
    return lines
