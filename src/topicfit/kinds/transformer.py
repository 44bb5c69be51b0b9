"""Fine-tune a Hugging Face encoder for topic classification with the transformers Trainer.

Fast on a CPU: texts are tokenised once (head or head+tail truncation), batches are padded dynamically
and grouped by length, and bf16 autocast is used where the processor supports it.

>>> clf = TransformerClassifier(TrainConfig(model="minilm", epochs=1))  # doctest: +SKIP
>>> clf.fit(train_texts, train_labels).predict(["the shuttle launch slipped a week"])  # doctest: +SKIP
['sci']
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..encoders import (LONG_DOCUMENTS, PRECISIONS, TRUNCATIONS, Encoded, autocast, base_model_id, choose_precision, encode,
                        encode_documents, load_encoder, padded_batches, pooled_softmax, resolve_model)
from ..errors import ConfigError
from ..settings import Settings
from ..metrics import compute_metrics
from ..prior import Prior, fit_prior
from ..runs import CHECKPOINTS_DIR, TOPICFIT_MODEL_FILE
from . import Classifier

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class TrainConfig(Settings):
    """Fine-tuning settings. Every field has a default; ``to_dict``/``from_dict`` round-trip JSON."""

    model: str = field(default="minilm", metadata={
        "help": "minilm (bundled all-MiniLM-L6-v2, offline) | mpnet | distilbert | a Hub id | a local folder"})
    epochs: float = field(default=3.0, metadata={"help": "passes over the training posts (a fraction stops part-way)"})
    learning_rate: float = field(default=1e-4, metadata={"help": "peak learning rate (after warm-up, then decaying linearly)"})
    batch_size: int = field(default=16, metadata={"help": "training posts per step and device"})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "steps whose gradients add up to one update"})
    max_length: int = field(default=256, metadata={"help": "tokens per document, special tokens included"})
    truncation: str = field(default="head+tail", metadata={"help": "head: first tokens; head+tail: first 3/4 and last 1/4 of the budget",
                                                           "choices": TRUNCATIONS})
    long_documents: str = field(default="cut", metadata={
        "help": "at inference: cut (by --truncation) | windows (average the logits of overlapping windows)", "choices": LONG_DOCUMENTS})
    warmup: float = field(default=0.06, metadata={"help": "share of the optimisation steps spent warming up the learning rate"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW's decoupled weight decay"})
    class_weight: str | None = field(default=None, metadata={"help": "none, or balanced: inverse class frequency in the loss",
                                                             "choices": ("balanced",)})
    attention_dropout: float | None = field(default=0.0, metadata={
        "help": "0 lets PyTorch's fused attention kernel run (faster on CPU); -1 or none keeps the checkpoint's", "none": -1})
    early_stopping_patience: int | None = field(default=None, metadata={
        "help": "epochs without a better validation macro-F1 before stopping; none: train every epoch"})
    precision: str = field(default="auto", metadata={"help": "auto: bf16 on CPUs that support it (mixed precision on GPUs), else fp32",
                                                     "choices": PRECISIONS})
    eval_batch_size: int = field(default=16, metadata={
        "help": "texts per inference batch; 64 was slower on CPUs (benchmarks/inference.py)"})
    teacher: str | None = field(default=None, metadata={
        "help": "distillation: the run whose probabilities on the training posts are the soft targets", "cli": False})
    distill_alpha: float = field(default=0.7, metadata={
        "help": "distillation: target = alpha * teacher probabilities + (1 - alpha) * the true label"})
    teacher_folds: int = field(default=5, metadata={
        "help": "distillation: score the training posts with refits of the teacher that left them out, in this many folds (baselines, "
                "embed heads and ensembles of them; other members answer in sample); 0: the teacher's own in-sample probabilities"})
    teacher_calibration: bool = field(default=True, metadata={
        "help": "distillation: rescale the teacher's probabilities by a temperature fitted on validation"})
    prior: str | None = field(default=None, metadata={
        "help": "a finished TF-IDF baseline run (e.g. tfidf-nb) whose calibrated log-probabilities are added to the transformer's "
                "logits: one model that learns what the bag of words misses (topicfit.prior)"})
    prior_folds: int = field(default=5, metadata={
        "help": "the prior's logits on the training posts come from refits that left them out, in this many folds (0: in sample)"})
    prior_dropout: float = field(default=0.5, metadata={
        "help": "training: the share of posts whose prior is left out, so the transformer also learns to classify alone"})
    seed: int = field(default=42, metadata={"help": "random seed"})

    def __post_init__(self) -> None:
        if not 0 <= self.prior_dropout < 1:
            raise ConfigError(f"prior_dropout must be in [0, 1), got {self.prior_dropout}")
        if not 0 <= self.distill_alpha <= 1:
            raise ConfigError(f"distill_alpha must be in [0, 1], got {self.distill_alpha}")
        if self.truncation not in TRUNCATIONS:
            raise ConfigError(f"truncation must be one of {TRUNCATIONS}, got {self.truncation!r}")
        if self.long_documents not in LONG_DOCUMENTS:
            raise ConfigError(f"long_documents must be one of {LONG_DOCUMENTS}, got {self.long_documents!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.class_weight not in (None, "balanced"):
            raise ConfigError(f"class_weight must be None or 'balanced', got {self.class_weight!r}")
        if not 8 <= self.max_length <= 8192:
            raise ConfigError(f"max_length must be between 8 and 8192, got {self.max_length}")
        if self.epochs <= 0 or self.learning_rate <= 0 or self.batch_size < 1 or not 0 <= self.warmup < 1:
            raise ConfigError("epochs, learning_rate and batch_size must be positive and warmup in [0, 1)")



def balanced_class_weights(label_ids: list[int], n_classes: int) -> np.ndarray:
    """Inverse class frequency, scaled so that a balanced data set gets weight 1 everywhere (scikit-learn's 'balanced')."""
    counts = np.bincount(label_ids, minlength=n_classes).astype(np.float64)
    return len(label_ids) / (n_classes * np.maximum(counts, 1))


def weighted_loss(weights=None, prior: bool = False, prior_dropout: float = 0.0, training=None):
    """A Trainer ``compute_loss_func``: cross-entropy with per-class ``weights`` (a float tensor, or ``None``).

    Labels are class indices, or rows of target probabilities (distillation): then the loss is the
    cross-entropy with those soft targets, ``-sum(target * log_softmax(logits))``, each row weighted by its
    target's class weight (for one-hot rows, exactly the weighted cross-entropy of the indices). With ``prior``
    each label row is the target followed by the prior's logits (:mod:`topicfit.prior`), added to the model's;
    while ``training()`` is true, each row's prior is left out with probability ``prior_dropout`` (as modality
    dropout does), so the transformer cannot lean on the prior alone.
    """
    import torch

    def loss_fn(outputs, labels, num_items_in_batch=None):
        logits = (outputs["logits"] if isinstance(outputs, dict) else outputs[0]).float()
        if prior:
            labels, offsets = labels.float().chunk(2, dim=-1)
            if prior_dropout and training is not None and training():
                offsets = offsets * (torch.rand(len(offsets), 1, device=offsets.device) >= prior_dropout).float()
            logits = logits + offsets
        if labels.dim() == 2:
            targets = labels.float()
            per_row = -(targets * torch.nn.functional.log_softmax(logits, dim=-1)).sum(-1)
            if weights is None:
                return per_row.mean()
            row_weights = (targets * weights.to(logits.device)).sum(-1)
            return (row_weights * per_row).sum() / row_weights.sum()
        return torch.nn.functional.cross_entropy(logits, labels, weight=None if weights is None else weights.to(logits.device))

    return loss_fn


class TransformerClassifier(Classifier):
    """A fine-tuned encoder with a scikit-learn face.

    Args:
        config (TrainConfig, default TrainConfig()): model and hyper-parameters.
    """

    kind = "transformer"
    config_class = TrainConfig
    library = "transformers"
    sample_train_eval = True  # scoring every training post costs minutes: the workflow scores a sample (workflow.TRAIN_EVAL_SAMPLES)

    def __init__(self, config: TrainConfig | None = None, *, teacher=None):
        """``teacher``: a :class:`topicfit.teacher.Teacher` to distil from; ``config.teacher`` then records its run."""
        import os

        if teacher is not None:
            config = replace(config or TrainConfig(), teacher=os.path.relpath(Path(teacher.run_dir).resolve()),
                             teacher_folds=teacher.folds, teacher_calibration=teacher.calibrate)
        super().__init__(config)
        self.teacher = teacher

    @property
    def method(self) -> str:
        method = f"{'distill' if self.config.teacher else 'finetune'}-{Path(self.config.model).name}"
        if not self.config.prior:
            return method
        prior = getattr(self, "prior_", None)
        return f"{method}+prior-{prior.method if prior is not None else Path(self.config.prior).name}"

    @property
    def base_model(self) -> str | None:
        return base_model_id(self.config.model)

    # -- training --
    def fit(self, X, y, *, X_val=None, y_val=None, classes=None, workdir=None, resume: bool = False, callbacks=None,
            soft_targets=None, teacher_info: dict | None = None) -> "TransformerClassifier":
        """Fine-tune on texts ``X`` with labels ``y``; select the best epoch on ``(X_val, y_val)`` by macro-F1.

        Args:
            workdir (Path | None): where the Trainer keeps epoch checkpoints (``resume`` continues from the last).
            callbacks (list | None): extra ``TrainerCallback`` objects (``topicfit tune`` prunes trials with one).
            soft_targets (array (n, n_classes) | None): a teacher's probabilities for ``X`` (columns in ``classes`` order);
                the student learns ``distill_alpha * soft_targets + (1 - distill_alpha) * one-hot(y)``.
            teacher_info (dict | None): how the soft targets were made (:func:`topicfit.teacher.teacher_probabilities`), for ``run.json``.
        """
        import tempfile

        import torch
        from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer, set_seed

        cfg = self.config
        self.teacher_info_ = teacher_info
        self.classes_ = np.array([str(c) for c in (sorted(set(y)) if classes is None else classes)])
        index = {c: i for i, c in enumerate(self.classes_)}
        set_seed(cfg.seed)
        tokenizer, model = load_encoder(
            resolve_model(cfg.model), num_labels=len(self.classes_), id2label=dict(enumerate(self.classes_.tolist())),
            label2id={c: i for i, c in enumerate(self.classes_.tolist())}, attention_dropout=cfg.attention_dropout,
        )
        self.tokenizer_, self.model_ = tokenizer, model
        start = time.perf_counter()
        train_labels = [index[str(v)] for v in y]
        has_val = X_val is not None and len(X_val) > 0
        if self.teacher is not None and soft_targets is None:  # distillation: the teacher gives its own soft targets
            soft_targets, teacher_info = self.teacher.soft_targets(X, y, X_val if has_val else None, y_val if has_val else None, self.classes_)
            self.teacher_info_ = teacher_info
        elif cfg.teacher and soft_targets is None:
            raise ConfigError(f"TrainConfig(teacher={cfg.teacher!r}) needs the teacher itself: "
                              f"TransformerClassifier(config, teacher=topicfit.teacher.Teacher({cfg.teacher!r})), or `topicfit distill`")
        if soft_targets is not None:
            soft = np.asarray(soft_targets, dtype=np.float64)
            if soft.shape != (len(train_labels), len(self.classes_)):
                raise ConfigError(f"soft targets have shape {soft.shape}; expected {(len(train_labels), len(self.classes_))}")
            targets = cfg.distill_alpha * soft / soft.sum(axis=1, keepdims=True) + (1 - cfg.distill_alpha) * np.eye(len(self.classes_))[train_labels]
            train_labels = targets.astype(np.float32).tolist()
        val_labels = [index[str(v)] for v in y_val] if has_val else None
        self.prior_ = None
        if cfg.prior:  # labels carry the prior's logits after the target: weighted_loss(prior=True) adds them
            self.prior_, prior_train = fit_prior(cfg.prior, X, y, X_val if has_val else None, y_val if has_val else None,
                                                 self.classes_, folds=cfg.prior_folds)
            hot = np.eye(len(self.classes_), dtype=np.float32)
            train_labels = np.hstack([np.asarray(train_labels, np.float32) if soft_targets is not None else hot[train_labels], prior_train]).tolist()
            if has_val:
                val_labels = np.hstack([hot[val_labels], self.prior_.logits(X_val, self.classes_)]).tolist()
        train_ds = Encoded(encode(tokenizer, X, max_length=cfg.max_length, truncation=cfg.truncation), train_labels)
        val_ds = Encoded(encode(tokenizer, X_val, max_length=cfg.max_length, truncation=cfg.truncation), val_labels) if has_val else None
        lengths = [len(s) for s in train_ds.input_ids]
        logger.info("tokenised %d training texts in %.1fs (mean %.0f tokens, %.0f%% truncated at %d)", len(X), time.perf_counter() - start,
                    np.mean(lengths), 100 * np.mean([n >= cfg.max_length for n in lengths]), cfg.max_length)
        self.precision_ = choose_precision(cfg.precision)
        logger.info("model %s (%s), precision %s", cfg.model, type(model).__name__, self.precision_)
        out_dir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="topicfit-"))
        args = self._training_arguments(out_dir / CHECKPOINTS_DIR, n_train=len(train_ds), has_val=has_val, use_cpu=not torch.cuda.is_available())

        def metrics_fn(pred):
            logits = np.asarray(pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions)
            references = pred.label_ids
            if self.prior_ is not None:
                targets, offsets = np.split(np.asarray(references), 2, axis=-1)
                logits, references = logits + offsets, targets.argmax(-1)
            m = compute_metrics(references=self.classes_[references], predictions=self.classes_[logits.argmax(-1)], classes=self.classes_)
            return {k: m[k] for k in ("accuracy", "macro_f1", "weighted_f1")}

        loss_fn = None
        prior = {"prior": True, "prior_dropout": cfg.prior_dropout, "training": lambda: model.training} if self.prior_ is not None else {}
        if cfg.class_weight == "balanced":
            weights = balanced_class_weights([index[str(v)] for v in y], len(self.classes_))
            logger.info("class weights: %s", {str(c): round(float(w), 3) for c, w in zip(self.classes_, weights)})
            loss_fn = weighted_loss(torch.tensor(weights, dtype=torch.float32), **prior)
        elif soft_targets is not None or prior:
            loss_fn = weighted_loss(None, **prior)  # the models' own loss would take float targets for multi-label ones
        callbacks = list(callbacks or []) + ([EarlyStoppingCallback(cfg.early_stopping_patience)] if (cfg.early_stopping_patience and has_val) else [])
        trainer = Trainer(
            model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds, processing_class=tokenizer,
            data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=metrics_fn if has_val else None,
            compute_loss_func=loss_fn, callbacks=callbacks,
        )
        resume_from = resume and any((out_dir / CHECKPOINTS_DIR).glob("checkpoint-*"))
        if resume and not resume_from:
            logger.warning("--resume: no checkpoint in %s; training from the start", out_dir / CHECKPOINTS_DIR)
        result = trainer.train(resume_from_checkpoint=True if resume_from else None)
        self.model_ = trainer.model
        self.history_ = trainer.state.log_history
        self.global_step_ = trainer.state.global_step
        seconds = time.perf_counter() - start
        self.timings_ = {"train_samples_per_second": result.metrics.get("train_samples_per_second"), "precision": self.precision_}
        self.best_epoch_ = self._best_epoch()
        evals = [h["eval_macro_f1"] for h in self.history_ if "eval_macro_f1" in h]
        self.validation_macro_f1_ = max(evals) if evals else None  # the best epoch's, which load_best_model_at_end keeps
        logger.info("process %d of %d trained %d steps in %.0fs, %.1f samples/s; best validation epoch %s", args.process_index,
                    args.world_size, trainer.state.global_step, seconds, self.timings_["train_samples_per_second"] or 0, self.best_epoch_)
        return self

    def _training_arguments(self, output_dir: Path, *, n_train: int, has_val: bool, use_cpu: bool):
        from transformers import TrainingArguments

        cfg = self.config
        return TrainingArguments(
            output_dir=str(output_dir),
            num_train_epochs=cfg.epochs,
            learning_rate=cfg.learning_rate,
            per_device_train_batch_size=cfg.batch_size,
            per_device_eval_batch_size=cfg.eval_batch_size,
            gradient_accumulation_steps=cfg.gradient_accumulation_steps,
            warmup_steps=cfg.warmup,  # a float < 1 is a share of all steps in transformers 5
            weight_decay=cfg.weight_decay,
            lr_scheduler_type="linear",
            seed=cfg.seed,
            bf16=self.precision_ == "bf16",
            fp16=self.precision_ == "fp16",
            use_cpu=use_cpu,
            train_sampling_strategy="group_by_length",
            eval_strategy="epoch" if has_val else "no",
            save_strategy="epoch",
            save_total_limit=2,
            load_best_model_at_end=has_val,
            metric_for_best_model="macro_f1" if has_val else None,
            greater_is_better=True,
            logging_strategy="steps",
            logging_steps=max(1, min(50, math.ceil(n_train / cfg.batch_size / 10))),
            report_to="none",
            disable_tqdm=not logger.isEnabledFor(logging.INFO),
            dataloader_num_workers=0,
            save_only_model=False,
        )

    def _best_epoch(self):
        evals = [h for h in self.history_ if "eval_macro_f1" in h]
        return max(evals, key=lambda h: h["eval_macro_f1"])["epoch"] if evals else None

    def run_info(self) -> dict:
        info = {"history": self.history_, "best_epoch": self.best_epoch_} if hasattr(self, "history_") else {}
        if getattr(self, "prior_", None) is not None:
            info["prior"] = self.prior_.info
        return {**info, "teacher": self.teacher_info_} if getattr(self, "teacher_info_", None) else info

    # -- prediction --
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), columns in ``classes_`` order."""
        import torch

        cfg = self.config
        model, tokenizer = self.model_, self.tokenizer_
        model.eval()
        X = list(X)
        ids, owner = encode_documents(tokenizer, X, max_length=cfg.max_length, truncation=cfg.truncation, long_documents=cfg.long_documents)
        logits = np.zeros((len(ids), len(self.classes_)), dtype=np.float32)
        device = next(model.parameters()).device
        with torch.inference_mode(), autocast(device.type, getattr(self, "precision_", None) or choose_precision(cfg.precision)):
            for batch, input_ids, mask in padded_batches(ids, cfg.eval_batch_size, tokenizer.pad_token_id or 0):
                out = model(input_ids=torch.from_numpy(input_ids).to(device), attention_mask=torch.from_numpy(mask).to(device)).logits
                logits[batch] = out.float().cpu().numpy()
        prior = getattr(self, "prior_", None)
        return pooled_softmax(logits, owner, len(X), offset=None if prior is None else prior.logits(X, self.classes_))

    # -- persistence --
    def save(self, folder: str | os.PathLike) -> None:
        """Weights as safetensors, the tokenizer, and the tokenisation settings: enough for :meth:`load`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model_.save_pretrained(folder, safe_serialization=True)
        self.tokenizer_.save_pretrained(folder)
        (folder / TOPICFIT_MODEL_FILE).write_text(json.dumps({"config": self.config.to_dict(), "classes": self.classes_.tolist()}, indent=2))
        if getattr(self, "prior_", None) is not None:
            self.prior_.save(folder)

    @classmethod
    def load(cls, folder: str | os.PathLike, *, run: dict | None = None, backend: str = "torch", batch_size: int | None = None,
             precision: str | None = None, long_documents: str | None = None, max_length: int | None = None, weights: bool = True,
             **options):
        """Load what :meth:`save` wrote.

        Args:
            backend (str): ``torch``, ``auto`` (the fastest backend that keeps the accuracy, see
                :mod:`topicfit.backends`), or ``onnx``, ``onnx-int8``, ``openvino``, ``openvino-int8`` after ``topicfit export``.
            batch_size (int | None): texts per forward pass; ``None`` keeps the run's ``eval_batch_size`` (or the backend's default).
            long_documents (str | None): ``cut`` or ``windows`` at inference; ``None`` keeps the run's.
            max_length (int | None): tokens per text (or window) at inference; ``None`` keeps the run's.
            weights (bool): ``False`` skips the PyTorch weights (tokenizer and settings only).
        """
        from ..backends import load_backend

        def load_torch(**overrides):
            return cls._load_torch(folder, precision=precision, weights=weights, **overrides)

        return load_backend(folder, backend, load_torch, batch_size=batch_size, long_documents=long_documents, max_length=max_length)

    @classmethod
    def _load_torch(cls, folder, *, precision=None, batch_size=None, long_documents=None, max_length=None, weights=True):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        folder = Path(folder)
        meta = json.loads((folder / TOPICFIT_MODEL_FILE).read_text())
        overrides = {k: v for k, v in (("precision", precision), ("eval_batch_size", batch_size), ("long_documents", long_documents),
                                       ("max_length", max_length)) if v}
        clf = cls(TrainConfig.from_dict({**meta["config"], **overrides}))
        clf.tokenizer_ = AutoTokenizer.from_pretrained(folder)
        if weights:
            clf.model_ = AutoModelForSequenceClassification.from_pretrained(folder, use_safetensors=True)
        clf.classes_ = np.array(meta["classes"])
        clf.precision_ = choose_precision(clf.config.precision)
        clf.prior_ = Prior.load(folder)
        return clf

    @staticmethod
    def export(folder: str | os.PathLike, *, int8: bool = False, calibration_texts: list[str] | None = None) -> list[Path]:
        """Write ``model.onnx`` (and the int8 models) beside the weights; see :mod:`topicfit.export`."""
        from ..export import export_onnx

        return export_onnx(folder, int8=int8, calibration_texts=calibration_texts)

    # -- tuning --
    def trial_options(self, trial, deadline: float | None) -> dict:
        return {"callbacks": [pruning_callback(trial, self.config.epochs, deadline)]}

    @classmethod
    def default_params(cls, config: TrainConfig, *, quick: bool = False) -> dict:
        params = {"learning_rate": config.learning_rate, "epochs": int(round(config.epochs)), "batch_size": config.batch_size,
                  "warmup": config.warmup, "weight_decay": config.weight_decay, "max_length": config.max_length}
        if quick:
            del params["max_length"]  # not searched in quick mode
        return params

    @classmethod
    def search_space(cls, trial, config: TrainConfig, *, quick: bool = False) -> dict:
        """Learning rate, epochs, batch size, warm-up, weight decay and, except in quick mode, max length.

        The ranges always contain ``config`` (the user's own settings, which trial 0 runs), so e.g. ``--max-length 64``
        or ``--epochs 5`` widen the search instead of failing it. Quick trials keep the user's max length: a search
        on 1,000 posts picked 128 tokens, while on the full data 256 did better (BENCHMARKS.md).
        """
        def span(name, low, high):
            value = getattr(config, name)
            return min(low, value), max(high, value)

        def choices(name, options):
            return sorted(set(options) | {getattr(config, name)})

        params = {
            "learning_rate": trial.suggest_float("learning_rate", *span("learning_rate", 2e-5, 3e-4), log=True),
            "epochs": trial.suggest_int("epochs", *(int(round(v)) for v in span("epochs", 1, 3 if quick else 4))),
            "batch_size": trial.suggest_categorical("batch_size", choices("batch_size", [8, 16, 32])),
            "warmup": trial.suggest_float("warmup", *span("warmup", 0.0, 0.2)),
            "weight_decay": trial.suggest_float("weight_decay", *span("weight_decay", 0.0, 0.1)),
        }
        if not quick:
            params["max_length"] = trial.suggest_categorical("max_length", choices("max_length", [128, 256, 384]))
        return params


def pruning_callback(trial, epochs: float, deadline: float | None = None):
    """Report validation macro-F1 after each epoch, at step = percent of the trial's schedule done.

    Trials are thus compared only at the same point of the same schedule: the first epoch of a 3-epoch run
    (learning rate still high) is never judged against the finished 1-epoch run. A trial still training at
    the search's ``deadline`` (``time.monotonic()``) is stopped and pruned, so ``--timeout`` is kept.
    """
    import optuna
    from transformers import TrainerCallback

    class Prune(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if deadline is not None and time.monotonic() > deadline:
                raise optuna.TrialPruned(f"stopped at step {state.global_step}: the search's --timeout is up")

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            trial.report(metrics["eval_macro_f1"], step=int(round(100 * (state.epoch or 0) / epochs)))
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {state.epoch}")

    return Prune()
