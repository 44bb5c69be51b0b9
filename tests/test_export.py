import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from topicfit.cli import main  # noqa: E402
from topicfit.predict import TopicClassifier  # noqa: E402


@pytest.fixture(scope="module", params=["tiny_bert", "tiny_distilbert"])
def trained_run(request, tiny_archive, tmp_path_factory):
    model = request.getfixturevalue(request.param)
    run = tmp_path_factory.mktemp("export") / request.param
    assert main(["-q", "train", "--data", str(tiny_archive), "--model", str(model), "--output", str(run), "--epochs", "2",
                 "--learning-rate", "5e-3", "--batch-size", "8", "--max-length", "32", "--precision", "fp32",
                 "--validation-size", "0.25", "--no-train-eval"]) == 0
    return run


def test_onnx_and_int8_match_pytorch(trained_run):
    assert main(["-q", "export", str(trained_run), "--format", "onnx", "--int8"]) == 0
    assert (trained_run / "model" / "model.onnx").exists() and (trained_run / "model" / "model.int8.onnx").exists()
    texts = ["orbit launch nasa moon", "car engine dealer", "", "church " * 200]
    torch_p = TopicClassifier.load(trained_run, backend="torch").predict_proba(texts)  # not auto: it may pick OpenVINO bf16
    onnx_p = TopicClassifier.load(trained_run, backend="onnx").predict_proba(texts)
    int8_p = TopicClassifier.load(trained_run, backend="onnx-int8").predict_proba(texts)
    assert np.allclose(torch_p, onnx_p, atol=1e-4)
    for backend in ("torch", "onnx"):  # the batch size changes the speed, not the answers
        assert np.allclose(TopicClassifier.load(trained_run, backend=backend, batch_size=1).predict_proba(texts), torch_p, atol=1e-4)
    assert np.allclose(int8_p.sum(axis=1), 1, atol=1e-5) and np.abs(int8_p - torch_p).max() < 0.1


def test_int8_model_runs_fused_quantised_attention(trained_run):
    import json

    import onnx

    if not (trained_run / "model" / "model.int8.onnx").exists():
        assert main(["-q", "export", str(trained_run), "--int8"]) == 0
    ops = [node.op_type for node in onnx.load(str(trained_run / "model" / "model.int8.onnx")).graph.node]
    config = json.loads((trained_run / "model" / "config.json").read_text())
    layers = config.get("num_hidden_layers") or config.get("n_layers")
    assert ops.count("QAttention") == layers  # onnxruntime's fusion recognised every attention layer
    assert "MatMulInteger" in ops and "Softmax" not in ops


def test_export_refuses_baselines_and_missing_files(trained_run, tiny_archive, tmp_path, capsys):
    assert main(["-q", "baseline", "--data", str(tiny_archive), "--method", "majority", "--output", str(tmp_path / "m")]) == 0
    assert main(["export", str(tmp_path / "m")]) == 2
    assert "only runs of the kinds ['transformer'] export to ONNX" in capsys.readouterr().err


def test_mpnet_exports_with_unfused_attention_and_a_logged_reason(tiny_archive, tiny_mpnet, tmp_path, capsys):
    import onnx

    run = tmp_path / "mpnet"
    assert main(["-q", "train", "--data", str(tiny_archive), "--model", str(tiny_mpnet), "--output", str(run), "--epochs", "1",
                 "--batch-size", "8", "--max-length", "32", "--precision", "fp32", "--validation-size", "0.25", "--no-train-eval"]) == 0
    capsys.readouterr()
    assert main(["export", str(run), "--int8"]) == 0
    assert "recognised no attention layer in this mpnet graph" in capsys.readouterr().err  # main logs to stderr
    ops = [node.op_type for node in onnx.load(str(run / "model" / "model.int8.onnx")).graph.node]
    assert "QAttention" not in ops and ops.count("MatMulInteger") == 2 * 6 + 2  # 2 layers x (q, k, v, out, 2 ffn) + head
    texts = ["orbit launch nasa moon", "car engine dealer", "church " * 200]
    torch_p = TopicClassifier.load(run, backend="torch").predict_proba(texts)
    assert np.allclose(TopicClassifier.load(run, backend="onnx").predict_proba(texts), torch_p, atol=1e-4)
    assert np.abs(TopicClassifier.load(run, backend="onnx-int8").predict_proba(texts) - torch_p).max() < 0.1


def test_static_int8_calibrates_on_many_batches(trained_run, tmp_path):
    """32 calibration batches (the real 256-post case crashed onnxruntime's streaming calibrator): a valid model comes out."""
    import onnx

    from topicfit.export import quantize_static_int8

    assert main(["-q", "export", str(trained_run)]) == 0  # fp32 ONNX only
    ids = [[101] + [2000 + (i * 7 + j) % 500 for j in range(5 + i % 20)] + [102] for i in range(256)]
    out = quantize_static_int8(trained_run / "model" / "model.onnx", ids, tmp_path / "static.onnx")
    assert "QuantizeLinear" in {n.op_type for n in onnx.load(str(out)).graph.node}
