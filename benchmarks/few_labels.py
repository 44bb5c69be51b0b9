"""Few labels: k labelled posts per class from the training split, each method fitted on those posts only, scored
on the test split (a fixed stratified sample of it, the same posts for every method).

    python benchmarks/few_labels.py                                  # k=8, 7 coarse classes, seed 1
    python benchmarks/few_labels.py --k 8 16 --seeds 1 2 3           # a learning curve (slow on 2 CPU cores)
    python benchmarks/few_labels.py --unlabelled 2000                # fewlabel also learns from 2,000 unlabelled posts
    python benchmarks/few_labels.py --dataset FILE --output F.json   # an outside corpus (benchmarks/outside_data.py)

Methods: ``tfidf-svm`` and ``tfidf-logreg`` (the TF-IDF baselines), ``embed-minilm`` (frozen MiniLM, mean-pooled
whole posts, logistic regression with C=4: no validation split to choose it on) and ``fewlabel-minilm`` (SetFit's
method, :mod:`topicfit.kinds.fewlabel`, its defaults: 20 pair iterations, 1 epoch, 128 tokens). Each row also
has the 5-fold cross-validated macro-F1 on the k labelled posts (``cv_macro_f1``): honest for the TF-IDF and
frozen-encoder heads, optimistic for fewlabel (its encoder was tuned on every labelled post).
Writes ``benchmarks/results/few-labels.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "src"))

from common import data_config, portable  # noqa: E402
from topicfit.data import DataConfig, load_splits, sample_documents  # noqa: E402
from topicfit.kinds.baseline import BaselineClassifier, BaselineConfig  # noqa: E402
from topicfit.kinds.embed import EmbedClassifier, EmbedConfig  # noqa: E402
from topicfit.kinds.fewlabel import FewLabelClassifier, FewLabelConfig, cross_validate_head, make_head  # noqa: E402
from topicfit.metrics import compute_metrics  # noqa: E402
from topicfit.runs import cpu_name, environment  # noqa: E402

METHODS = ("tfidf-svm", "tfidf-logreg", "embed-minilm", "fewlabel-minilm", "setfit-minilm", "fit")
EMBED_C = 4.0
SETFIT_PYTHON = ROOT / ".venv-setfit" / "bin" / "python"  # benchmarks/setup_setfit.sh makes it: SetFit is a peer, not a dependency


def sample_per_class(labels: list[str], k: int, seed: int) -> list[int]:
    """``k`` training posts of each class, drawn with ``seed`` (sorted indices); ``k=0``: every training post."""
    if k == 0:
        return list(range(len(labels)))
    rng = np.random.default_rng(seed)
    y = np.asarray(labels)
    return sorted(int(i) for c in sorted(set(labels)) for i in rng.choice(np.flatnonzero(y == c), k, replace=False))


def cv_of_pipeline(make, X: list[str], y: list[str], seed: int) -> float | None:
    """Out-of-fold macro-F1 of refits of ``make()`` by stratified k-fold over the labelled posts (k = min(5, k per class))."""
    from sklearn.model_selection import StratifiedKFold

    folds = min(5, min(y.count(c) for c in set(y)))
    if folds < 2:
        return None
    predicted = [None] * len(y)
    for train, held in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        model = make().fit([X[i] for i in train], [y[i] for i in train])
        for i, p in zip(held, model.predict([X[i] for i in held])):
            predicted[i] = p
    return round(compute_metrics(references=y, predictions=predicted, classes=sorted(set(y)))["macro_f1"], 4)


class Predictions:
    """Predictions made elsewhere (the SetFit peer's process), behind ``predict``."""

    def __init__(self, texts, predictions):
        self.by_text = dict(zip(texts, predictions))

    def predict(self, texts):
        return [self.by_text[t] for t in texts]


def run_setfit(X, y, seed: int, test_texts) -> tuple[object, dict]:
    """SetFit 1.2 on the same MiniLM body, in its own virtual environment (benchmarks/setfit_peer.py)."""
    import subprocess
    import tempfile

    from topicfit.weights import minilm_dir

    if not SETFIT_PYTHON.exists():
        raise SystemExit(f"{SETFIT_PYTHON} is missing: run benchmarks/setup_setfit.sh first (SetFit 1.2 in a separate environment)")
    with tempfile.TemporaryDirectory() as tmp:
        job, out = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job.write_text(json.dumps({"body": str(minilm_dir()), "seed": seed, "max_seq_length": FewLabelConfig().max_length,
                                   "train_texts": X, "train_labels": y,
                                   "test_texts": list(test_texts)}))
        subprocess.run([str(SETFIT_PYTHON), str(ROOT / "setfit_peer.py"), str(job), str(out)], check=True)
        result = json.loads(out.read_text())
    return Predictions(test_texts, result.pop("predictions")), result


def run_fit(X, y, seed: int, unlabelled, test, budget: float) -> tuple[object, dict]:
    """``topicfit.fit`` as a user runs it on a file of k labelled posts a class plus unlabelled rows (empty label),
    with the benchmark's test sample as its test file (so no labelled post is spent on a test split)."""
    import tempfile

    import topicfit
    from topicfit.api import write_documents

    tmp = Path(tempfile.mkdtemp(prefix="few-labels-fit-"))
    data = write_documents(list(X) + list(unlabelled or []), list(y) + [None] * len(unlabelled or []), tmp / "data.jsonl")
    test_file = write_documents(test.texts, test.labels, tmp / "test.jsonl")
    config = DataConfig(dataset=str(data), labels="identity", test_file=str(test_file), id_column="id", seed=seed)
    start = time.perf_counter()
    best = topicfit.fit(config, budget=budget, output=tmp / "fit")
    board = best.leaderboard
    chosen = next(r for r in board if r.get("chosen"))
    return best, {"chosen": chosen["name"], "fit_wall_seconds": round(time.perf_counter() - start, 1), "budget_minutes": budget,
                  "candidates": [{k: r.get(k) for k in ("name", "cv_macro_f1", "validation_macro_f1", "test_accuracy", "test_macro_f1",
                                                        "skipped")} for r in board]}


def fit_one(method: str, X, y, seed: int, unlabelled) -> tuple[object, float | None, dict]:
    """The fitted model, its cross-validated macro-F1 on the labelled posts, and what else to record."""
    if method.startswith("tfidf-"):
        make = lambda: BaselineClassifier(BaselineConfig(method=method, seed=seed))  # noqa: E731
        return make().fit(X, y), cv_of_pipeline(make, X, y, seed), {}
    if method.startswith("embed-"):
        model = EmbedClassifier(EmbedConfig(model=method.split("-", 1)[1], head="logreg", C=EMBED_C, seed=seed)).fit(X, y)
        cv = cross_validate_head(model.embed(X), y, lambda: model._head("logreg", EMBED_C), seed=seed)  # frozen: an honest CV
        return model, cv and cv["macro_f1"], {"C": EMBED_C}
    model = FewLabelClassifier(FewLabelConfig(model=method.split("-", 1)[1], seed=seed)).fit(X, y, X_unlabelled=unlabelled)
    return model, model.validation_macro_f1_, {"contrastive": model.contrastive_, "unlabelled": model.unlabelled_}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, nargs="+", default=[8], help="labelled posts per class (0: the whole training split)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1], help="one sample of labelled posts per seed")
    parser.add_argument("--labels", default="coarse", help="the label scheme (coarse: 7 classes)")
    parser.add_argument("--dataset", help="a labelled file (text, label, id) instead of 20 Newsgroups, its own labels (identity; "
                                          "20%% held out, stratified, as the test split): an outside corpus, benchmarks/outside_data.py")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--test-samples", type=int, default=2000, help="stratified sample of the test split scored (0: all 7,532)")
    parser.add_argument("--unlabelled", type=int, default=0, help="fewlabel and fit learn from this many other training posts, labels hidden")
    parser.add_argument("--fit-budget", type=float, default=6.0, help="minutes of each `topicfit fit`")
    parser.add_argument("--resume", action="store_true", help="keep the rows --output already has and measure only the others")
    parser.add_argument("--output", default=str(ROOT / "results" / "few-labels.json"))
    args = parser.parse_args()
    splits = load_splits(data_config(args.dataset, args.labels))
    test = sample_documents(splits.test, args.test_samples or None, seed=0, what="few-labels test")
    classes = list(splits.classes)
    rows = []
    if args.resume and Path(args.output).exists():  # keep what an earlier (killed) run of the same command measured
        previous = json.loads(Path(args.output).read_text())
        if previous.get("test_posts") != len(test) or previous.get("classes") != classes:
            parser.error(f"--resume: {args.output} was measured on {previous.get('test_posts')} test posts of "
                         f"{len(previous.get('classes') or [])} classes, not {len(test)} of {len(classes)}; give the same --labels and --test-samples")
        rows = previous["rows"]  # every row, also those of other --k / --seeds / --methods (the file is one table)
        args.earlier_commands = previous.get("commands") or [previous["command"]]
    done = {(r["k"], r["seed"], r["method"]) for r in rows}
    started = time.perf_counter()
    for k in args.k:
        for seed in args.seeds:
            chosen = sample_per_class(splits.train.labels, k, seed)
            X, y = [splits.train.texts[i] for i in chosen], [splits.train.labels[i] for i in chosen]
            rest = sorted(set(range(len(splits.train))) - set(chosen))
            unlabelled = [splits.train.texts[i] for i in np.random.default_rng(seed).choice(rest, min(args.unlabelled, len(rest)), replace=False)] \
                if args.unlabelled and rest else None
            for method in args.methods:
                if (k, seed, method) in done:
                    continue
                start = time.perf_counter()
                if method == "setfit-minilm":
                    (model, extra), cv = run_setfit(X, y, seed, test.texts), None
                elif method == "fit":
                    (model, extra), cv = run_fit(X, y, seed, unlabelled, test, args.fit_budget), None
                else:
                    model, cv, extra = fit_one(method, X, y, seed, unlabelled if method.startswith("fewlabel") else None)
                fit_seconds = time.perf_counter() - start
                start = time.perf_counter()
                predicted = model.predict(test.texts)
                m = compute_metrics(references=test.labels, predictions=predicted, classes=classes)
                rows.append({"k": k, "seed": seed, "method": method, "labelled": len(X), "accuracy": round(m["accuracy"], 4),
                             "macro_f1": round(m["macro_f1"], 4), "weighted_f1": round(m["weighted_f1"], 4), "cv_macro_f1": cv,
                             "fit_seconds": round(fit_seconds, 1), "predict_seconds": round(time.perf_counter() - start, 1), **extra})
                print(json.dumps(rows[-1]), flush=True)
                write_results(args, rows, test, classes, started)  # after each row: a killed run keeps what it measured
    for s in write_results(args, rows, test, classes, started)["summary"]:
        print(json.dumps(s))
    return 0


def write_results(args, rows: list[dict], test, classes: list[str], started: float) -> dict:
    summary = []
    for k in sorted({r["k"] for r in rows}):
        for method in dict.fromkeys(r["method"] for r in rows):  # every row the file keeps, not only this invocation's
            group = [r for r in rows if r["k"] == k and r["method"] == method]
            if not group:
                continue
            summary.append({"k": k, "method": method, "seeds": len(group),
                            **{f"{name}_mean": round(float(np.mean([r[name] for r in group])), 4) for name in ("accuracy", "macro_f1", "weighted_f1")}})
    env = environment()
    command = portable("python benchmarks/few_labels.py " + " ".join(sys.argv[1:]))
    result = {**({"dataset": Path(args.dataset).name} if args.dataset else {}),
              "rows": rows, "summary": summary, "test_posts": len(test), "classes": classes, "command": command,
              "commands": list(dict.fromkeys([*getattr(args, "earlier_commands", []), command])),  # --resume: every run that added rows
              "seconds": round(time.perf_counter() - started, 1),
              "cpu": cpu_name(), "cores": env["machine"]["cores"], "versions": env["versions"], "git_commit": env["git_commit"],
              "date": dt.date.today().isoformat()}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    plot(result, Path(args.output).with_suffix(".svg"))
    return result


def plot(result: dict, path: Path) -> None:
    """The learning curve: test accuracy and macro-F1 (mean ± std over the seeds) against labelled posts a class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"  # text as text: a small file
    rows = result["rows"]
    ks = sorted({r["k"] for r in rows if r["k"]})
    if not ks:
        return
    whole = max(ks) * 2  # where "all" is drawn
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    for method in dict.fromkeys(r["method"] for r in rows):
        points = sorted({r["k"] for r in rows if r["method"] == method}, key=lambda k: k or whole)
        for ax, key in zip(axes, ("accuracy", "macro_f1")):
            means = [np.mean([r[key] for r in rows if r["method"] == method and r["k"] == k]) for k in points]
            stds = [np.std([r[key] for r in rows if r["method"] == method and r["k"] == k]) for k in points]
            ax.errorbar([k or whole for k in points], means, yerr=stds, marker="o", capsize=3, label=method)
    for ax, title in zip(axes, ("test accuracy", "test macro-F1")):
        ax.set_xscale("log", base=2)
        ax.set_xticks([*ks, whole], [*map(str, ks), "all"])
        ax.set_xlabel("labelled posts a class")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{len(result['classes'])} classes, {result['test_posts']} test posts, {result['date']} ({result['cpu']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
