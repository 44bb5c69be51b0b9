"""Fast CPU inference: export a fine-tuned run to ONNX, optionally dynamically quantised to int8.

    topicfit export runs/coarse-minilm --format onnx --int8

writes ``model/model.onnx`` (fp32, standard ONNX operators) and ``model/model.int8.onnx`` beside the PyTorch
weights, using torch's own exporter and onnxruntime's tools: the int8 model is the fp32 graph with
onnxruntime's transformer fusions applied (fused attention, GELU and layer norm; ``onnxruntime.transformers``),
then dynamically quantised (``onnxruntime.quantization``), so it runs on onnxruntime only.
``TopicClassifier.load(run, backend="onnx-int8")``, ``topicfit predict --backend`` and ``topicfit serve
--backend`` then run on them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .encoders import encode_documents, padded_batches, pooled_softmax
from .errors import ModelError
from .kinds import Classifier
from .runs import INT8_FILE, ONNX_FILE, TOPICFIT_MODEL_FILE, read_json

logger = logging.getLogger(__name__)

ONNX_BATCH_SIZE = 8  # texts per onnxruntime call: the int8 model's fastest in benchmarks/inference.py


def export_onnx(model_dir: str | Path, *, int8: bool = False, opset: int = 17) -> list[Path]:
    """Export the classifier in ``model_dir`` to ONNX (inputs ``input_ids``, ``attention_mask``; output ``logits``)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model_dir = Path(model_dir)
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
    logger.info("exported %s", ", ".join(map(str, written)))
    return written


def quantize_int8(onnx_path: Path, config, output: Path) -> Path:
    """Fuse the encoder's operators with onnxruntime's transformer optimizer, then quantise weights to int8."""
    import tempfile

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_heads", 0)
    hidden = getattr(config, "hidden_size", None) or getattr(config, "dim", 0)
    fused = optimizer.optimize_model(str(onnx_path), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1)
    stats = {k: v for k, v in fused.get_fused_operator_statistics().items() if v}
    if not stats.get("Attention"):
        logger.warning("onnxruntime fused no attention layers in %s (%s); the int8 model will be slower", onnx_path, stats)
    with tempfile.TemporaryDirectory(prefix="topicfit-onnx-") as tmp:
        fused_path = Path(tmp) / "fused.onnx"
        fused.save_model_to_file(str(fused_path))
        quantize_dynamic(str(fused_path), str(output), weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # types of the fused ops' outputs
    return output


class OnnxClassifier(Classifier):
    """A fine-tuned transformer run by onnxruntime: the same tokenisation and outputs as the PyTorch model."""

    kind = "transformer"

    def __init__(self, model_dir: str | Path, *, int8: bool = False, batch_size: int | None = None, long_documents: str | None = None):
        import onnxruntime as ort
        from transformers import AutoTokenizer

        model_dir = Path(model_dir)
        path = model_dir / (INT8_FILE if int8 else ONNX_FILE)
        if not path.exists():
            raise ModelError(f"{path} is missing; create it with: topicfit export RUN --format onnx{' --int8' if int8 else ''}")
        meta = read_json(model_dir / TOPICFIT_MODEL_FILE)  # tokenisation settings and classes; no PyTorch weights
        self.config, self.classes_ = meta["config"], np.array(meta["classes"])
        self.long_documents = long_documents or self.config.get("long_documents", "cut")
        self.tokenizer_ = AutoTokenizer.from_pretrained(model_dir)
        self.batch_size = batch_size or ONNX_BATCH_SIZE
        self.timings_ = {}
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def predict_proba(self, X) -> np.ndarray:
        X = list(X)
        ids, owner = encode_documents(self.tokenizer_, X, max_length=self.config["max_length"], truncation=self.config["truncation"],
                                      long_documents=self.long_documents)
        logits = np.zeros((len(ids), len(self.classes_)), dtype=np.float32)
        for batch, input_ids, mask in padded_batches(ids, self.batch_size, self.tokenizer_.pad_token_id or 0):
            logits[batch] = self.session.run(["logits"], {"input_ids": input_ids, "attention_mask": mask})[0]
        return pooled_softmax(logits, owner, len(X))
