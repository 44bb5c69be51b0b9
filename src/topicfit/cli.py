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
import json
import logging
import os
import sys
import time
from dataclasses import fields
from pathlib import Path

from . import __version__
from .data import DATA_ENV, DataConfig, DataError, load_splits
from .runs import MODEL_DIR, RunError, read_run, start_run

logger = logging.getLogger("topicfit")


# --- arguments ------------------------------------------------------------------------------------


def _add_data_args(p: argparse.ArgumentParser, *, for_eval: bool = False) -> None:
    g = p.add_argument_group("data")
    if not for_eval:
        g.add_argument("--dataset", help="'20newsgroups' (default) or a labelled CSV/JSONL/Parquet file")
        g.add_argument("--data", help=f"20 Newsgroups archive (20news-bydate.tar.gz) or folder; overrides ${DATA_ENV}")
        g.add_argument("--labels", help="label scheme: fine | coarse (default) | identity | a JSON/YAML mapping file")
        g.add_argument("--unmapped", choices=("error", "drop"), help="mapping files: what to do with unmapped labels")
        g.add_argument("--keep-headers", action="store_true", default=None, help="keep message headers (LEAKS the label via metadata)")
        g.add_argument("--drop-empty-train", action="store_true", default=None, help="drop documents with no text from train/validation")
        g.add_argument("--validation-size", type=float, help="share of training data for model selection (default 0.1)")
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
    g.add_argument("--model", help="minilm (bundled, offline; default) | distilbert | a Hub id | a local folder")
    g.add_argument("--epochs", type=float)
    g.add_argument("--learning-rate", type=float)
    g.add_argument("--batch-size", type=int)
    g.add_argument("--gradient-accumulation-steps", type=int)
    g.add_argument("--max-length", type=int, help="tokens per document (default 256)")
    g.add_argument("--truncation", choices=("head", "head+tail"))
    g.add_argument("--warmup", type=float, help="share of steps for learning-rate warm-up (default 0.06)")
    g.add_argument("--weight-decay", type=float)
    g.add_argument("--class-weight", choices=("none", "balanced"))
    g.add_argument("--attention-dropout", type=float, help="attention dropout (default 0: fast fused attention); -1 keeps the model's")
    g.add_argument("--early-stopping-patience", type=int, help="epochs without better validation macro-F1 before stopping")
    g.add_argument("--precision", choices=("auto", "bf16", "fp16", "fp32"))
    g.add_argument("--eval-batch-size", type=int)
    g.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    g.add_argument("--no-train-eval", action="store_true", help="skip evaluating on the training split (saves minutes)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="topicfit", description="Fine-tune transformers and baselines to sort documents into topics.")
    parser.add_argument("--version", action="version", version=f"topicfit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    sub = parser.add_subparsers(dest="command", required=True)

    from .baselines import BASELINES

    p = sub.add_parser("baseline", help="train and evaluate scikit-learn baselines")
    p.add_argument("--method", required=True, choices=(*BASELINES, "all"), help="a baseline, or 'all' (one sub-folder each)")
    _add_run_args(p)
    _add_data_args(p)

    p = sub.add_parser("train", help="fine-tune a transformer and evaluate it")
    _add_run_args(p)
    _add_data_args(p)
    _add_train_args(p)

    p = sub.add_parser("tune", help="Optuna hyperparameter search on the validation split, then retrain the best")
    p.add_argument("--method", choices=("tfidf-logreg", "tfidf-svm", "tfidf-ridge", "tfidf-nb"), help="tune a TF-IDF baseline instead of a transformer")
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--timeout", type=float, help="minutes to search at most (a transformer trial still training then is stopped)")
    p.add_argument("--quick", action="store_true", help="transformers: trials train on a stratified subset of --quick-samples posts")
    p.add_argument("--quick-samples", type=int, default=1000)
    _add_run_args(p)
    _add_data_args(p)
    _add_train_args(p)

    p = sub.add_parser("ensemble", help="average two runs' probabilities, weight chosen on validation")
    p.add_argument("runs", nargs=2, help="two finished runs trained on the same data")
    p.add_argument("--output", "-o", required=True)
    p.add_argument("--overwrite", action="store_true")

    p = sub.add_parser("evaluate", help="re-evaluate a finished run on the test split or a labelled file")
    p.add_argument("run")
    p.add_argument("--data", help="a labelled CSV/JSONL/Parquet file (default: the run's own test split)")
    p.add_argument("--output", "-o", help="write the metrics JSON here")
    p.add_argument("--backend", choices=("torch", "onnx", "onnx-int8"), default="torch", help="transformer runtime (onnx: after `topicfit export`)")
    p.add_argument("--trust", action="store_true", help="load baseline files with non-scikit-learn types")
    _add_data_args(p, for_eval=True)

    p = sub.add_parser("predict", help="predict topics for texts; writes one JSON line per input record")
    p.add_argument("run")
    p.add_argument("input", nargs="?", default="-", help="file of plain-text lines, JSONL with 'text', or CSV; '-' is stdin")
    p.add_argument("--format", choices=("auto", "lines", "jsonl", "csv"), default="auto")
    p.add_argument("--text-field", default="text", help="JSONL field / CSV column holding the text")
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--backend", choices=("torch", "onnx", "onnx-int8"), default="torch", help="transformer runtime (onnx: after `topicfit export`)")
    p.add_argument("--output", "-o", help="write JSONL here instead of stdout")
    p.add_argument("--trust", action="store_true", help="load baseline files with non-scikit-learn types")

    p = sub.add_parser("serve", help="serve a finished run over HTTP (FastAPI + uvicorn)")
    p.add_argument("run")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-texts", type=int, default=256, help="texts per request")
    p.add_argument("--max-text-chars", type=int, default=1_000_000, help="characters per text (413 above)")
    p.add_argument("--max-body-bytes", type=int, default=4_000_000, help="bytes per request body (413 above)")
    p.add_argument("--backend", choices=("torch", "onnx", "onnx-int8"), default="torch", help="transformer runtime (onnx: after `topicfit export`)")
    p.add_argument("--trust", action="store_true", help="load baseline files with non-scikit-learn types")

    p = sub.add_parser("export", help="export a fine-tuned run to ONNX (and int8) for fast CPU inference")
    p.add_argument("run")
    p.add_argument("--format", choices=("onnx",), default="onnx")
    p.add_argument("--int8", action="store_true", help="also write a dynamically int8-quantised model")

    p = sub.add_parser("report", help="HTML or Markdown report comparing runs: scores, per-class F1, confusions, calibration")
    p.add_argument("runs", nargs="+")
    p.add_argument("--output", "-o", required=True, help="report.html (figures embedded) or report.md (figures beside it)")

    p = sub.add_parser("compare", help="Markdown table comparing finished runs")
    p.add_argument("runs", nargs="+")
    p.add_argument("--split", default="test", choices=("train", "validation", "test"))
    p.add_argument("--output", "-o", help="also write the table to this file")
    return parser


def _file_config(path: str | None) -> dict:
    if not path:
        return {}
    text = Path(path).read_text(encoding="utf-8")
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        import yaml

        cfg = yaml.safe_load(text) or {}
    else:
        cfg = json.loads(text)
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: expected a mapping of settings")
    return {k.replace("-", "_"): v for k, v in cfg.items()}


def _settings(args: argparse.Namespace, cls) -> dict:
    """Field values for dataclass ``cls``: the config file first, then any flag given on the command line."""
    names = {f.name for f in fields(cls)}
    out = {k: v for k, v in _file_config(getattr(args, "config", None)).items() if k in names}
    out.update({k: v for k, v in vars(args).items() if k in names and v is not None})
    return out


def data_config(args: argparse.Namespace) -> DataConfig:
    values = _settings(args, DataConfig)
    if values.get("dataset", "20newsgroups") != "20newsgroups" and "labels" not in values:
        values["labels"] = "identity"
    return DataConfig(**values)


# --- commands -------------------------------------------------------------------------------------


def cmd_baseline(args) -> int:
    from .baselines import BASELINES, fit_baseline_run
    from .evaluate import compare_table

    config = data_config(args)
    splits = load_splits(config)
    methods = list(BASELINES) if args.method == "all" else [args.method]
    out = Path(args.output)
    written = []
    for method in methods:
        run_dir = start_run(out / method if args.method == "all" else out, overwrite=args.overwrite)
        logger.info("baseline %s -> %s", method, run_dir)
        run, metrics = fit_baseline_run(method, splits, config, run_dir)
        written.append((str(run_dir), run, metrics))
    print(compare_table(written))
    return 0


def train_config_from(args) -> "TrainConfig":  # noqa: F821
    from .train import TrainConfig

    values = _settings(args, TrainConfig)
    if values.get("class_weight") == "none":
        values["class_weight"] = None
    if values.get("attention_dropout") is not None and values["attention_dropout"] < 0:
        values["attention_dropout"] = None
    return TrainConfig(**values)


def cmd_train(args) -> int:
    from .train import fit_transformer_run

    config = data_config(args)
    train_config = train_config_from(args)
    # under torchrun / accelerate launch every process runs this; process 0 owns the run folder
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    if rank == 0:
        run_dir = start_run(args.output, overwrite=args.overwrite, resume=args.resume)
    else:
        run_dir = _wait_for_folder(Path(args.output))
    logger.info("training %s on %s labels -> %s (process %d of %d)", train_config.model, config.labels, run_dir, rank, world)
    splits = load_splits(config)
    results = fit_transformer_run(splits, config, train_config, run_dir, resume=args.resume, eval_train=not args.no_train_eval,
                                  process_index=rank)
    if results is not None:
        _print_summary(run_dir, results)
    return 0


def _wait_for_folder(path: Path, timeout: float = 120.0) -> Path:
    """Other processes of a distributed run wait until process 0 has (re)created the run folder."""
    deadline = time.monotonic() + timeout
    while not path.is_dir() or (path / "run.json").exists():
        if time.monotonic() > deadline:
            raise RunError(f"{path} was not prepared by process 0 within {timeout:.0f}s")
        time.sleep(0.5)
    return path


def cmd_ensemble(args) -> int:
    from .ensemble import fit_ensemble_run

    run_dir, results = fit_ensemble_run(args.runs, args.output, overwrite=args.overwrite)
    _print_summary(run_dir, results)
    return 0


def cmd_evaluate(args) -> int:
    from .data import load_table
    from .evaluate import predict_split, score_split
    from .predict import TopicClassifier

    clf = TopicClassifier.load(args.run, trust=args.trust, backend=args.backend)
    run = clf.run
    if args.data:
        docs = load_table(args.data, text_column=args.text_column or "text", label_column=args.label_column or "label", id_column=args.id_column)
        unknown = sorted(set(docs.labels) - set(map(str, clf.classes_)))
        if unknown:
            raise DataError(f"{args.data}: labels {unknown[:10]} are not among the run's classes {list(clf.classes_)}")
        name = str(args.data)
    else:
        config = DataConfig.from_dict({**run["data_config"], **({"max_eval_samples": args.max_eval_samples} if args.max_eval_samples else {})})
        docs = load_splits(config).test
        name = "test"
    preds, proba, seconds = predict_split(clf, docs.texts)
    m = score_split(name, docs, predictions=preds, probabilities=proba, classes=list(map(str, clf.classes_)), seconds=seconds)
    result = {"run": str(args.run), "data": name, **m}
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k not in ("per_class", "confusion_matrix")}, indent=2))
    return 0


def cmd_predict(args) -> int:
    from .predict import TopicClassifier, guess_format, predict_inputs, read_inputs

    clf = TopicClassifier.load(args.run, trust=args.trust, backend=args.backend)  # a bad run fails before we wait on stdin
    fmt = guess_format(args.input) if args.format == "auto" else args.format
    raw = sys.stdin.buffer.read() if args.input == "-" else Path(args.input).read_bytes()
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


def cmd_compare(args) -> int:
    from .evaluate import compare_table

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

    serve(args.run, host=args.host, port=args.port, trust=args.trust, backend=args.backend, max_texts=args.max_texts,
          max_text_chars=args.max_text_chars, max_body_bytes=args.max_body_bytes)
    return 0


def cmd_tune(args) -> int:
    from .tune import tune

    summary = tune(data_config(args), args.output, method=args.method, train_config=train_config_from(args), trials=args.trials,
                   timeout_minutes=args.timeout, quick=args.quick, quick_samples=args.quick_samples, resume=args.resume,
                   overwrite=args.overwrite)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_report(args) -> int:
    from .report import write_report

    print(write_report(args.runs, args.output))
    return 0


def cmd_export(args) -> int:
    from .export import export_onnx

    run, _ = read_run(args.run)
    if run.get("kind") != "transformer":
        raise RunError(f"{args.run} is a {run.get('kind')} run; only fine-tuned transformers are exported to ONNX")
    for path in export_onnx(Path(args.run) / MODEL_DIR, int8=args.int8):
        print(path)
    return 0


def _print_summary(run_dir: Path, results: dict) -> None:
    for name in ("train", "validation", "test"):
        if name in results:
            m = results[name]
            loss = "n/a" if m["loss"] is None else f"{m['loss']:.4f}"
            print(f"{name:<10} accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  weighted-F1 {m['weighted_f1']:.4f}  loss {loss}  (n={m['n']})")
    print(f"run written to {run_dir}")


COMMANDS = {"baseline": cmd_baseline, "train": cmd_train, "ensemble": cmd_ensemble, "evaluate": cmd_evaluate,
            "predict": cmd_predict, "serve": cmd_serve, "export": cmd_export, "report": cmd_report, "tune": cmd_tune, "compare": cmd_compare}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True)
    try:
        return COMMANDS[args.command](args)
    except (DataError, RunError, ValueError, KeyError, FileNotFoundError) as exc:
        from .train import ModelError  # noqa: F401  (ModelError is a ValueError)

        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"topicfit {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"topicfit {args.command}: interrupted; an unfinished run folder has no run.json and is never taken for a finished one", file=sys.stderr)
        return 130
