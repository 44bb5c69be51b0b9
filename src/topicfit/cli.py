"""The ``topicfit`` command: a thin layer that parses, sets up logging and wires the modules together.

    topicfit baseline --labels coarse --method tfidf-svm --output runs/coarse-svm
    topicfit train    --labels coarse --model minilm --output runs/coarse-minilm
    topicfit ensemble runs/coarse-minilm runs/coarse-svm --output runs/coarse-ensemble
    topicfit evaluate runs/coarse-minilm [--data my_labelled.csv]
    topicfit predict  runs/coarse-minilm posts.jsonl --top-k 3
    topicfit compare  runs/*
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import traceback
from dataclasses import fields
from pathlib import Path

import yaml

from . import __version__
from .data import DATA_ENV, VALIDATION_SPLITS, DataConfig, Documents, load_newsgroups, load_splits, load_table
from .encoders import LONG_DOCUMENTS, MODELS, PRECISIONS, TRUNCATIONS, embed_texts, process_group
from .errors import ConfigError, DataError, RunError, TopicfitError
from .kinds.baseline import BASELINES, TUNABLE, BaselineClassifier, BaselineConfig
from .kinds.embed import EmbedClassifier, EmbedConfig
from .kinds.ensemble import COMBINES, EnsembleClassifier, EnsembleConfig, ensemble_splits
from .backends import BACKENDS
from .export import CHECK_POSTS, export_run
from .kinds.transformer import TrainConfig, TransformerClassifier
from .labels import UNMAPPED_CHOICES, get_scheme
from .metrics import metrics_table, split_metrics
from .predict import INPUT_FORMATS, MAX_TEXT_CHARS, TopicClassifier, guess_format, predict_inputs, read_inputs
from .registry import KINDS, get_kind, load_run
from .render import compare_table
from .runs import SPLITS, read_run, write_json
from .serve import MAX_BODY_BYTES, MAX_TEXTS
from .topics import CLUSTERERS, REDUCERS, TopicsConfig, fit_topics_run, rename_topics
from .teacher import teacher_probabilities
from .workflow import fit_run, predict_documents

TRAIN_EVAL_SAMPLES = 2000  # training posts scored after fine-tuning (over-fitting shows on a sample; all of them cost minutes)

logger = logging.getLogger("topicfit")


# --- arguments ------------------------------------------------------------------------------------


def _add_data_args(p: argparse.ArgumentParser, *, for_eval: bool = False) -> None:
    g = p.add_argument_group("data")
    if not for_eval:
        g.add_argument("--dataset", help="'20newsgroups' (default) or a labelled CSV/JSONL/Parquet file")
        g.add_argument("--data", help=f"20 Newsgroups archive (20news-bydate.tar.gz) or folder; overrides ${DATA_ENV}")
        g.add_argument("--labels", help="label scheme: fine | coarse (default) | identity | a JSON/YAML mapping file")
        g.add_argument("--unmapped", choices=UNMAPPED_CHOICES, help="mapping files: what to do with unmapped labels")
        g.add_argument("--keep-headers", action="store_true", default=None, help="keep message headers (LEAKS the label via metadata)")
        g.add_argument("--drop-empty-train", action="store_true", default=None, help="drop documents with no text from train/validation")
        g.add_argument("--validation-size", type=float, help="share of training data for model selection (default 0.1)")
        g.add_argument("--validation-split", choices=VALIDATION_SPLITS,
                       help="auto (default): date where posts have dates (20 Newsgroups: article order; --date-column), else random; "
                            "date: each class's latest 10%% of posts; random: stratified, seeded (BENCHMARKS.md: date predicts test better)")
        g.add_argument("--date-column", help="user data: column of dates, for --validation-split date")
        g.add_argument("--test-file", help="user data: a separate labelled test file")
        g.add_argument("--test-size", type=float, help="user data without --test-file: stratified test share (default 0.2)")
        g.add_argument("--max-train-samples", type=int, help="debug: cap the training split")
    g.add_argument("--text-column", help="column holding the text (default 'text')")
    g.add_argument("--label-column", help="column holding the label (default 'label')")
    g.add_argument("--id-column", help="optional column holding a document id")
    g.add_argument("--max-eval-samples", type=int, help="debug: cap the validation and test splits")


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", "-o", required=True, help="run folder to write, e.g. runs/coarse-minilm")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    p.add_argument("--seed", type=int, help="random seed for splits and training (default 42)")
    p.add_argument("--config", help="JSON or YAML file with the same settings as the flags (flags win)")


def _add_train_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("fine-tuning")
    g.add_argument("--model", help=f"{' | '.join(MODELS)} (minilm: bundled, offline; default) | a Hub id | a local folder")
    g.add_argument("--epochs", type=float)
    g.add_argument("--learning-rate", type=float)
    g.add_argument("--batch-size", type=int)
    g.add_argument("--gradient-accumulation-steps", type=int)
    g.add_argument("--max-length", type=int, help="tokens per document (default 256)")
    g.add_argument("--truncation", choices=TRUNCATIONS)
    g.add_argument("--warmup", type=float, help="share of steps for learning-rate warm-up (default 0.06)")
    g.add_argument("--weight-decay", type=float)
    g.add_argument("--class-weight", choices=("none", "balanced"))
    g.add_argument("--attention-dropout", type=float, help="attention dropout (default 0: fast fused attention); -1 keeps the model's")
    g.add_argument("--early-stopping-patience", type=int, help="epochs without better validation macro-F1 before stopping")
    g.add_argument("--precision", choices=PRECISIONS)
    g.add_argument("--eval-batch-size", type=int)
    g.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    g.add_argument("--no-train-eval", action="store_true", help="skip evaluating on the training split")
    g.add_argument("--train-eval-samples", type=int, default=TRAIN_EVAL_SAMPLES,
                   help=f"score a stratified sample of this many training posts (default {TRAIN_EVAL_SAMPLES}; 0: all)")
    g.add_argument("--long-documents", choices=LONG_DOCUMENTS, help="inference on long posts: cut (default) or windows (pool overlapping windows)")
    g.add_argument("--prior", help="a finished TF-IDF baseline run (e.g. tfidf-nb) whose calibrated log-probabilities are added to the "
                                   "transformer's logits: one model that learns what the bag of words misses (topicfit.prior)")
    g.add_argument("--prior-folds", type=int, help="the prior's logits on the training posts come from refits that left them out, in this "
                                                   "many folds (default 5; 0: in sample)")
    g.add_argument("--prior-dropout", type=float, help="training: the share of posts whose prior is left out, so the transformer also "
                                                       "learns to classify alone (default 0.5)")


def _add_embed_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("embedding")
    g.add_argument("--model", help=f"{' | '.join(m for m in MODELS if m != 'distilbert')} (default minilm) | a Hub id | a local folder")
    g.add_argument("--max-length", type=int, help="tokens per window (default 256)")
    g.add_argument("--cut", dest="whole", action="store_false", default=None, help="cut each post to --max-length instead of reading it whole")
    g.add_argument("--max-windows", type=int, help="windows per post at most (default 16)")
    g.add_argument("--C", dest="C", type=float, help="logistic regression's C (default: the best on validation)")
    g.add_argument("--batch-size", type=int)
    g.add_argument("--precision", choices=PRECISIONS)


BACKEND_HELP = ("transformer runtime; auto (default): the fastest this machine has for the run within 0.3 points of fp32 "
                "(after `topicfit export RUN --int8`; torch otherwise)")


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser and its sub-parsers by command name."""
    parser = argparse.ArgumentParser(prog="topicfit", description="Fine-tune transformers and baselines to sort documents into topics.")
    parser.add_argument("--version", action="version", version=f"topicfit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("baseline", help="train and evaluate scikit-learn baselines")
    p.add_argument("--method", required=True, choices=(*BASELINES, "all"), help="a baseline, or 'all' (one sub-folder each)")
    _add_run_args(p)
    _add_data_args(p)

    p = sub.add_parser("train", help="fine-tune a transformer and evaluate it")
    _add_run_args(p)
    _add_data_args(p)
    _add_train_args(p)

    p = sub.add_parser("embed", help="frozen encoder (mean-pooled over the whole post) + logistic regression; no backpropagation")
    _add_run_args(p)
    _add_data_args(p)
    _add_embed_args(p)

    p = sub.add_parser("topics", help="discover topics in texts (labels optional); or, with RUN --names, name and merge them")
    p.add_argument("run", nargs="?", help="with --names: a finished topics run to rename")
    p.add_argument("--names", help="YAML/JSON {topic id: name} (ids sharing a name merge); writes RUN/labelled.jsonl")
    p.add_argument("--output", "-o", help="run folder to write")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--config", help="JSON or YAML file with the same settings as the flags (flags win)")
    g = p.add_argument_group("data")
    g.add_argument("--dataset", help="'20newsgroups' (default: train and test, every post) or a CSV/JSONL/Parquet file")
    g.add_argument("--data", help=f"20 Newsgroups archive or folder; overrides ${DATA_ENV}")
    g.add_argument("--labels", choices=("fine", "coarse", "none"), default="fine", help="20 Newsgroups: reference labels for NMI/ARI")
    g.add_argument("--text-column", default="text")
    g.add_argument("--label-column", help="user data: optional reference labels")
    g.add_argument("--id-column")
    g = p.add_argument_group("topics")
    g.add_argument("--model", help="encoder: minilm (default) | mpnet | a Hub id | a local folder")
    g.add_argument("--n-topics", type=int, help="number of topics (default: automatic)")
    g.add_argument("--reducer", choices=REDUCERS)
    g.add_argument("--clusterer", choices=CLUSTERERS)
    g.add_argument("--minibatch", action="store_true", default=None, help="memory flat in the corpus size (IncrementalPCA + MiniBatchKMeans)")
    g.add_argument("--seed", type=int)

    p = sub.add_parser("tune", help="Optuna hyperparameter search on the validation split, then retrain the best")
    p.add_argument("--method", choices=TUNABLE, help="tune a TF-IDF baseline instead of a transformer")
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--timeout", type=float, help="minutes to search at most (a transformer trial still training then is stopped)")
    p.add_argument("--quick", action="store_true", help="transformers: trials train on a stratified subset of --quick-samples posts")
    p.add_argument("--quick-samples", type=int, default=1000)
    _add_run_args(p)
    _add_data_args(p)
    _add_train_args(p)

    p = sub.add_parser("distill", help="train a small transformer on a finished run's probabilities (e.g. an ensemble's): one fast model")
    p.add_argument("teacher", help="a finished run (any kind with probabilities) whose data the student trains on")
    p.add_argument("--student", dest="model", help="the student encoder (default minilm)")
    p.add_argument("--distill-alpha", type=float, help="weight of the teacher's probabilities against the true label (default 0.7)")
    p.add_argument("--teacher-folds", type=int, help="score the training posts with refits of the teacher that left them out, in this many "
                   "folds (baselines, embed heads and ensembles of them; other members answer in sample); 0: the teacher's own "
                   "in-sample probabilities (default 5)")
    p.add_argument("--no-teacher-calibration", dest="teacher_calibration", action="store_false", default=None,
                   help="use the teacher's probabilities as they are, not rescaled by a temperature fitted on validation")
    p.add_argument("--output", "-o", required=True)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--config", help="JSON or YAML file with the same settings as the flags (flags win)")
    p.add_argument("--max-train-samples", type=int, help="debug: cap the training split")
    _add_train_args(p)

    p = sub.add_parser("ensemble", help="combine finished runs' probabilities (weights or a stacker), chosen on validation")
    p.add_argument("runs", nargs="+", help="two or more finished runs trained on the same posts (their label schemes may differ, see --labels)")
    p.add_argument("--labels", help="the ensemble's label scheme (default: the first run's); runs trained on a finer scheme "
                                    "join by summing their probabilities, e.g. fine runs in a coarse ensemble")
    p.add_argument("--output", "-o", required=True)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--combine", choices=COMBINES, default="auto",
                   help="weights: a weighted average; stack: logistic regression on the members' log-probabilities; "
                        "auto (default): the better of the two by cross-validation inside the validation split")

    p = sub.add_parser("evaluate", help="re-evaluate a finished run on the test split or a labelled file")
    p.add_argument("run")
    p.add_argument("--data", help="a labelled CSV/JSONL/Parquet file (default: the run's own test split)")
    p.add_argument("--output", "-o", help="write the metrics JSON here")
    p.add_argument("--backend", choices=BACKENDS, default="auto", help=BACKEND_HELP)
    p.add_argument("--long-documents", choices=LONG_DOCUMENTS, help="transformers: cut long texts or pool overlapping windows (default: the run's)")
    p.add_argument("--trust", action="store_true", help="load baseline files with non-scikit-learn types")
    _add_data_args(p, for_eval=True)

    p = sub.add_parser("predict", help="predict topics for texts; writes one JSON line per input record")
    p.add_argument("run")
    p.add_argument("input", nargs="?", default="-", help="file of plain-text lines, JSONL with 'text', or CSV; '-' is stdin")
    p.add_argument("--format", choices=INPUT_FORMATS, default="auto")
    p.add_argument("--text-field", default="text", help="JSONL field / CSV column holding the text")
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--backend", choices=BACKENDS, default="auto", help=BACKEND_HELP)
    p.add_argument("--long-documents", choices=LONG_DOCUMENTS, help="transformers: cut long texts or pool overlapping windows (default: the run's)")
    p.add_argument("--output", "-o", help="write JSONL here instead of stdout")
    p.add_argument("--trust", action="store_true", help="load baseline files with non-scikit-learn types")

    p = sub.add_parser("serve", help="serve a finished run over HTTP (FastAPI + uvicorn)")
    p.add_argument("run")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-texts", type=int, default=MAX_TEXTS, help=f"texts per request (default {MAX_TEXTS})")
    p.add_argument("--max-text-chars", type=int, default=MAX_TEXT_CHARS, help=f"characters per text (413 above; default {MAX_TEXT_CHARS})")
    p.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES, help=f"bytes per request body (413 above; default {MAX_BODY_BYTES})")
    p.add_argument("--backend", choices=BACKENDS, default="auto", help=BACKEND_HELP)
    p.add_argument("--long-documents", choices=LONG_DOCUMENTS, help="transformers: cut long texts or pool overlapping windows (default: the run's)")
    p.add_argument("--trust", action="store_true", help="load baseline files with non-scikit-learn types")

    p = sub.add_parser("export", help="export a fine-tuned run to ONNX (and int8) for fast CPU inference")
    p.add_argument("run")
    p.add_argument("--format", choices=("onnx",), default="onnx")
    p.add_argument("--int8", action="store_true", help="also write the int8 models (dynamic for onnxruntime, static for OpenVINO)")
    p.add_argument("--check-posts", type=int, default=CHECK_POSTS,
                   help=f"validation posts every backend is scored on against fp32 (backends.json; 0: no check; default {CHECK_POSTS})")

    p = sub.add_parser("report", help="HTML or Markdown report comparing runs: scores, per-class F1, confusions, calibration")
    p.add_argument("runs", nargs="+")
    p.add_argument("--output", "-o", required=True, help="report.html (figures embedded) or report.md (figures beside it)")

    p = sub.add_parser("compare", help="Markdown table comparing finished runs")
    p.add_argument("runs", nargs="+")
    p.add_argument("--split", default="test", choices=SPLITS)
    p.add_argument("--output", "-o", help="also write the table to this file")
    return parser, dict(sub.choices)


def _file_config(path: str) -> dict:
    """The settings in a JSON or YAML ``--config`` file, keys as flag names with underscores."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from None
    try:
        cfg = (yaml.safe_load(text) if Path(path).suffix.lower() in (".yaml", ".yml") else json.loads(text)) or {}
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path} is not valid {'YAML' if Path(path).suffix.lower() in ('.yaml', '.yml') else 'JSON'}: {exc}") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(cfg).__name__}")
    return {str(k).replace("-", "_"): v for k, v in cfg.items()}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line; settings from ``--config`` fill in what the flags leave out (flags win).

    An unknown key in the file stops with the key and the valid names, so a typo is never silently ignored.
    """
    parser, commands = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "config", None):
        sub = commands[args.command]
        valid = sorted(a.dest for a in sub._actions if a.dest not in ("help", "config", "output", "overwrite") and a.option_strings)
        cfg = _file_config(args.config)
        unknown = sorted(set(cfg) - set(valid))
        if unknown:
            raise ConfigError(f"{args.config}: unknown setting(s) {', '.join(map(repr, unknown))} for `topicfit {args.command}`; "
                              f"valid names: {', '.join(valid)}")
        sub.set_defaults(**cfg)
        args = parser.parse_args(argv)
    return args


def _settings(args: argparse.Namespace, cls) -> dict:
    """Field values for dataclass ``cls`` from the parsed arguments (flags, else the config file)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names and v is not None}


def data_config(args: argparse.Namespace) -> DataConfig:
    values = _settings(args, DataConfig)
    if values.get("dataset", "20newsgroups") != "20newsgroups" and "labels" not in values:
        values["labels"] = "identity"
    return DataConfig(**values)


# --- commands -------------------------------------------------------------------------------------


def cmd_baseline(args) -> int:
    config = data_config(args)
    splits = load_splits(config)  # loaded once for every method
    methods = list(BASELINES) if args.method == "all" else [args.method]
    written = []
    for method in methods:
        output = Path(args.output) / method if args.method == "all" else Path(args.output)
        model = BaselineClassifier(BaselineConfig(method=method, seed=config.seed))
        run_dir, run, metrics = fit_run(model, config, output, splits=splits, overwrite=args.overwrite)
        written.append((str(run_dir), run, metrics))
    print(compare_table(written))
    return 0


def train_config_from(args) -> TrainConfig:
    values = _settings(args, TrainConfig)
    if values.get("class_weight") == "none":
        values["class_weight"] = None
    if values.get("attention_dropout") is not None and values["attention_dropout"] < 0:
        values["attention_dropout"] = None
    return TrainConfig(**values)


def cmd_train(args) -> int:
    config = data_config(args)
    train_config = train_config_from(args)
    # under torchrun / accelerate launch every process runs this; process 0 owns the run folder
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    logger.info("training %s on %s labels -> %s (process %d of %d)", train_config.model, config.labels, args.output, rank, world)
    written = fit_run(TransformerClassifier(train_config), config, args.output, overwrite=args.overwrite, resume=args.resume,
                      split_names=SPLITS[1:] if args.no_train_eval else SPLITS, train_sample=args.train_eval_samples or None,
                      process_index=rank)
    if written is not None:
        _print_summary(*written)
    return 0


def embed_first(texts, config) -> bool:
    """Under ``torchrun``/``accelerate launch``: every process embeds its share of ``texts`` into the cache (the
    costly step, see ``encoders.embed_texts``); returns False in the processes other than 0, which stop there."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return True
    embed_texts(texts, model=config.model, max_length=config.max_length, whole=config.whole, max_windows=config.max_windows,
                batch_size=config.batch_size, precision=config.precision, distributed=True)
    rank, world = process_group()
    if rank:
        logger.info("process %d of %d: embeddings shared; process 0 fits and writes the run", rank, world)
    return rank == 0


def cmd_embed(args) -> int:
    config = data_config(args)
    embed_config = EmbedConfig(**_settings(args, EmbedConfig))
    splits = load_splits(config)
    if not embed_first([t for docs in (splits.train, splits.validation, splits.test) for t in docs.texts], embed_config):
        return 0
    _print_summary(*fit_run(EmbedClassifier(embed_config), config, args.output, splits=splits, overwrite=args.overwrite))
    return 0


def cmd_distill(args) -> int:
    teacher, _ = read_run(args.teacher)
    config = DataConfig.from_dict({**teacher["data_config"], **({"max_train_samples": args.max_train_samples} if args.max_train_samples else {})})
    splits = load_splits(config)
    train_config = dataclasses.replace(train_config_from(args), teacher=os.path.relpath(Path(args.teacher).resolve()))
    soft, info = teacher_probabilities(args.teacher, splits, folds=train_config.teacher_folds, calibrate=train_config.teacher_calibration)
    written = fit_run(TransformerClassifier(train_config), config, args.output, splits=splits, overwrite=args.overwrite, resume=args.resume,
                      split_names=SPLITS[1:] if args.no_train_eval else SPLITS, train_sample=args.train_eval_samples or None,
                      fit_options={"soft_targets": soft, "teacher_info": info})
    _print_summary(*written)
    return 0


def cmd_topics(args) -> int:
    if args.names:
        if not args.run:
            raise ConfigError("--names needs the topics run to rename: topicfit topics RUN --names names.yaml")
        path = rename_topics(args.run, args.names)
        print(path)
        print(f"train a classifier on the named topics: topicfit train --dataset {path} --id-column id --output runs/named-topics")
        return 0
    if not args.output:
        raise ConfigError("topicfit topics needs --output (or RUN --names FILE to rename a finished run)")
    config = TopicsConfig(**_settings(args, TopicsConfig))
    if (args.dataset or "20newsgroups") == "20newsgroups":
        scheme = get_scheme("fine" if args.labels == "none" else args.labels)
        parts = [load_newsgroups(data=args.data, subset=subset) for subset in ("train", "test")]
        docs = Documents([i for d in parts for i in d.ids], [t for d in parts for t in d.texts],
                         [scheme.map_label(y) if args.labels != "none" else "" for d in parts for y in d.labels])
    else:
        docs = load_table(args.dataset, text_column=args.text_column, label_column=args.label_column, id_column=args.id_column)
    if not embed_first(docs.texts, config):
        return 0
    run_dir, metrics = fit_topics_run(docs, args.output, config, labels=any(docs.labels), overwrite=args.overwrite)
    print(json.dumps({k: v for k, v in metrics.items() if not isinstance(v, (list, dict))}, indent=2))
    print(f"run written to {run_dir}")
    return 0


def cmd_ensemble(args) -> int:
    config, splits = ensemble_splits([read_run(r)[0] for r in args.runs], args.labels)
    model = EnsembleClassifier.from_runs(args.runs, load_run=load_run, splits=splits, config=EnsembleConfig(combine=args.combine))
    _print_summary(*fit_run(model, config, args.output, splits=splits, overwrite=args.overwrite))
    return 0


def cmd_evaluate(args) -> int:
    clf = TopicClassifier.load(args.run, trust=args.trust, backend=args.backend, long_documents=args.long_documents)
    if args.data:
        docs = load_table(args.data, text_column=args.text_column or "text", label_column=args.label_column or "label", id_column=args.id_column)
        unknown = sorted(set(docs.labels) - set(map(str, clf.classes_)))
        if unknown:
            raise DataError(f"{args.data}: labels {unknown[:10]} are not among the run's classes {list(clf.classes_)}")
        name = str(args.data)
    else:
        config = DataConfig.from_dict({**clf.run["data_config"], **({"max_eval_samples": args.max_eval_samples} if args.max_eval_samples else {})})
        docs = load_splits(config).test
        name = "test"
    labels, proba, seconds = predict_documents(clf.estimator, docs.texts)
    m = split_metrics(references=docs.labels, predictions=labels, probabilities=proba, classes=list(map(str, clf.classes_)), seconds=seconds)
    result = {"run": str(args.run), "data": name, **m}
    if args.output:
        write_json(args.output, result)
    print(json.dumps({k: v for k, v in result.items() if k not in ("per_class", "confusion_matrix")}, indent=2))
    return 0


def cmd_predict(args) -> int:
    clf = TopicClassifier.load(args.run, trust=args.trust, backend=args.backend, long_documents=args.long_documents)  # fails before stdin
    fmt = guess_format(args.input) if args.format == "auto" else args.format
    raw = sys.stdin.buffer.read() if args.input == "-" else _read_bytes(args.input)
    records = read_inputs(raw, fmt=fmt, text_field=args.text_field)
    out = predict_inputs(clf, records, top_k=args.top_k)
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out)
    if args.output:
        Path(args.output).write_text(lines, encoding="utf-8")
    else:
        sys.stdout.write(lines)
    errors = sum(1 for r in out if "error" in r)
    logger.info("%d records, %d predicted, %d errors", len(out), len(out) - errors, errors)
    return 0


def _read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None


def cmd_compare(args) -> int:
    runs = []
    for r in args.runs:
        try:
            run, metrics = read_run(r)
        except RunError as exc:
            logger.warning("skipping %s", exc)
            continue
        runs.append((r, run, metrics))
    table = compare_table(runs, split=args.split)
    print(table)
    if args.output:
        Path(args.output).write_text(table + "\n", encoding="utf-8")
    return 0


def cmd_serve(args) -> int:
    from .serve import serve

    serve(args.run, host=args.host, port=args.port, trust=args.trust, backend=args.backend, long_documents=args.long_documents,
          max_texts=args.max_texts,
          max_text_chars=args.max_text_chars, max_body_bytes=args.max_body_bytes)
    return 0


def cmd_tune(args) -> int:
    from .tune import tune

    if args.method:
        kind, config = "baseline", BaselineConfig(method=args.method, seed=args.seed or 42)
    else:
        kind, config = "transformer", train_config_from(args)
    summary = tune(data_config(args), args.output, kind=kind, config=config, trials=args.trials, timeout_minutes=args.timeout,
                   quick=args.quick, quick_samples=args.quick_samples, resume=args.resume, overwrite=args.overwrite)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_report(args) -> int:
    from .report import write_report

    print(write_report(args.runs, args.output))
    return 0


def cmd_export(args) -> int:
    run, _ = read_run(args.run)
    cls = get_kind(run.get("kind"))
    if not hasattr(cls, "export"):
        raise RunError(f"{args.run} is a {run.get('kind')} run; only runs of the kinds "
                       f"{[k for k, c in KINDS.items() if hasattr(c, 'export')]} export to ONNX")
    for path in export_run(args.run, cls.export, cls.load, int8=args.int8, check_posts=args.check_posts):
        print(path)
    return 0


def _print_summary(run_dir: Path, run: dict, metrics: dict) -> None:
    print("\n".join(metrics_table(metrics)))
    print(f"run written to {run_dir}")


COMMANDS = {"topics": cmd_topics, "baseline": cmd_baseline, "train": cmd_train, "embed": cmd_embed, "distill": cmd_distill, "ensemble": cmd_ensemble, "evaluate": cmd_evaluate,
            "predict": cmd_predict, "serve": cmd_serve, "export": cmd_export, "report": cmd_report, "tune": cmd_tune, "compare": cmd_compare}


def main(argv: list[str] | None = None) -> int:
    """Run one command. A :class:`TopicfitError` (a user's mistake) is reported in one line, with its traceback
    under ``-v``; any other exception is a bug and keeps its traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    verbose = "-v" in argv or "--verbose" in argv  # known before parsing, so a bad --config file also shows its traceback
    command = "topicfit"
    try:
        args = parse_args(argv)
        command = f"topicfit {args.command}"
        level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True)
        return COMMANDS[args.command](args)
    except TopicfitError as exc:
        if verbose:
            traceback.print_exc()
        print(f"{command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{command}: interrupted; an unfinished run folder has no run.json and is never taken for a finished one", file=sys.stderr)
        return 130
