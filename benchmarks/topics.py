"""Topic discovery side by side: topicfit and BERTopic 0.17 on 20 Newsgroups (train + test, cleaned as
everywhere), with the SAME embeddings, computed once by ``embed_texts`` with the embed kind's settings (max_length
256, whole posts in up to 16 windows), so they come from the shared embedding cache.

    pip install -c constraints.txt bertopic==0.17.4      # benchmark only; it adds hdbscan and plotly
    python benchmarks/topics.py --model minilm           # -> benchmarks/results/topics-minilm.json
    python benchmarks/topics.py --model minilm --max-docs 2000 --variants topicfit bertopic   # a quick look
    python benchmarks/topics.py --model minilm --word-sweep   # -> results/topics-words-minilm.json: word settings

For 20 and 50 topics and each tool's automatic choice, every fit runs twice, each in its own process (so its
peak memory is its own): ``topicfit`` (the defaults: PCA + k-means, centroid assignment), ``topicfit-umap``
(UMAP to 5 dimensions instead of PCA), ``topicfit-plain-words`` (the defaults but the topic words of plain
c-TF-IDF, as before issue 21: no square root, no BM25, no limit on the topics a word leads) and ``bertopic`` (its
defaults, UMAP + HDBSCAN, ``nr_topics`` reducing to

20 or 50, with the same CountVectorizer as topicfit: English stop words, the same token pattern and min_df).
``bertopic`` leaves outliers in topic -1 (no topic); the row ``bertopic+reduce_outliers`` is the same fit after
BERTopic's ``reduce_outliers(strategy="embeddings")``, its documented way of giving every document a topic.

Every score is computed here, by the same topicfit functions for both tools: NPMI (gensim c_npmi, top 10 words,
on the corpus tokenised by the vectorizers' analyzer; BERTopic strips punctuation before its vectorizer, so a few
of its words such as "dont" are not in that corpus and are left out of its NPMI), diversity, the share of outliers (topicfit: flagged but
assigned; BERTopic: topic -1, i.e. without a topic), NMI and ARI against the 20 groups (BERTopic's -1 counts as
one more cluster), seconds (the fit, embeddings excluded), peak memory, whether the second run gave identical
assignments, and how many training documents each tool's own transform (in batches of 1,000, as new posts would
come) puts in the topic its fit gave them. Each row is the mean over the runs; ``per_run`` keeps every run's scores.

``--word-sweep`` fits topicfit once (the first of ``--topics``) and counts the topic words again under each
setting of ``WORD_SWEEP`` (or ``--sweep-settings``; each row is the defaults but its settings; the MMR rows embed the
candidate words with the same encoder) (:meth:`TopicClustering.update_words`: the topics stay, only their words change), scoring
each by NPMI and diversity on the corpus itself: topics have no held-out split, so these are how the word
settings' defaults were chosen.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
RUNS = ROOT / "runs" / "topics"
VARIANT_SETTINGS = {"topicfit": {}, "topicfit-umap": {"reducer": "umap", "n_components": 5},
                    "topicfit-plain-words": {"reduce_frequent_words": False, "bm25_weighting": False, "word_max_topics": None},
                    "bertopic": {}}
VARIANTS = tuple(VARIANT_SETTINGS)
WORD_SWEEP = [{"reduce_frequent_words": r, "bm25_weighting": b, "word_max_topics": m}
              for r in (False, True) for b in (False, True) for m in (None, 3, 2, 1)] + [
             {"reduce_frequent_words": True, "bm25_weighting": False, "word_max_topics": 2, "ngram_max": 2},
             {"ngram_max": 2}, {"mmr_diversity": 0.1}, {"mmr_diversity": 0.3}, {"mmr_diversity": 0.5}]  # each row: the defaults but these
TRANSFORM_BATCH = 1000  # the training documents go back through each tool's transform in batches, as new posts would
NPMI_CACHE: dict[str, float | None] = {}
EMBED_SETTINGS = {"max_length": 256, "whole": True, "max_windows": 16}  # the embed kind's defaults: one cache


def load_corpus(data: str | None, max_docs: int | None):
    from topicfit.data import Documents, load_newsgroups, sample_documents

    train, test = load_newsgroups(data=data, subset="train"), load_newsgroups(data=data, subset="test")
    docs = Documents(train.ids + test.ids, train.texts + test.texts, train.labels + test.labels)
    return sample_documents(docs, max_docs, seed=42) if max_docs else docs


# --- one fit in its own process -----------------------------------------------------------------------------


def worker(spec: dict) -> dict:
    """Fit one tool on the saved embeddings and texts; return assignments, words, seconds and peak memory."""
    from topicfit.data import Documents
    from topicfit.topics import TopicsConfig

    X = np.load(spec["embeddings"])
    corpus = json.loads(Path(spec["corpus"]).read_text(encoding="utf-8"))
    texts, k = corpus["texts"], spec["n_topics"]
    config = TopicsConfig(model=spec["model"], n_topics=k, **VARIANT_SETTINGS[spec["variant"]])
    out: dict = {}
    if spec["variant"].startswith("topicfit"):
        from topicfit.kinds.topics import DiscoveredTopicsClassifier
        from topicfit.topics import fit_topics_run

        docs = Documents(corpus["ids"], texts, corpus["labels"])
        run_dir, metrics = fit_topics_run(docs, spec["run_dir"], config, embeddings=X, overwrite=True)
        rows = [json.loads(line) for line in (Path(run_dir) / "assignments.jsonl").read_text().splitlines()]
        out["topics"] = [r["topic"] for r in rows]
        out["outliers"] = [r["outlier"] for r in rows]
        out["words"] = [t["words"] for t in json.loads((Path(run_dir) / "topics.json").read_text())]
        out["labels"] = [t["label"] for t in json.loads((Path(run_dir) / "topics.json").read_text())]
        out["seconds"] = metrics["fit_seconds"]
        out["run_seconds"] = metrics["seconds"]
        model = DiscoveredTopicsClassifier.load(Path(run_dir) / "model").model_
        again = np.concatenate([model.transform(X[s : s + TRANSFORM_BATCH])[0] for s in range(0, len(X), TRANSFORM_BATCH)])
        out["transform_agreement"] = float(np.mean(again == np.array(out["topics"])))
        out["run_dir"] = str(run_dir)
    else:
        from bertopic import BERTopic
        from sklearn.feature_extraction.text import CountVectorizer

        start = time.perf_counter()
        vectorizer = CountVectorizer(stop_words=config.stop_words, token_pattern=config.token_pattern, min_df=config.min_df)
        model = BERTopic(vectorizer_model=vectorizer, nr_topics=k, calculate_probabilities=False)
        topics, _ = model.fit_transform(texts, embeddings=X)
        out["seconds"] = round(time.perf_counter() - start, 1)
        ids = sorted(t for t in set(topics) if t != -1)
        out["topics"] = [int(t) for t in topics]
        out["outliers"] = [t == -1 for t in topics]
        out["words"] = [[w for w, _ in (model.get_topic(t) or []) if w][:10] for t in ids]
        again = np.concatenate([model.transform(texts[s : s + TRANSFORM_BATCH], embeddings=X[s : s + TRANSFORM_BATCH])[0]
                                for s in range(0, len(X), TRANSFORM_BATCH)])
        out["transform_agreement"] = float(np.mean(again == np.array(topics)))
        reduced = model.reduce_outliers(texts, topics, strategy="embeddings", embeddings=X) if -1 in topics else topics
        out["reduced_topics"] = [int(t) for t in reduced]
    out["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def run_worker(spec: dict, scratch: Path) -> dict:
    spec_path, out_path = scratch / "spec.json", scratch / "out.json"
    spec_path.write_text(json.dumps(spec))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(spec_path), "--worker-output", str(out_path)]
    print(f"  {spec['variant']} n_topics={spec['n_topics']} run {spec['repeat']}", flush=True)
    subprocess.run(cmd, check=True)
    return json.loads(out_path.read_text())


# --- scores -------------------------------------------------------------------------------------------------


def score(name: str, requested, runs: list[dict], topics_key: str, tokenised, labels) -> dict:
    """One row: the mean over the runs of each score (``per_run`` keeps every run's), and whether they agree."""
    from topicfit.topics import label_metrics, npmi, topic_diversity

    per_run = []
    for run in runs:
        key = json.dumps(run["words"])
        if key not in NPMI_CACHE:  # identical runs and the reduce_outliers rows share words: score them once
            NPMI_CACHE[key] = npmi(run["words"], tokenised)
        topics = run[topics_key]
        outliers = run["outliers"] if topics_key == "topics" else [t == -1 for t in topics]
        labels_scores = label_metrics(references=labels, topics=topics)
        per_run.append({"n_topics": len(run["words"]), "npmi": NPMI_CACHE[key], "diversity": topic_diversity(run["words"]),
                        "outlier_share": float(np.mean(outliers)), "documents_without_topic": int(sum(t == -1 for t in topics)),
                        "nmi": labels_scores["nmi"], "ari": labels_scores["ari"], "seconds": run["seconds"],
                        "transform_agreement": run["transform_agreement"] if topics_key == "topics" else None})
    first = runs[0]
    row = {"tool": name, "n_topics_requested": requested or "auto"}
    for key, value in per_run[0].items():
        values = [r[key] for r in per_run]
        row[key] = None if value is None else float(np.mean(values)) if isinstance(value, float) else max(values)
    row.update({"peak_memory_mb": max(r["peak_memory_mb"] for r in runs),
                "identical_runs": all(r[topics_key] == first[topics_key] and r["words"] == first["words"] for r in runs[1:]),
                "per_run": per_run})
    if "run_dir" in first:
        row["run_dir"] = str(Path(first["run_dir"]).relative_to(ROOT.parent))
        row["run_seconds"] = first["run_seconds"]
    return json.loads(json.dumps(row), parse_float=lambda v: round(float(v), 4))


def word_sweep(docs, X, tokenised, k: int, model: str, sweep: list[dict] = WORD_SWEEP) -> list[dict]:
    """One topicfit fit, its words counted again under each setting of ``sweep`` (the defaults but those), each
    scored on the corpus."""
    from collections import Counter

    from topicfit.topics import TopicClustering, TopicsConfig, label_metrics, npmi, topic_diversity

    from topicfit.topics import WORD_SETTINGS

    fitted = TopicClustering(TopicsConfig(model=model, n_topics=k)).fit(X, docs.texts)
    nmi = label_metrics(references=docs.labels, topics=fitted.topics_)["nmi"]
    defaults = {name: getattr(TopicsConfig(), name) for name in WORD_SETTINGS}
    rows = []
    for settings in sweep:
        start = time.perf_counter()
        words = fitted.update_words(docs.texts, **{**defaults, **settings}).words_
        shared = Counter(w for ws in words for w in ws[:10])
        rows.append({**settings, "npmi": npmi(words, tokenised), "diversity": topic_diversity(words), "nmi": nmi,
                     "leading_words_shared": sum(shared[ws[0]] > 1 for ws in words if ws),  # topics whose first word another lists
                     "most_shared": [[w, c] for w, c in shared.most_common(5)], "seconds": round(time.perf_counter() - start, 1),
                     "labels": list(fitted.labels_), "words": [ws[:10] for ws in words]})
        print({key: rows[-1][key] for key in (*settings, "npmi", "diversity", "leading_words_shared")}, flush=True)
    return json.loads(json.dumps(rows), parse_float=lambda v: round(float(v), 4))


def table(rows: list[dict]) -> str:
    cols = ("tool", "n_topics_requested", "n_topics", "npmi", "diversity", "outlier_share", "documents_without_topic", "nmi", "ari",
            "seconds", "peak_memory_mb", "identical_runs", "transform_agreement")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm", help="minilm | mpnet (the encoder of the shared embeddings)")
    parser.add_argument("--data", default=None, help="20news-bydate archive or folder (default: $TOPICFIT_DATA)")
    parser.add_argument("--max-docs", type=int, default=None, help="a stratified, seeded subset (quick looks)")
    parser.add_argument("--topics", nargs="+", default=["20", "50", "auto"], help="numbers of topics; auto: each tool's own choice")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--repeats", type=int, default=2, help="runs per setting (identical_runs compares them)")
    parser.add_argument("--output", default=None, help="default: benchmarks/results/topics-<model>[-<max docs>].json")
    parser.add_argument("--word-sweep", action="store_true", help="score WORD_SWEEP's word settings on one fit (the first of --topics)")
    parser.add_argument("--sweep-settings", help="with --word-sweep: a JSON list of settings to score instead of WORD_SWEEP's, "
                                                 "e.g. '[{}, {\"mmr_diversity\": 0.3}]'")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        Path(args.worker_output).write_text(json.dumps(worker(json.loads(Path(args.worker).read_text()))))
        return 0

    from topicfit.embeddings import embed_texts
    from topicfit.runs import environment
    from topicfit.topics import TopicClustering

    env = environment()  # before the runs: the commit that ran them
    docs = load_corpus(args.data, args.max_docs)
    stats: dict = {}
    start = time.perf_counter()
    X = embed_texts(docs.texts, model=args.model, stats=stats, **EMBED_SETTINGS)
    print(f"{len(docs)} documents, embeddings {X.shape} in {time.perf_counter() - start:.0f}s {stats}", flush=True)
    tokenised = [TopicClustering().analyzer()(t) for t in docs.texts]  # the analyzer both tools' vectorizers use
    suffix = f"-{args.max_docs}" if args.max_docs else ""
    if args.word_sweep:
        k = int(next(t for t in args.topics if t != "auto"))
        sweep = word_sweep(docs, X, tokenised, k, args.model, json.loads(args.sweep_settings) if args.sweep_settings else WORD_SWEEP)
        result = {"task": f"topic words under each word setting, one topicfit fit of {k} topics, 20 Newsgroups train + test",
                  "command": "python benchmarks/topics.py " + shlex.join(sys.argv[1:]),
                  "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "n_documents": len(docs),
                  "model": args.model, "machine": {"cpu": env["machine"]["cpu"], "cores": env["machine"]["cores"]},
                  "git_commit": env["git_commit"], "rows": sweep}
        output = Path(args.output) if args.output else RESULTS / f"topics-words-{args.model}{suffix}.json"
        output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {output}")
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        np.save(scratch / "embeddings.npy", X)
        (scratch / "corpus.json").write_text(json.dumps({"ids": docs.ids, "texts": docs.texts, "labels": docs.labels}))
        for requested in args.topics:
            k = None if requested == "auto" else int(requested)
            for variant in args.variants:
                runs = []
                for repeat in range(args.repeats):
                    run_dir = RUNS / f"{args.model}{suffix}" / f"{variant}-{requested}" if repeat == 0 else scratch / f"run{repeat}"
                    spec = {"variant": variant, "n_topics": k, "model": args.model, "repeat": repeat, "run_dir": str(run_dir),
                            "embeddings": str(scratch / "embeddings.npy"), "corpus": str(scratch / "corpus.json")}
                    runs.append(run_worker(spec, scratch))
                rows.append(score(variant, k, runs, "topics", tokenised, docs.labels))
                if "reduced_topics" in runs[0]:
                    rows.append(score(f"{variant}+reduce_outliers", k, runs, "reduced_topics", tokenised, docs.labels))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
    packages = {}
    for name in ("bertopic", "hdbscan", "umap-learn", "pynndescent", "numba", "llvmlite", "plotly", "gensim", "scikit-learn"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            pass
    result = {
        "task": "topic discovery, 20 Newsgroups train + test" + (f" (stratified subset of {args.max_docs})" if args.max_docs else ""),
        "command": "python benchmarks/topics.py " + shlex.join(sys.argv[1:]),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "n_documents": len(docs), "model": args.model, "embedding": {**EMBED_SETTINGS, **stats, "dimension": int(X.shape[1])},
        "machine": {"cpu": env["machine"]["cpu"], "cores": env["machine"]["cores"]}, "git_commit": env["git_commit"],
        "packages": packages, "benchmark_only_install": "pip install -c constraints.txt bertopic==0.17.4 (adds hdbscan, plotly)",
        "rows": rows,
    }
    output = Path(args.output) if args.output else RESULTS / f"topics-{args.model}{suffix}.json"
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(table(rows))
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
