"""Export a fine-tuned run for fast CPU inference, and check every backend's accuracy.

    topicfit export runs/coarse-minilm --int8

writes beside the PyTorch weights, with torch's own exporter and the runtimes' own tools:

- ``model/model.onnx``: fp32, standard ONNX operators (backends ``onnx`` and ``openvino``);
- with ``--int8``, ``model/model.int8.onnx``: onnxruntime's transformer fusions (attention, GELU, layer norm),
  then dynamic quantisation with int8 weights per output channel (``onnx-int8``; onnxruntime only);
- with ``--int8``, ``model/model.int8-static.onnx``: the fp32 graph with every weight MatMul statically
  quantised (QDQ; int8 weights per channel, activations' ranges calibrated on training posts), which OpenVINO
  runs on its int8 kernels (``openvino-int8``);
- ``model/backends.json``: every backend that can run here scored on (a sample of) the run's validation split
  against PyTorch fp32: accuracy, macro-F1, agreement. ``--backend auto`` uses only the backends within
  :data:`topicfit.backends.ACCURACY_BUDGET` of fp32 (see :mod:`topicfit.backends`).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import numpy as np

from .backends import ACCURACY_BUDGET, BACKEND_SPECS, missing
from .data import DataConfig, Documents, load_splits, sample_documents
from .encoders import encode
from .errors import TopicfitError
from .metrics import compute_metrics
from .runs import BACKEND_CHECK_FILE, INT8_FILE, PROBE_FILE, MODEL_DIR, ONNX_FILE, STATIC_INT8_FILE, TOPICFIT_MODEL_FILE, cpu_flags, cpu_name, read_json, read_run, write_json

logger = logging.getLogger(__name__)

CALIBRATION_POSTS = 128  # training posts whose activations set the static int8 ranges (onnxruntime keeps every batch's in memory:
# its CalibMaxIntermediateOutputs, meant to stream, drops the collected batches without computing their ranges in 1.32)
PROBE_POSTS = 64  # validation posts kept in model/probe-texts.json: what `--backend auto` times each backend on (their real lengths)
CHECK_POSTS = 1000  # validation posts each backend is scored on


def export_run(run_dir: str | Path, export, load, *, int8: bool = False, check_posts: int = CHECK_POSTS) -> list[Path]:
    """Export a run (its kind's ``export``) and score every backend (:func:`check_backends`, with the kind's
    ``load``). The run's data gives the calibration posts (training split) and the check (validation split); when
    it cannot be read, the files are still written, without the static int8 model and the check."""
    run_dir = Path(run_dir)
    run, _ = read_run(run_dir)
    try:
        splits = load_splits(DataConfig.from_dict(run["data_config"]))
    except TopicfitError as exc:
        logger.warning("cannot read the run's data (%s): no static int8 model and no accuracy check, so `--backend auto` "
                       "stays on torch", exc)
        splits = None
    calibration = sample_documents(splits.train, CALIBRATION_POSTS, seed=0).texts if splits and int8 else None
    written = export(run_dir / MODEL_DIR, int8=int8, calibration_texts=calibration)
    if splits and len(splits.validation):
        probe = run_dir / MODEL_DIR / PROBE_FILE
        write_json(probe, {"split": "validation", "texts": sample_documents(splits.validation, PROBE_POSTS, seed=1).texts})
        written.append(probe)
    if splits and check_posts:
        written.append(check_backends(run_dir / MODEL_DIR, sample_documents(splits.validation, check_posts, seed=0), load))
    return written


def check_backends(model_dir: str | Path, docs: Documents, load) -> Path:
    """Score PyTorch fp32 and every backend that can run ``model_dir`` here on ``docs``; write ``backends.json``.

    Args:
        load: the kind's loader, ``load(model_dir, backend=..., precision=...)``.
    """
    model_dir = Path(model_dir)

    def score(clf) -> tuple[dict, np.ndarray]:
        proba = clf.predict_proba(docs.texts)
        classes = [str(c) for c in clf.classes_]
        predictions = [classes[i] for i in proba.argmax(axis=1)]
        m = compute_metrics(references=docs.labels, predictions=predictions, classes=classes, probabilities=proba)
        return {"accuracy": round(m["accuracy"], 4), "macro_f1": round(m["macro_f1"], 4)}, proba.argmax(axis=1)

    from .progress import progress

    names = [name for name in BACKEND_SPECS if not missing(model_dir, name)]
    bar = progress(total=len(names) + 1, desc=f"backend check ({len(docs)} posts each)", unit="backend")
    reference, ref_pred = score(load(model_dir, backend="torch", precision="fp32"))
    bar.update()
    backends = {}
    for name in names:
        scores, pred = score(load(model_dir, backend=name))
        bar.update()
        scores["agreement"] = round(float(np.mean(pred == ref_pred)), 4)
        scores["within_budget"] = bool(scores["accuracy"] >= reference["accuracy"] - ACCURACY_BUDGET - 1e-9
                                       and scores["macro_f1"] >= reference["macro_f1"] - ACCURACY_BUDGET - 1e-9)
        backends[name] = scores
        logger.info("check %s: accuracy %.4f, macro-F1 %.4f (fp32 %.4f, %.4f), agreement %.4f", name, scores["accuracy"],
                    scores["macro_f1"], reference["accuracy"], reference["macro_f1"], scores["agreement"])
    bar.close()
    path = model_dir / BACKEND_CHECK_FILE
    write_json(path, {"split": "validation", "n": len(docs), "reference": {"backend": "torch fp32", **reference},
                      "budget": ACCURACY_BUDGET, "backends": backends, "cpu": cpu_name(), "cpu_flags": cpu_flags()})
    return path


def export_onnx(model_dir: str | Path, *, int8: bool = False, calibration_texts: list[str] | None = None, opset: int = 17) -> list[Path]:
    """Export the classifier in ``model_dir`` to ONNX (inputs ``input_ids``, ``attention_mask``; output ``logits``);
    with ``int8`` also the dynamic int8 model and, given ``calibration_texts``, the static one."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model_dir = Path(model_dir)
    model_config = read_json(model_dir / TOPICFIT_MODEL_FILE)["config"]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, use_safetensors=True).float().eval()
    try:  # the plain attention graph is the pattern onnxruntime's fusions recognise; SDPA's is not
        model.set_attn_implementation("eager")
    except (AttributeError, ValueError) as exc:
        logger.warning("keeping the model's attention implementation (%s); the int8 model may run unfused", exc)
    example = tokenizer(["an example post about topics", "a second, longer example post about other topics"],
                             padding=True, return_tensors="pt")
    onnx_path = model_dir / ONNX_FILE

    class Logits(torch.nn.Module):  # a plain tensor output keeps the graph simple
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    torch.onnx.export(
        Logits(model), (example["input_ids"], example["attention_mask"]), str(onnx_path),
        input_names=["input_ids", "attention_mask"], output_names=["logits"], opset_version=opset, dynamo=False,
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}},
    )
    written = [onnx_path]
    if int8:
        written.append(quantize_int8(onnx_path, model.config, model_dir / INT8_FILE))
        if calibration_texts:
            ids = encode(tokenizer, calibration_texts, max_length=model_config["max_length"], truncation=model_config["truncation"])
            written.append(quantize_static_int8(onnx_path, ids, model_dir / STATIC_INT8_FILE, pad_id=tokenizer.pad_token_id or 0))
        else:
            logger.warning("no calibration posts: %s not written (backend openvino-int8 unavailable)", STATIC_INT8_FILE)
    logger.info("exported %s", ", ".join(map(str, written)))
    return written


def quantize_int8(onnx_path: Path, config, output: Path) -> Path:
    """Fuse the encoder's operators with onnxruntime's transformer optimizer, then quantise the weights to int8 per
    output channel (per channel is both faster and closer to fp32 than one scale per tensor: BENCHMARKS.md)."""
    import tempfile

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_heads", 0)
    hidden = getattr(config, "hidden_size", None) or getattr(config, "dim", 0)
    fused = optimizer.optimize_model(str(onnx_path), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1)
    stats = {k: v for k, v in fused.get_fused_operator_statistics().items() if v}
    if not stats.get("Attention"):  # e.g. MPNet: its relative position bias is not the BERT attention pattern
        logger.warning("onnxruntime's BERT fusions recognised no attention layer in this %s graph (fused: %s); the int8 model "
                       "quantises the weight MatMuls only and keeps attention in fp32", getattr(config, "model_type", "?"), stats)
    output = Path(output).resolve()
    # onnxruntime's quantisers may write helper files (e.g. "<uuid>.data") into the working directory: keep them in tmp
    with tempfile.TemporaryDirectory(prefix="topicfit-onnx-") as tmp, contextlib.chdir(tmp):
        fused_path = Path(tmp) / "fused.onnx"
        fused.save_model_to_file(str(fused_path))
        quantize_dynamic(str(fused_path), str(output), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # types of the fused ops' outputs
    return output


def weight_matmuls(model) -> list[str]:
    """The MatMul nodes whose second input is a weight (an initializer, possibly transposed): the layers that
    static int8 quantises. Attention's activation-by-activation products stay in floating point."""
    initializers = {t.name for t in model.graph.initializer}
    producer = {out: node for node in model.graph.node for out in node.output}

    def is_weight(name: str) -> bool:
        node = producer.get(name)
        return name in initializers or (node is not None and node.op_type in ("Transpose", "Identity", "Cast") and is_weight(node.input[0]))

    return [node.name for node in model.graph.node if node.op_type in ("MatMul", "Gemm") and is_weight(node.input[1])]


def quantize_static_int8(onnx_path: Path, calibration_ids: list[list[int]], output: Path, *, pad_id: int = 0) -> Path:
    """Statically quantise the weight MatMuls of ``onnx_path`` (QDQ format: int8 weights per channel, uint8
    activations with ranges from ``calibration_ids`` run through the model)."""
    import tempfile

    import onnx
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    length = max(len(ids) for ids in calibration_ids)

    class Batches(CalibrationDataReader):  # fixed-length batches of 8: the calibrator stacks every batch's activations
        def __init__(self):
            self.batches = iter(range(0, len(calibration_ids), 8))

        def get_next(self):
            start = next(self.batches, None)
            if start is None:
                return None
            rows = calibration_ids[start : start + 8]
            input_ids = np.full((len(rows), length), pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), length), dtype=np.int64)
            for r, ids in enumerate(rows):
                input_ids[r, : len(ids)], mask[r, : len(ids)] = ids, 1
            return {"input_ids": input_ids, "attention_mask": mask}

    onnx_path, output = Path(onnx_path).resolve(), Path(output).resolve()
    with tempfile.TemporaryDirectory(prefix="topicfit-onnx-") as tmp, contextlib.chdir(tmp):  # helper files stay in tmp
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(onnx_path), str(prepared), skip_symbolic_shape=True)  # shapes + constant folding
        nodes = weight_matmuls(onnx.load(str(prepared)))
        quantize_static(str(prepared), str(output), Batches(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_quantize=nodes,
                        calibrate_method=CalibrationMethod.MinMax,
                        extra_options={"WeightSymmetric": True, "ActivationSymmetric": False})
    logger.info("static int8: %d weight MatMuls quantised, calibrated on %d posts", len(nodes), len(calibration_ids))
    return output
