import math

import numpy as np
import pytest

from topicfit.evaluate import (compare_table, compute_metrics, confusion_counts, per_class_metrics, plot_confusion_matrix,
                               plot_learning_curve, read_predictions, write_predictions)


def test_metrics_are_flat_and_correct():
    refs, preds = ["a", "a", "b", "c"], ["a", "b", "b", "c"]
    m = compute_metrics(references=refs, predictions=preds, classes=["a", "b", "c"])
    assert m["accuracy"] == 0.75 and m["n"] == 4 and m["loss"] is None
    # per-class F1: a 2/3, b 2/3, c 1 -> macro 7/9; weighted (2*2/3 + 2/3 + 1)/4 = 0.75
    assert m["macro_f1"] == pytest.approx(7 / 9)
    assert m["weighted_f1"] == pytest.approx(0.75)


def test_loss_of_uniform_probabilities_is_log_k():
    proba = np.full((4, 7), 1 / 7)
    m = compute_metrics(references=list("abcd"), predictions=list("aaaa"), classes=list("abcdefg"), probabilities=proba)
    assert m["loss"] == pytest.approx(math.log(7))


def test_per_class_and_confusion():
    refs, preds = ["a", "a", "b"], ["a", "b", "b"]
    pc = per_class_metrics(references=refs, predictions=preds, classes=["a", "b"])
    assert pc["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert confusion_counts(references=refs, predictions=preds, classes=["a", "b"]) == [[1, 1], [0, 1]]


def test_plots_and_predictions_file(tmp_path):
    classes = [f"class.{i}" for i in range(20)]
    counts = np.random.default_rng(0).integers(0, 50, (20, 20))
    plot_confusion_matrix(counts, classes, tmp_path / "cm.png")
    plot_learning_curve([{"epoch": 0.5, "loss": 1.0}, {"epoch": 1.0, "eval_loss": 0.8, "eval_macro_f1": 0.6}], tmp_path / "lc.png")
    assert (tmp_path / "cm.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "lc.png").stat().st_size > 1000
    proba = np.array([[0.2, 0.8], [0.9, 0.1]])
    write_predictions(tmp_path / "p.jsonl", ids=["x", "y"], references=["b", "b"], probabilities=proba, classes=["a", "b"])
    rows = read_predictions(tmp_path / "p.jsonl")
    assert rows[0] == {"id": "x", "label": "b", "prediction": "b", "probabilities": {"a": 0.2, "b": 0.8}}
    assert rows[1]["prediction"] == "a"


def test_compare_table_sorts_by_accuracy():
    def run(method, acc):
        return (f"runs/{method}", {"method": method, "labels": "coarse", "timings": {"train_seconds": 1.0}},
                {"test": {"accuracy": acc, "macro_f1": acc, "weighted_f1": acc, "loss": None, "docs_per_second": 10.0}})

    table = compare_table([run("slow", 0.5), run("good", 0.9)])
    lines = table.splitlines()
    assert lines[0].startswith("| run | method") and "good" in lines[2] and "slow" in lines[3]
    assert "n/a" in lines[2]
