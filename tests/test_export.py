import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from topicfit.cli import main  # noqa: E402
from topicfit.predict import TopicClassifier  # noqa: E402


@pytest.fixture(scope="module")
def trained_run(tiny_archive, tiny_bert, tmp_path_factory):
    run = tmp_path_factory.mktemp("export") / "tiny"
    assert main(["-q", "train", "--data", str(tiny_archive), "--model", str(tiny_bert), "--output", str(run), "--epochs", "2",
                 "--learning-rate", "5e-3", "--batch-size", "8", "--max-length", "32", "--precision", "fp32",
                 "--validation-size", "0.25", "--no-train-eval"]) == 0
    return run


def test_onnx_and_int8_match_pytorch(trained_run):
    assert main(["-q", "export", str(trained_run), "--format", "onnx", "--int8"]) == 0
    assert (trained_run / "model" / "model.onnx").exists() and (trained_run / "model" / "model.int8.onnx").exists()
    texts = ["orbit launch nasa moon", "car engine dealer", "", "church " * 200]
    torch_p = TopicClassifier.load(trained_run).predict_proba(texts)
    onnx_p = TopicClassifier.load(trained_run, backend="onnx").predict_proba(texts)
    int8_p = TopicClassifier.load(trained_run, backend="onnx-int8").predict_proba(texts)
    assert np.allclose(torch_p, onnx_p, atol=1e-4)
    assert np.allclose(int8_p.sum(axis=1), 1, atol=1e-5) and np.abs(int8_p - torch_p).max() < 0.1


def test_export_refuses_baselines_and_missing_files(trained_run, tiny_archive, tmp_path, capsys):
    assert main(["-q", "baseline", "--data", str(tiny_archive), "--method", "majority", "--output", str(tmp_path / "m")]) == 0
    assert main(["export", str(tmp_path / "m")]) == 2
    assert "only fine-tuned transformers" in capsys.readouterr().err
