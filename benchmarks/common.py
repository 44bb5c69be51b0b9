"""What more than one benchmark script needs: the folders, the machine a result was made on, running topicfit,
and writing a result. Every script imports from here (and from topicfit), never from another script.

Importing this module puts the repository's ``src/`` first on ``sys.path`` (the one place that does), so the
scripts run from a checkout without installing it.

A result written by :func:`save_result` (and so by :func:`write_result` and :func:`record`) is portable: paths
under the repository are made relative to its root, ``git_commit`` is the full hash of ``git rev-parse HEAD``
(or ``null``), and its file name stays short (``tests/test_benchmark_results.py`` checks all three).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent  # benchmarks/
REPO = ROOT.parent
RESULTS = ROOT / "results"
RUNS = ROOT / "runs"  # git-ignored
sys.path.insert(0, str(REPO / "src"))

from topicfit.data import DataConfig  # noqa: E402

MAX_NAME = 60  # characters in a result's file name, ".json" included (the test allows 64)
MACHINE_PATH = re.compile(r"(?:^|[\s=:'\"(,])(/(?:work|tmp|root|home)/\S*)")


# --- the machine, the commit, topicfit ---------------------------------------------------------------


def git_commit() -> str | None:
    """The full hash of the checked-out commit (``git rev-parse --verify HEAD``), or ``None``; never the word "HEAD"."""
    try:
        out = subprocess.run(["git", "rev-parse", "--verify", "HEAD"], capture_output=True, text=True, timeout=5, cwd=REPO)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else None


def machine() -> dict:
    """The CPU, its core count, the library versions and the commit, as :func:`write_result` and :func:`record` keep them."""
    from topicfit.runs import environment

    env = environment()
    return {"cpu": env["machine"]["cpu"], "cores": env["machine"]["cores"], "versions": env["versions"], "git_commit": env["git_commit"]}


def topicfit(*args: str) -> tuple[list[str], float]:
    """Run ``python -m topicfit ARGS`` (it must succeed); the command and its wall-clock seconds."""
    cmd = [sys.executable, "-m", "topicfit", *args]
    print("$", shlex.join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return cmd, time.perf_counter() - start


def relative(path: str | Path) -> str:
    """A path as the repository root sees it: relative when it lies inside the repository, else unchanged."""
    p = Path(path)
    return os.path.relpath(p, REPO) if p.is_absolute() and (p == REPO or REPO in p.parents) else str(path)


def relative_command(cmd: list[str]) -> str:
    """The topicfit command as a user types it from the repository root: no interpreter, no machine paths."""
    return shlex.join(["topicfit", *(relative(a) for a in cmd[3:])])


# --- writing a result -------------------------------------------------------------------------------


def portable(value):
    """``value`` with every path under the repository written relative to its root (in commands too), and one under
    the home folder (a cache: ``~/.cache/topicfit/outside/...``) written from ``~``."""
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v) for v in value]
    if isinstance(value, str):
        return value.replace(str(REPO) + os.sep, "").replace(str(Path.home()) + os.sep, "~/") if value != str(REPO) else "."
    return value


def data_config(dataset: str | None, labels: str) -> DataConfig:
    """The benchmark scripts' data: 20 Newsgroups under the ``labels`` scheme, or ``--dataset FILE`` (an outside corpus,
    ``outside_data.py``) with its own labels and ids."""
    return DataConfig(dataset=dataset, labels="identity", id_column="id") if dataset else DataConfig(labels=labels)


def save_result(path: Path, result: dict, **dumps) -> Path:
    """Write ``result`` to ``path`` (``benchmarks/results/NAME.json`` as a rule): paths made relative to the
    repository, a ``git_commit`` that is not a full hash replaced by :func:`git_commit`'s; warns about a path
    outside the repository and a file name over :data:`MAX_NAME` characters (the result is still written)."""
    result = portable(result)
    if "git_commit" in result and not (result["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", str(result["git_commit"]))):
        result["git_commit"] = git_commit()
    outside = sorted(set(MACHINE_PATH.findall(json.dumps(result))))
    if outside:
        print(f"warning: {path.name} records paths outside the repository: {', '.join(outside)}", file=sys.stderr)
    if len(path.name) > MAX_NAME:
        print(f"warning: {path.name} is longer than {MAX_NAME} characters; give it a shorter name (--tag, --output)", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, **dumps) + "\n")
    return path


def write_result(name: str, result: dict, command: str, info: dict) -> Path:
    """``benchmarks/results/NAME.json``: ``result`` with the command that made it, the machine (from :func:`machine`),
    the library versions, the commit and the date."""
    out = save_result(RESULTS / f"{name}.json", {**result, "command": command, "machine": {k: info[k] for k in ("cpu", "cores")},
                                                 "versions": info["versions"], "git_commit": info["git_commit"],
                                                 "date": dt.date.today().isoformat()})
    print(f"wrote {out}")
    return out


def result_name(scheme: str, run: dict, run_dir: Path, tag: str | None = None) -> str:
    """The file name (without ``.json``) of a run's result: ``SCHEME-METHOD[-TAG]``, an ensemble's METHOD being
    ``ensemble-`` and its members' methods. Where that makes a name over :data:`MAX_NAME` characters (a long
    ensemble), the short form: the run folder's name (``+`` as ``-``), the number of members for an ensemble
    (two results of one folder with other members keep apart), and the tag unless the folder already names it,
    e.g. ``coarse-ensemble-all-fine-11``. The full method string stays inside the result (``method``)."""
    if run["kind"] != "ensemble":
        name = run["method"]
    elif len(run["members"]) == 2 and "finetune-minilm" in run["method"]:
        name = "ensemble"
    else:
        name = "ensemble-" + "+".join(m["method"] for m in run["members"])
    full = f"{scheme}-{name}" + (f"-{tag}" if tag else "")
    if len(full) + len(".json") <= MAX_NAME:
        return full
    short = run_dir.name.replace("+", "-") + (f"-{len(run['members'])}" if run["kind"] == "ensemble" else "")
    short = f"{scheme}-{short}" + (f"-{tag}" if tag and tag not in short else "")
    if len(short) + len(".json") <= MAX_NAME:
        return short
    return f"{scheme}-{run['kind']}" + (f"-{len(run['members'])}-members" if run["kind"] == "ensemble" else "") + (f"-{tag}" if tag else "")


def record(scheme: str, run_dir: Path, cmd: list[str], seconds: float, info: dict, tag: str | None = None) -> dict:
    """The result of one finished run (``topicfit baseline/train/embed/ensemble/distill``) in benchmarks/results:
    test and validation metrics, the validation split, seconds, the command, the machine (see :func:`result_name`)."""
    run = json.loads((run_dir / "run.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    keep = ("accuracy", "macro_f1", "weighted_f1", "loss", "n", "docs_per_second")
    result = {
        "task": f"20newsgroups-{scheme}",
        "method": run["method"] + (f" [{tag}]" if tag else ""),
        "run": relative(run_dir),
        "test": {k: metrics["test"].get(k) for k in keep},  # an ensemble's docs/s: timed through its members, below
        "validation": {k: metrics["validation"].get(k) for k in keep} if "validation" in metrics else None,
        "validation_split": run["data_config"].get("validation_split", "random"),
        "train_seconds": run["timings"].get("train_seconds"),
        "wall_clock_seconds": round(seconds, 1),
        "command": relative_command(cmd),
        "machine": {k: info[k] for k in ("cpu", "cores")},
        "versions": info["versions"],
        "git_commit": info["git_commit"],
        "date": dt.date.today().isoformat(),
    }
    if run["kind"] == "ensemble":  # its evaluation reused the members' saved probabilities; fit timed the real members
        result["test"]["docs_per_second"] = run["timings"].get("test_docs_per_second")
    path = save_result(RESULTS / f"{result_name(scheme, run, run_dir, tag)}.json", result)
    print(f"{path.name}: test accuracy {result['test']['accuracy']:.4f}, macro-F1 {result['test']['macro_f1']:.4f}, "
          f"{seconds:.0f}s", flush=True)
    return result


# --- choosing and timing runs -----------------------------------------------------------------------


def validation_f1(run_dir: Path) -> float:
    """A finished run's validation macro-F1 (from its metrics.json)."""
    return json.loads((run_dir / "metrics.json").read_text())["validation"]["macro_f1"]


def best_tfidf(scheme_dir: Path) -> Path:
    """The TF-IDF baseline with probabilities and the best validation macro-F1 (never chosen on test)."""
    best, score = None, -1.0
    for run_dir in sorted(scheme_dir.glob("*")):
        if not run_dir.name.startswith("tfidf-") or not (run_dir / "run.json").exists():
            continue
        first = json.loads((run_dir / "predictions-validation.jsonl").open().readline())
        if first.get("probabilities") is None:
            continue
        f1 = json.loads((run_dir / "metrics.json").read_text())["validation"]["macro_f1"]
        if f1 > score:
            best, score = run_dir, f1
    return best


def test_sample(test, docs: int) -> list[str]:
    """``docs`` test posts, a seeded sample: the same posts for every model timed."""
    rng = np.random.default_rng(0)
    return [test.texts[i] for i in rng.choice(len(test), size=min(docs, len(test)), replace=False)]


def docs_per_second(clf, texts) -> float:
    """One timed pass over ``texts`` after a warm-up batch (where ``--backend auto`` times the backends, once)."""
    clf.predict_proba(texts[:32])
    t = time.perf_counter()
    clf.predict_proba(texts)
    return round(len(texts) / (time.perf_counter() - t), 1)


def latency(clf, texts) -> dict:
    """Milliseconds per call with one text each: median and 99th percentile."""
    times = []
    for text in texts:
        t = time.perf_counter()
        clf.predict_proba([text])
        times.append(1000 * (time.perf_counter() - t))
    return {"latency_ms_p50": round(float(np.median(times)), 1), "latency_ms_p99": round(float(np.percentile(times, 99)), 1)}


def accuracy(clf, test, compute_metrics) -> dict:
    """Test accuracy, macro-F1 and weighted-F1 of ``clf`` on the whole ``test`` split."""
    proba = clf.predict_proba(test.texts)
    classes = list(map(str, clf.classes_))
    m = compute_metrics(references=test.labels, predictions=[classes[i] for i in proba.argmax(axis=1)], classes=classes, probabilities=proba)
    return {"test_accuracy": m["accuracy"], "test_macro_f1": m["macro_f1"], "test_weighted_f1": m["weighted_f1"]}
