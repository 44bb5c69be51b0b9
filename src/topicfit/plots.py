"""Figures (matplotlib, Agg backend): a run's confusion matrix and learning curve, and the comparison report's
charts. Figures are returned as PNG bytes or written to a path; nothing else in topicfit imports matplotlib.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png(fig) -> bytes:
    """A figure as PNG bytes (the figure is closed)."""
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def plot_confusion_matrix(counts, classes, path: str | Path, title: str = "") -> None:
    """Counts and row-normalised rates side by side, labels readable for 20 classes."""
    plt = _pyplot()
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
                ax.text(j, i, format(values[i, j], fmt), ha="center", va="center", fontsize=6 if n > 10 else 9,
                        color="white" if values[i, j] > threshold else "black")
        fig.colorbar(im, ax=ax, shrink=0.7)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_learning_curve(history: list[dict], path: str | Path) -> None:
    """Training loss, validation loss and validation macro-F1 per epoch, from the Trainer's log history."""
    plt = _pyplot()
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


def scores_figure(names: list[str], accuracy: list[float], macro_f1: list[float]) -> bytes:
    """Test accuracy and macro-F1 of several runs, side by side."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(names) + 2), 4.5), constrained_layout=True)
    x = np.arange(len(names))
    ax.bar(x - 0.2, accuracy, 0.4, label="accuracy")
    ax.bar(x + 0.2, macro_f1, 0.4, label="macro-F1")
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_title("test split")
    ax.legend()
    return png(fig)


def per_class_figure(names: list[str], classes: list[str], grid: np.ndarray) -> bytes:
    """Per-class test F1, one row per run (``grid`` is runs x classes, NaN where a run lacks a class)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(classes) + 3), 0.5 * len(names) + 2.5), constrained_layout=True)
    im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(classes)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7, color="white" if grid[i, j] < 0.6 else "black")
    fig.colorbar(im, ax=ax, shrink=0.8, label="test F1")
    return png(fig)


def reliability_figure(curves: dict[str, tuple[float, list[dict]]]) -> bytes:
    """Reliability diagram: ``{run name: (ece, bins)}`` with bins from ``metrics.expected_calibration_error``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5.5), constrained_layout=True)
    ax.plot([0, 1], [0, 1], "k:", label="perfect calibration")
    for name, (ece, bins) in curves.items():
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-", label=f"{name} (ECE {ece:.3f})")
    ax.set_xlabel("confidence (top-label probability)")
    ax.set_ylabel("accuracy")
    ax.set_title("reliability diagram, test split")
    ax.legend(fontsize=8)
    return png(fig)
