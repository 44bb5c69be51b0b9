import math

import numpy as np
import pytest

from topicfit.metrics import (compute_metrics, confusion_counts, expected_calibration_error, metrics_table, per_class_metrics,
                              split_metrics)


def test_metrics_are_flat_and_correct():
    refs, preds = ["a", "a", "b", "c"], ["a", "b", "b", "c"]
    m = compute_metrics(references=refs, predictions=preds, classes=["a", "b", "c"])
    assert m["accuracy"] == 0.75 and m["n"] == 4 and m["loss"] is None
    # per-class F1: a 2/3, b 2/3, c 1 -> macro 7/9; weighted (2*2/3 + 2/3 + 1)/4 = 0.75
    assert m["macro_f1"] == pytest.approx(7 / 9)
    assert m["weighted_f1"] == pytest.approx(0.75)


def test_macro_and_weighted_f1_differ_on_imbalanced_classes():
    # a: 4 of 4 right (F1 = 8/9 since one b is called a), b: 0 of 1 (F1 0) -> macro 4/9, weighted (4*8/9)/5
    m = compute_metrics(references=["a"] * 4 + ["b"], predictions=["a"] * 5, classes=["a", "b"])
    assert m["macro_f1"] == pytest.approx(4 / 9) and m["weighted_f1"] == pytest.approx(32 / 45)


def test_loss_of_uniform_probabilities_is_log_k():
    proba = np.full((4, 7), 1 / 7)
    m = compute_metrics(references=list("abcd"), predictions=list("aaaa"), classes=list("abcdefg"), probabilities=proba)
    assert m["loss"] == pytest.approx(math.log(7))


def test_loss_uses_the_true_class_column():
    proba = np.array([[0.8, 0.2], [0.4, 0.6]])
    m = compute_metrics(references=["a", "b"], predictions=["a", "b"], classes=["a", "b"], probabilities=proba)
    assert m["loss"] == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)


def test_per_class_and_confusion():
    refs, preds = ["a", "a", "b"], ["a", "b", "b"]
    pc = per_class_metrics(references=refs, predictions=preds, classes=["a", "b"])
    assert pc["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert confusion_counts(references=refs, predictions=preds, classes=["a", "b"]) == [[1, 1], [0, 1]]


def test_split_metrics_adds_speed():
    m = split_metrics(references=["a", "b"], predictions=["a", "a"], classes=["a", "b"], seconds=0.5)
    assert m["docs_per_second"] == 4.0 and m["confusion_matrix"] == [[1, 0], [1, 0]] and m["per_class"]["b"]["recall"] == 0.0


def test_ece_is_zero_when_confidence_matches_accuracy_and_large_when_overconfident():
    ece, bins = expected_calibration_error([0.75] * 4, [1, 1, 1, 0])
    assert ece == pytest.approx(0.0) and bins[0]["n"] == 4
    assert expected_calibration_error([1.0, 1.0], [0, 0])[0] == pytest.approx(1.0)
    # two bins: 0.9 confident and right half the time (gap 0.4), 0.3 confident and never right (gap 0.3)
    assert expected_calibration_error([0.9, 0.9, 0.3, 0.3], [1, 0, 0, 0])[0] == pytest.approx(0.35)


def test_metrics_table_has_one_row_per_split_present():
    row = {"n": 2, "accuracy": 0.5, "macro_f1": 0.25, "weighted_f1": 0.5, "loss": None}
    lines = metrics_table({"validation": row, "test": {**row, "loss": 1.23456}})
    assert lines[0] == "| split | n | accuracy | macro-F1 | weighted-F1 | loss |"
    assert lines[2:] == ["| validation | 2 | 0.5000 | 0.2500 | 0.5000 | n/a |", "| test | 2 | 0.5000 | 0.2500 | 0.5000 | 1.2346 |"]


def test_metrics_never_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, topicfit.metrics; print('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
