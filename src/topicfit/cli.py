"""The ``topicfit`` command: a thin layer that parses, sets up logging and wires the modules together.

    topicfit baseline --labels coarse --method tfidf-svm --output runs/coarse-svm
    topicfit train    --labels coarse --model minilm --output runs/coarse-minilm
    topicfit ensemble runs/coarse-minilm runs/coarse-svm --output runs/coarse-ensemble
    topicfit evaluate runs/coarse-minilm [--data my_labelled.csv]
    topicfit predict  runs/coarse-minilm posts.jsonl --top-k 3
    topicfit compare  runs/*

The settings' flags are generated from the settings dataclasses (:func:`topicfit.settings.add_settings`), so
their names, types, help and defaults are written once, in the library; :data:`COMMAND_ARGS` says which
dataclasses each command takes, and the few flags that are no setting (``--output``, ``--resume``, ...) are
written here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Callable, NamedTuple

from . import __version__
from .backends import BACKENDS, DEFAULT_BACKEND
from .data import CorpusConfig, DataConfig, load_corpus, load_splits, load_table
from .embeddings import embed_texts
from .encoders import LONG_DOCUMENTS, process_group
from .errors import ConfigError, DataError, RunError, TopicfitError
from .kinds.baseline import BASELINES, TUNABLE, BaselineClassifier, BaselineConfig
from .kinds.embed import EmbedClassifier, EmbedConfig
from .kinds.fewlabel import FewLabelClassifier, FewLabelConfig
from .kinds.ensemble import EnsembleClassifier, EnsembleConfig, ensemble_splits
from .export import CHECK_POSTS, export_run
from .kinds.transformer import TrainConfig, TransformerClassifier
from .metrics import metrics_table, split_metrics
from .predict import CHUNK_SIZE, INPUT_FORMATS, MAX_TEXT_CHARS, TopicClassifier, predict_file
from .registry import KINDS, get_kind, load_run
from .render import compare_table
from .runs import SPLITS, read_run, write_json
from .serve import API_KEY_ENV, BATCH_WAIT_MS, MAX_BATCH, MAX_BODY_BYTES, MAX_TEXTS, MAX_UPLOAD_BYTES
from .settings import add_settings, apply_config, read_config, settings_from_args
from .topics import TopicsConfig, fit_topics_run, rename_topics
from .auto import LEADERBOARD_TABLE, FitConfig, FitJob
from .teacher import Teacher
from .suggest import SuggestConfig, read_pool, suggest
from .workflow import TRAIN_EVAL_SAMPLES, fit_run, predict_documents

logger = logging.getLogger("topicfit")


# --- arguments ------------------------------------------------------------------------------------


class Section(NamedTuple):
    """A settings dataclass as one group of flags: ``add_settings(group, cls, **options)``."""

    title: str
    cls: type
    options: dict = {}


DISTILL_SETTINGS = ("distill_alpha", "teacher_folds", "teacher_calibration")  # TrainConfig's fields only `distill` takes
EVAL_DATA_SETTINGS = ("text_column", "label_column", "id_column", "max_eval_samples")  # what `evaluate` reads a file or split with
BACKEND_HELP = ("transformer runtime; auto: the fastest this machine has for the run within 0.3 points of fp32 "
                "(after `topicfit export RUN --int8`; torch otherwise) (default: %(default)s)")


def _run_args(p: argparse.ArgumentParser, *, output_required: bool = True) -> None:
    p.add_argument("--output", "-o", required=output_required, help="run folder to write, e.g. runs/coarse-minilm")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    p.add_argument("--config", help="JSON or YAML file with the same settings as the flags (flags win)")


def _fit_args(p: argparse.ArgumentParser) -> None:
    """A fine-tuning run's flags that are no model setting."""
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--no-train-eval", action="store_true", help="skip evaluating on the training split")
    p.add_argument("--train-eval-samples", type=int, default=TRAIN_EVAL_SAMPLES, metavar="INT",
                   help="score a stratified sample of this many training posts; 0: all (default: %(default)s)")


def _inference_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND, help=BACKEND_HELP)
    p.add_argument("--long-documents", choices=LONG_DOCUMENTS, help="transformers: cut long texts or pool overlapping windows (default: the run's)")
    p.add_argument("--trust", action="store_true", help="load baseline files with non-scikit-learn types")


def _train_args(p: argparse.ArgumentParser) -> None:
    _run_args(p)
    _fit_args(p)


def _topics_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", nargs="?", help="a finished topics run to rename (--names), update (--update) or reduce (--n-topics K)")
    p.add_argument("--names", help="YAML/JSON {topic id: name} (ids sharing a name merge); writes RUN/labelled.jsonl")
    p.add_argument("--update", metavar="FILE", help="new posts (CSV/JSONL/Parquet; --text-column, --id-column, --date-column): assign "
                                                    "them, move the topics, write how far in RUN/updates.json (RUN itself, or --output)")
    _run_args(p, output_required=False)


def _tune_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", choices=TUNABLE, help="tune a TF-IDF baseline instead of a transformer")
    p.add_argument("--trials", type=int, default=10, help="settings tried (default: %(default)s)")
    p.add_argument("--timeout", type=float, help="minutes to search at most (a transformer trial still training then is stopped)")
    p.add_argument("--quick", action="store_true", help="transformers: trials train on a stratified subset of --quick-samples posts")
    p.add_argument("--quick-samples", type=int, default=1000, help="training posts of a quick trial (default: %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted search")
    _run_args(p)


def _distill_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("teacher", help="a finished run (any kind with probabilities) whose data the student trains on")
    _run_args(p)
    _fit_args(p)


def _ensemble_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", help="two or more finished runs trained on the same posts (their label schemes may differ, see --labels)")
    p.add_argument("--labels", help="the ensemble's label scheme (default: the first run's); runs trained on a finer scheme "
                                    "join by summing their probabilities, e.g. fine runs in a coarse ensemble")
    _run_args(p)


def _evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run")
    p.add_argument("--data", help="a labelled CSV/JSONL/Parquet file (default: the run's own test split)")
    p.add_argument("--output", "-o", help="write the metrics JSON here")
    _inference_args(p)


def _predict_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run")
    p.add_argument("input", nargs="?", default="-", help="file of plain-text lines, JSONL with 'text', or CSV; '-' is stdin")
    p.add_argument("--format", choices=INPUT_FORMATS, default="auto", help="input format; auto: by the file name (default: %(default)s)")
    p.add_argument("--text-field", default="text", help="JSONL field / CSV column holding the text (default: %(default)s)")
    p.add_argument("--top-k", type=int, default=3, help="labels listed per record, best first (default: %(default)s)")
    p.add_argument("--output", "-o", help="write JSONL here instead of stdout (a chunk at a time, as it goes)")
    p.add_argument("--resume", action="store_true",
                   help="continue a killed run: keep the complete lines already in --output, skip that many input records, append the rest")
    p.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, help="records read, predicted and written together (default: %(default)s)")
    _inference_args(p)


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s, loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    p.add_argument("--max-texts", type=int, default=MAX_TEXTS, help="texts per request (default: %(default)s)")
    p.add_argument("--max-text-chars", type=int, default=MAX_TEXT_CHARS, help="characters per text (413 above; default: %(default)s)")
    p.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES, help="bytes per request body (413 above; default: %(default)s)")
    p.add_argument("--max-upload-bytes", type=int, default=MAX_UPLOAD_BYTES,
                   help="bytes per file uploaded to /predict-file (413 above; default: %(default)s)")
    p.add_argument("--batch-wait-ms", type=float, default=BATCH_WAIT_MS,
                   help="gather concurrent requests this long into one prediction; 0: each request alone (default: %(default)s)")
    p.add_argument("--max-batch", type=int, default=MAX_BATCH, help="texts in one batched prediction (default: %(default)s)")
    p.add_argument("--batch-size", type=int, metavar="INT", help="transformers: texts per forward pass within a batched prediction, "
                   "sorted by length first (fewer pad tokens for posts of mixed lengths); default: the backend's")
    p.add_argument("--api-key", help=f"require this key on /predict (header 'Authorization: Bearer KEY' or 'X-API-Key: KEY'); "
                                     f"${API_KEY_ENV} keeps it out of the process list (default: ${API_KEY_ENV}, else none)")
    _inference_args(p)


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run")
    p.add_argument("--format", choices=("onnx",), default="onnx")
    p.add_argument("--int8", action="store_true", help="also write the int8 models (dynamic for onnxruntime, static for OpenVINO)")
    p.add_argument("--check-posts", type=int, default=CHECK_POSTS,
                   help="validation posts every backend is scored on against fp32 (backends.json; 0: no check; default: %(default)s)")


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+")
    p.add_argument("--output", "-o", required=True, help="report.html (figures embedded) or report.md (figures beside it)")


def _suggest_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a finished run with probabilities, or a topics run (cold start: no labels yet)")
    p.add_argument("--pool", required=True, help="unlabelled posts: plain-text lines, JSONL with 'text' (and 'id'), or CSV; '-' is stdin")
    p.add_argument("--format", choices=INPUT_FORMATS, default="auto", help="pool format; auto: by the file name (default: %(default)s)")
    p.add_argument("--text-field", default="text", help="JSONL field / CSV column holding the text (default: %(default)s)")
    p.add_argument("--labelled", help="the posts already labelled: a file as fit's --dataset (columns text and label; rows with "
                                      "an empty label are left out), e.g. the run's training file; their copies in the pool are not "
                                      "suggested, and --uncertainty contrastive needs them")
    p.add_argument("--n", type=int, default=50, help="posts to suggest (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42, help="k-means' seed (default: %(default)s)")
    p.add_argument("--output", "-o", help="write the JSON lines here instead of stdout")


def _compare_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+")
    p.add_argument("--split", default="test", choices=SPLITS, help="the split whose scores are compared (default: %(default)s)")
    p.add_argument("--output", "-o", help="also write the table to this file")


# command -> (help, the settings dataclasses it takes, in order, and a function adding its other arguments). A
# setting two dataclasses share (seed) is one flag, in the first group, and fills both (settings_from_args).
COMMAND_ARGS: dict[str, tuple[str, list[Section], Callable[[argparse.ArgumentParser], None]]] = {
    "fit": ("the best model for your data within a time budget: baselines, frozen encoders, their ensemble and a distilled "
            "student, chosen on validation; writes a leaderboard and best/",
            [Section("data", DataConfig), Section("fit", FitConfig)], _run_args),
    "baseline": ("train and evaluate scikit-learn baselines",
                 [Section("data", DataConfig),
                  Section("baseline", BaselineConfig, {"overrides": {"method": {
                      "choices": (*BASELINES, "all"), "required": True, "help": "a baseline, or 'all' (one sub-folder each)"}}})],
                 _run_args),
    "train": ("fine-tune a transformer and evaluate it",
              [Section("data", DataConfig), Section("fine-tuning", TrainConfig, {"exclude": DISTILL_SETTINGS})], _train_args),
    "embed": ("frozen encoder (mean-pooled over the whole post) + logistic regression; no backpropagation",
              [Section("data", DataConfig), Section("embedding", EmbedConfig)], _run_args),
    "fewlabel": ("few labelled posts a class: SetFit's contrastive tuning of a sentence encoder, then co-training with a TF-IDF "
                 "head on the rows without a label (or --unlabelled FILE)",
                 [Section("data", DataConfig), Section("few labels", FewLabelConfig)], _run_args),
    "topics": ("discover topics in texts (labels optional); or, with RUN --names, name and merge them",
               [Section("data", CorpusConfig), Section("topics", TopicsConfig)], _topics_args),
    "tune": ("Optuna hyperparameter search on the validation split, then retrain the best",
             [Section("data", DataConfig), Section("fine-tuning", TrainConfig, {"exclude": DISTILL_SETTINGS})], _tune_args),
    "distill": ("train a small transformer on a finished run's probabilities (e.g. an ensemble's): one fast model",
                [Section("data", DataConfig, {"only": ("max_train_samples",)}),
                 Section("distillation", TrainConfig,
                         {"overrides": {"model": {"flags": ["--student", "--model"], "help": "the student encoder"}}})],
                _distill_args),
    "ensemble": ("combine finished runs' probabilities (weights or a stacker), chosen on validation",
                 [Section("ensemble", EnsembleConfig)], _ensemble_args),
    "evaluate": ("re-evaluate a finished run on the test split or a labelled file",
                 [Section("data", DataConfig, {"only": EVAL_DATA_SETTINGS})], _evaluate_args),
    "predict": ("predict topics for texts; writes one JSON line per input record", [], _predict_args),
    "serve": ("serve a finished run over HTTP (FastAPI + uvicorn)", [], _serve_args),
    "export": ("export a fine-tuned run to ONNX (and int8) for fast CPU inference", [], _export_args),
    "report": ("HTML or Markdown report comparing runs: scores, per-class F1, confusions, calibration", [], _report_args),
    "compare": ("Markdown table comparing finished runs", [], _compare_args),
    "suggest": ("the posts to label next from a pool: uncertain for the run and unlike each other (a topics run: each topic's "
                "most representative); one JSON line each", [Section("suggest", SuggestConfig)], _suggest_args),
}


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser and its sub-parsers by command name, from :data:`COMMAND_ARGS`."""
    parser = argparse.ArgumentParser(prog="topicfit", description="Fine-tune transformers and baselines to sort documents into topics.")
    parser.add_argument("--version", action="version", version=f"topicfit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, sections, add_args) in COMMAND_ARGS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_args(p)
        for section in sections:
            add_settings(p.add_argument_group(section.title), section.cls, **section.options)
    return parser, dict(sub.choices)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line; settings from ``--config`` fill in what the flags leave out (flags win).

    An unknown key in the file stops with the key and the valid names, so a typo is never silently ignored.
    """
    parser, commands = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "config", None):
        apply_config(commands[args.command], read_config(args.config), source=args.config)
        args = parser.parse_args(argv)
    return args


def data_config(args: argparse.Namespace) -> DataConfig:
    """The run's data settings; a user's file without ``--labels`` keeps its own labels (identity)."""
    if getattr(args, "labels", None) is None and (getattr(args, "dataset", None) or "20newsgroups") != "20newsgroups":
        return settings_from_args(args, DataConfig, labels="identity")
    return settings_from_args(args, DataConfig)


# --- commands -------------------------------------------------------------------------------------


def cmd_fit(args) -> int:
    job = FitJob(data_config(args), args.output, settings_from_args(args, FitConfig), overwrite=args.overwrite)
    best, _ = job.run()
    print((Path(args.output) / LEADERBOARD_TABLE).read_text())
    print(f"best model: {best}\n  topicfit predict {best} posts.txt\n  topicfit serve {best}")
    return 0


def cmd_baseline(args) -> int:
    config = data_config(args)
    splits = load_splits(config)  # loaded once for every method
    methods = list(BASELINES) if args.method == "all" else [args.method]
    written = []
    for method in methods:
        output = Path(args.output) / method if args.method == "all" else Path(args.output)
        model = BaselineClassifier(settings_from_args(args, BaselineConfig, method=method))
        run_dir, run, metrics = fit_run(model, config, output, splits=splits, overwrite=args.overwrite)
        written.append((str(run_dir), run, metrics))
    print(compare_table(written))
    return 0


def cmd_train(args) -> int:
    config = data_config(args)
    train_config = settings_from_args(args, TrainConfig)
    # under torchrun / accelerate launch every process runs this; process 0 owns the run folder
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    logger.info("training %s on %s labels -> %s (process %d of %d)", train_config.model, config.labels, args.output, rank, world)
    written = fit_run(TransformerClassifier(train_config), config, args.output, overwrite=args.overwrite, resume=args.resume,
                      split_names=SPLITS[1:] if args.no_train_eval else SPLITS, train_sample=args.train_eval_samples,
                      process_index=rank)
    if written is not None:
        _print_summary(*written)
    return 0


def embed_first(texts, config) -> bool:
    """Under ``torchrun``/``accelerate launch``: every process embeds its share of ``texts`` into the cache (the
    costly step, see ``embeddings.embed_texts``); returns False in the processes other than 0, which stop there."""
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
    embed_config = settings_from_args(args, EmbedConfig)
    splits = load_splits(config)
    if not embed_first([t for docs in (splits.train, splits.validation, splits.test) for t in docs.texts], embed_config):
        return 0
    _print_summary(*fit_run(EmbedClassifier(embed_config), config, args.output, splits=splits, overwrite=args.overwrite))
    return 0


def cmd_fewlabel(args) -> int:
    config = data_config(args)
    splits = load_splits(config)
    unlabelled = {"X_unlabelled": splits.unlabelled} if splits.unlabelled else None
    _print_summary(*fit_run(FewLabelClassifier(settings_from_args(args, FewLabelConfig)), config, args.output, splits=splits,
                            overwrite=args.overwrite, fit_options=unlabelled))
    return 0


def cmd_distill(args) -> int:
    teacher, _ = read_run(args.teacher)
    config = DataConfig.from_dict(teacher["data_config"])  # the teacher's data, perhaps with a smaller training split
    cap = settings_from_args(args, DataConfig).max_train_samples
    if cap:
        config = dataclasses.replace(config, max_train_samples=cap)
    splits = load_splits(config)
    train_config = settings_from_args(args, TrainConfig)
    teacher = Teacher(args.teacher, folds=train_config.teacher_folds, calibrate=train_config.teacher_calibration, splits=splits)
    written = fit_run(TransformerClassifier(train_config, teacher=teacher), config, args.output, splits=splits, overwrite=args.overwrite,
                      resume=args.resume, split_names=SPLITS[1:] if args.no_train_eval else SPLITS, train_sample=args.train_eval_samples)
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
    if args.run:  # a finished run: --update FILE, or --n-topics K (merging along its tree)
        from .topics_evolve import reduce_topics_run, update_topics_run

        if args.update:
            reading = settings_from_args(args, CorpusConfig)
            new = load_table(args.update, text_column=reading.text_column, label_column=None, id_column=reading.id_column,
                             date_column=reading.date_column)
            run_dir, entry = update_topics_run(args.run, new, output=args.output, overwrite=args.overwrite)
            print(json.dumps({k: v for k, v in entry.items() if k != "topics"}, indent=2))
        elif args.n_topics:
            run_dir, _ = reduce_topics_run(args.run, args.n_topics, output=args.output, overwrite=args.overwrite)
        else:
            raise ConfigError(f"topicfit topics {args.run}: say what to do with the run: --names FILE, --update FILE or --n-topics K")
        print(f"run written to {run_dir}")
        return 0
    if not args.output:
        raise ConfigError("topicfit topics needs --output (or RUN --names FILE to rename a finished run)")
    config = settings_from_args(args, TopicsConfig)
    docs = load_corpus(settings_from_args(args, CorpusConfig))
    if not embed_first(docs.texts, config):
        return 0
    run_dir, metrics = fit_topics_run(docs, args.output, config, labels=any(docs.labels), overwrite=args.overwrite)
    print(json.dumps({k: v for k, v in metrics.items() if not isinstance(v, (list, dict))}, indent=2))
    print(f"run written to {run_dir}")
    return 0


def cmd_ensemble(args) -> int:
    config, splits = ensemble_splits([read_run(r)[0] for r in args.runs], args.labels)
    model = EnsembleClassifier.from_runs(args.runs, load_run=load_run, splits=splits, config=settings_from_args(args, EnsembleConfig))
    _print_summary(*fit_run(model, config, args.output, splits=splits, overwrite=args.overwrite))
    return 0


def cmd_evaluate(args) -> int:
    clf = TopicClassifier.load(args.run, trust=args.trust, backend=args.backend, long_documents=args.long_documents)
    reading = settings_from_args(args, DataConfig)  # only the flags of EVAL_DATA_SETTINGS exist here
    if args.data:
        docs = load_table(args.data, text_column=reading.text_column, label_column=reading.label_column, id_column=reading.id_column)
        unknown = sorted(set(docs.labels) - set(map(str, clf.classes_)))
        if unknown:
            raise DataError(f"{args.data}: labels {unknown[:10]} are not among the run's classes {list(clf.classes_)}")
        name = str(args.data)
    else:
        config = DataConfig.from_dict({**clf.run["data_config"], **({"max_eval_samples": reading.max_eval_samples} if reading.max_eval_samples else {})})
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
    source = sys.stdin.buffer if args.input == "-" else args.input
    done = predict_file(clf, source, args.output or sys.stdout, fmt=args.format, text_field=args.text_field, top_k=args.top_k,
                        chunk_size=args.chunk_size, resume=args.resume, progress=not args.quiet)
    logger.info("%d records, %d predicted, %d errors%s", done["records"], done["predicted"], done["errors"],
                f" (after {done['skipped']} already written)" if done["skipped"] else "")
    return 0


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
          max_texts=args.max_texts, max_text_chars=args.max_text_chars, max_body_bytes=args.max_body_bytes,
          max_upload_bytes=args.max_upload_bytes, batch_wait_ms=args.batch_wait_ms, max_batch=args.max_batch, api_key=args.api_key,
          batch_size=args.batch_size)
    return 0


def cmd_tune(args) -> int:
    from .tune import tune

    if args.method:
        kind, config = "baseline", settings_from_args(args, BaselineConfig, method=args.method)
    else:
        kind, config = "transformer", settings_from_args(args, TrainConfig)
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


def cmd_suggest(args) -> int:
    texts, ids, indices = read_pool(args.pool, fmt=args.format, text_field=args.text_field)
    labelled = load_table(args.labelled, text_column=args.text_field, unlabelled=[]).texts if args.labelled else None  # its labelled rows
    picks = suggest(args.run, texts, n=args.n, ids=ids, seed=args.seed, config=settings_from_args(args, SuggestConfig), labelled=labelled)
    lines = "".join(json.dumps({**p, "index": indices[p["index"]]}, ensure_ascii=False) + "\n" for p in picks)  # the record's index
    if args.output:
        Path(args.output).write_text(lines, encoding="utf-8")
    else:
        sys.stdout.write(lines)
    return 0


def _print_summary(run_dir: Path, run: dict, metrics: dict) -> None:
    print("\n".join(metrics_table(metrics)))
    print(f"run written to {run_dir}")


COMMANDS = {"fit": cmd_fit, "topics": cmd_topics, "baseline": cmd_baseline, "train": cmd_train, "embed": cmd_embed, "fewlabel": cmd_fewlabel, "distill": cmd_distill, "ensemble": cmd_ensemble, "evaluate": cmd_evaluate,
            "predict": cmd_predict, "serve": cmd_serve, "export": cmd_export, "report": cmd_report, "tune": cmd_tune, "compare": cmd_compare,
            "suggest": cmd_suggest}


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
