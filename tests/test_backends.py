"""Backends: every runtime gives PyTorch's answers, `export` scores them on validation, and `auto` keeps only the
backends within the accuracy budget, takes the fastest, caches its choice per machine and logs why."""

import json
import logging
import shutil

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from topicfit import backends, export  # noqa: E402
from topicfit.backends import ACCURACY_BUDGET, BACKEND_SPECS, choose_backend  # noqa: E402
from topicfit.cli import main  # noqa: E402
from topicfit.errors import ConfigError, ModelError  # noqa: E402
from topicfit.predict import TopicClassifier  # noqa: E402
from topicfit.runs import BACKEND_CHECK_FILE, BACKEND_CHOICE_FILE  # noqa: E402

TEXTS = ["orbit launch nasa moon", "car engine dealer", "", "church " * 200]


@pytest.fixture(scope="module")
def exported(tiny_archive, tiny_bert, tmp_path_factory):
    run = tmp_path_factory.mktemp("backends") / "bert"
    assert main(["-q", "train", "--data", str(tiny_archive), "--model", str(tiny_bert), "--output", str(run), "--epochs", "2",
                 "--learning-rate", "5e-3", "--batch-size", "8", "--max-length", "32", "--precision", "fp32",
                 "--validation-size", "0.25", "--no-train-eval"]) == 0
    assert main(["-q", "export", str(run), "--int8"]) == 0
    return run


@pytest.fixture()
def run(exported, tmp_path):
    """A private copy, so that a test's choice file or edited check does not leak into the next test."""
    return shutil.copytree(exported, tmp_path / "run")


def test_export_scores_every_backend_against_fp32(exported):
    check = json.loads((exported / "model" / BACKEND_CHECK_FILE).read_text())
    assert check["split"] == "validation" and check["n"] > 0 and check["budget"] == ACCURACY_BUDGET
    expected = {name for name in BACKEND_SPECS if backends.missing(exported / "model", name) is None}
    assert set(check["backends"]) == expected and {"torch", "onnx", "onnx-int8"} <= expected
    ref = check["reference"]
    for name, scores in check["backends"].items():
        within = scores["accuracy"] >= ref["accuracy"] - ACCURACY_BUDGET - 1e-9 and scores["macro_f1"] >= ref["macro_f1"] - ACCURACY_BUDGET - 1e-9
        assert scores["within_budget"] == within, name
    assert check["backends"]["onnx"]["agreement"] == 1.0  # fp32 ONNX is PyTorch fp32


def test_every_backend_gives_pytorchs_answers(exported):
    torch_p = TopicClassifier.load(exported, backend="torch").predict_proba(TEXTS)
    for name in BACKEND_SPECS:
        if backends.missing(exported / "model", name):
            continue
        p = TopicClassifier.load(exported, backend=name).predict_proba(TEXTS)
        assert p.shape == torch_p.shape and np.allclose(p.sum(axis=1), 1, atol=1e-5)
        exact = name in ("onnx",) or (name == "openvino" and not backends.has_bf16())
        assert np.abs(p - torch_p).max() < (1e-4 if exact else 0.1), name


def test_openvino_runs_the_static_int8_model(exported):
    pytest.importorskip("openvino")
    import onnx

    ops = [node.op_type for node in onnx.load(str(exported / "model" / "model.int8-static.onnx")).graph.node]
    assert ops.count("QuantizeLinear") > 0 and "DequantizeLinear" in ops
    clf = TopicClassifier.load(exported, backend="openvino-int8")
    assert clf.predict(["orbit launch nasa"])[0] in clf.classes_


def test_auto_without_an_export_check_is_torch(run, caplog):
    (run / "model" / BACKEND_CHECK_FILE).unlink()
    with caplog.at_level(logging.INFO, logger="topicfit.backends"):
        clf = TopicClassifier.load(run)
    assert type(clf.estimator).__name__ == "TransformerClassifier"
    assert "no accuracy check" in caplog.text and not (run / "model" / BACKEND_CHOICE_FILE).exists()


def test_auto_takes_the_fastest_within_budget_and_caches_it(run, monkeypatch, caplog):
    model = run / "model"
    check = json.loads((model / BACKEND_CHECK_FILE).read_text())
    for scores in check["backends"].values():
        scores.update(accuracy=check["reference"]["accuracy"], macro_f1=check["reference"]["macro_f1"], within_budget=True)
    check["backends"]["onnx-int8"].update(accuracy=check["reference"]["accuracy"] - 0.01, within_budget=False)  # too lossy
    (model / BACKEND_CHECK_FILE).write_text(json.dumps(check))
    speeds = {"torch": 10.0, "onnx": 20.0, "onnx-int8": 99.0, "openvino": 30.0, "openvino-int8": 25.0}
    timed = []

    probe = json.loads((model / backends.PROBE_FILE).read_text())["texts"]
    assert len(probe) == min(export.PROBE_POSTS, check["n"]) and probe[0] != probe[1]  # real validation posts saved at export

    def fake_speed(clf, texts, repeats=2):
        timed.append(clf.backend if hasattr(clf, "backend") else "torch")
        assert texts == probe  # timed on the run's own posts (their length mix), not synthetic full-length texts
        return speeds[timed[-1]]

    monkeypatch.setattr(backends, "docs_per_second", fake_speed)
    with caplog.at_level(logging.INFO, logger="topicfit.backends"):
        clf = TopicClassifier.load(run)
    best = "openvino" if "openvino" in check["backends"] else "onnx"  # onnx-int8 is fastest but over the budget
    assert getattr(clf.estimator, "backend", "torch") == best
    assert "onnx-int8" not in timed and "over the 0.3-point budget" in caplog.text and f"backend auto: {best} (fastest" in caplog.text
    cached = next(iter(json.loads((model / BACKEND_CHOICE_FILE).read_text()).values()))
    assert cached["backend"] == best and "onnx-int8" in cached["excluded"]
    timed.clear()
    TopicClassifier.load(run)  # the same machine: the cached choice, nothing timed again
    assert timed == []
    assert TopicClassifier.load(run, backend="torch").estimator.__class__.__name__ == "TransformerClassifier"  # explicit wins
    assert timed == []
    check["backends"]["onnx-int8"].update(accuracy=check["reference"]["accuracy"], within_budget=True)
    (model / BACKEND_CHECK_FILE).write_text(json.dumps(check))  # a new check: choose again
    assert getattr(TopicClassifier.load(run).estimator, "backend", "torch") == "onnx-int8" and timed


def test_auto_on_a_read_only_run_still_chooses(run, monkeypatch):
    monkeypatch.setattr(backends, "write_json", lambda *a, **k: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
    monkeypatch.setattr(backends, "docs_per_second", lambda clf, texts, repeats=2: 1.0)
    assert choose_backend(run / "model", lambda name: TopicClassifier.load(run, backend=name).estimator, max_length=32) in BACKEND_SPECS


def test_missing_runtime_or_file_names_the_fix(run, monkeypatch):
    (run / "model" / "model.int8.onnx").unlink()
    with pytest.raises(ModelError, match=r"model.int8.onnx is missing \(topicfit export RUN --int8\)"):
        TopicClassifier.load(run, backend="onnx-int8")
    monkeypatch.setattr(backends, "_importable", lambda package: package != "openvino")
    with pytest.raises(ModelError, match=r"pip install -c constraints.txt 'topicfit\[openvino\]'"):
        TopicClassifier.load(run, backend="openvino")
    with pytest.raises(ConfigError, match="backend must be one of"):
        TopicClassifier.load(run, backend="tensorrt")


def test_max_length_override_reaches_every_backend(exported):
    text = [" ".join(f"orbit car church disk word{i % 37}" for i in range(100))]  # far over 64 tokens
    p32 = TopicClassifier.load(exported, backend="torch").predict_proba(text)  # the run's 32 tokens
    p64 = {name: TopicClassifier.load(exported, backend=name, max_length=64).predict_proba(text) for name in ("torch", "onnx")}
    gap = np.abs(p64["torch"] - p32).max()  # the tiny random model is nearly uniform: differences are small
    assert gap > 1e-6 and np.abs(p64["torch"] - p64["onnx"]).max() < gap / 10
