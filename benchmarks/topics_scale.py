"""Topic discovery at scale: a million short documents in mini-batch mode, with memory kept flat.

    python benchmarks/topics_scale.py                  # 1,000,000 documents -> benchmarks/results/topics-scale.json
    python benchmarks/topics_scale.py --n 50000        # a quick check -> benchmarks/results/topics-scale-50000.json

The documents are fixed-length word windows (``--window`` words, 12 by default) of the 20 Newsgroups posts
(train + test, cleaned as everywhere), with the stride that yields at least ``--n`` windows, spread evenly over
the corpus; each keeps its post's group as a reference label and ``<post id>#<word offset>`` as its id.

The embeddings, by default, are NOT a neural encoder's: MiniLM reads about 200-400 such windows a second on 2
CPU cores (measured on a sample at every run and recorded as ``minilm_sample``), so a million would take an hour
or more. Instead ``tfidf-svd`` embeds each window as its TF-IDF vector (HashingVectorizer, 2^18 features, English
stop words; the IDF fitted on a 100,000-window sample) projected on 128 dimensions by a TruncatedSVD fitted on
that sample, written chunk by chunk to a float32 ``np.memmap`` on disk. ``--embedding minilm`` embeds with MiniLM
instead (cut to 32 tokens, chunk by chunk into the same memmap, no cache), for a machine where that is affordable.
Both are passed to ``fit_topics_run(..., embeddings=memmap)`` with ``TopicsConfig(minibatch=True)``: IncrementalPCA,
MiniBatchKMeans, a vocabulary fitted on a sample and word counts accumulated chunk by chunk.

Recorded: seconds per stage, this process's peak resident memory after each stage (the whole benchmark's peak
must stay under 6 GB), and the run's metrics.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import resource
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from common import RESULTS, RUNS, relative, save_result

WORK = RUNS / "topics-scale"  # git-ignored: the memmap and the run folder
DIMENSION = 128  # tfidf-svd embedding size
FIT_SAMPLE = 100_000  # windows the IDF and the SVD are fitted on
CHUNK = 20_000


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def build_windows(data: str | None, n: int, window: int):
    """At least ``n`` word windows of the posts (the largest stride that gives enough), ``n`` of them evenly spread."""
    from topicfit.data import Documents, load_newsgroups

    train, test = load_newsgroups(data=data, subset="train"), load_newsgroups(data=data, subset="test")
    posts = [(i, t.split(), y) for i, t, y in zip(train.ids + test.ids, train.texts + test.texts, train.labels + test.labels)]
    posts = [p for p in posts if p[1]]

    def count(stride: int) -> int:
        return sum(1 if len(w) <= window else math.ceil((len(w) - window) / stride) + 1 for _, w, _ in posts)

    stride = next((s for s in range(window, 0, -1) if count(s) >= n), 1)
    total = count(stride)
    if total < n:
        raise SystemExit(f"the corpus gives only {total} windows of {window} words at stride 1; ask for fewer (--n) or shorter (--window)")
    keep = set(np.linspace(0, total - 1, n).astype(np.int64).tolist())
    ids, texts, labels, k = [], [], [], 0
    for post_id, words, label in posts:
        starts = [0] if len(words) <= window else range(0, len(words) - window + stride, stride)
        for s in starts:
            if k in keep:
                ids.append(f"{post_id}#{s}")
                texts.append(" ".join(words[s : s + window]))
                labels.append(label)
            k += 1
    return Documents(ids, texts, labels), {"window_words": window, "stride_words": stride, "windows_available": total, "posts": len(posts)}


def tfidf_svd(texts: list[str], path: Path, seed: int) -> np.memmap:
    """Hashed TF-IDF projected by a TruncatedSVD fitted on a sample, written chunk by chunk to a memmap."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

    hasher = HashingVectorizer(n_features=2**18, stop_words="english", alternate_sign=False, norm=None)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(texts), min(FIT_SAMPLE, len(texts)), replace=False))
    counts = hasher.transform([texts[i] for i in sample])
    tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
    svd = TruncatedSVD(n_components=DIMENSION, random_state=seed).fit(tfidf.transform(counts))
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(len(texts), DIMENSION))
    for start in range(0, len(texts), CHUNK):
        out[start : start + CHUNK] = svd.transform(tfidf.transform(hasher.transform(texts[start : start + CHUNK])))
    out.flush()
    return np.load(path, mmap_mode="r")


def minilm(texts: list[str], path: Path, *, max_length: int = 32, batch_size: int = 128) -> np.memmap:
    """MiniLM embeddings cut to ``max_length`` tokens, chunk by chunk into a memmap (no cache: a million vectors
    would not fit the cache's in-memory index)."""
    from topicfit.embeddings import mean_pooled
    from topicfit.encoders import load_encoder, resolve_model

    tokenizer, model = load_encoder(resolve_model("minilm"))
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(len(texts), model.config.hidden_size))
    for start in range(0, len(texts), CHUNK):
        out[start : start + CHUNK] = mean_pooled(tokenizer, model, texts[start : start + CHUNK], max_length=max_length, whole=False,
                                           batch_size=batch_size)
    out.flush()
    return np.load(path, mmap_mode="r")


def minilm_speed(texts: list[str], n: int, seed: int) -> dict:
    """MiniLM's throughput on ``n`` sampled windows (cut to 32 tokens), and what all of them would take."""
    from topicfit.embeddings import mean_pooled
    from topicfit.encoders import load_encoder, resolve_model

    tokenizer, model = load_encoder(resolve_model("minilm"))
    rng = np.random.default_rng(seed)
    sample = [texts[i] for i in rng.choice(len(texts), min(n, len(texts)), replace=False)]
    start = time.perf_counter()
    mean_pooled(tokenizer, model, sample, max_length=32, whole=False, batch_size=128)
    rate = len(sample) / (time.perf_counter() - start)
    return {"texts": len(sample), "max_length": 32, "texts_per_second": round(rate, 1),
            "projected_minutes_for_all": round(len(texts) / rate / 60, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="number of documents (word windows)")
    parser.add_argument("--window", type=int, default=12, help="words per document")
    parser.add_argument("--n-topics", type=int, default=20)
    parser.add_argument("--embedding", choices=("tfidf-svd", "minilm"), default="tfidf-svd")
    parser.add_argument("--minilm-sample", type=int, default=2000, help="windows MiniLM's speed is measured on (0: skip)")
    parser.add_argument("--data", default=None, help="20news-bydate archive or folder (default: $TOPICFIT_DATA)")
    parser.add_argument("--workdir", default=str(WORK))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output", default=None, help="default: benchmarks/results/topics-scale[-<n>].json")
    args = parser.parse_args()

    from topicfit.runs import environment
    from topicfit.topics import TopicsConfig, fit_topics_run

    env = environment()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    stages: dict = {}

    def stage(name: str, began: float) -> None:
        stages[name] = {"seconds": round(time.perf_counter() - began, 1), "peak_memory_mb_so_far": peak_mb()}
        print(f"{name}: {stages[name]}", flush=True)

    # 1. documents
    began = time.perf_counter()
    docs, corpus = build_windows(args.data, args.n, args.window)
    stage("build_documents", began)
    # 2. embeddings, into a memmap
    speed = minilm_speed(docs.texts, args.minilm_sample, args.seed) if args.minilm_sample else None
    if speed:
        print(f"MiniLM on {speed['texts']} windows: {speed['texts_per_second']} texts/s, "
              f"all {len(docs)}: ~{speed['projected_minutes_for_all']} min", flush=True)
    began = time.perf_counter()
    path = work / f"embeddings-{args.embedding}-{args.n}.npy"
    embeddings = tfidf_svd(docs.texts, path, args.seed) if args.embedding == "tfidf-svd" else minilm(docs.texts, path)
    stage("embed", began)
    # 3. topics, mini-batch mode
    began = time.perf_counter()
    config = TopicsConfig(model=args.embedding, n_topics=args.n_topics, minibatch=True, seed=args.seed)
    run_dir, metrics = fit_topics_run(docs, work / f"run-{args.n}", config, embeddings=embeddings, overwrite=True)
    stage("fit_topics_run", began)
    peak = peak_mb()
    result = {
        "task": f"topic discovery at scale: {len(docs)} windows of {args.window} words from 20 Newsgroups (train + test)",
        "command": "python benchmarks/topics_scale.py " + shlex.join(sys.argv[1:]),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "n_documents": len(docs), "corpus": corpus,
        "embedding": ({"kind": "tfidf-svd", "what": f"HashingVectorizer(2^18, English stop words) + TF-IDF + TruncatedSVD({DIMENSION}), "
                       f"fitted on {min(FIT_SAMPLE, len(docs))} windows; not a neural encoder"} if args.embedding == "tfidf-svd"
                      else {"kind": "minilm", "max_length": 32}),
        "minilm_sample": speed, "config": config.to_dict(), "stages": stages, "peak_memory_mb": peak,
        "under_6_gb": peak < 6 * 1024, "seconds": round(sum(s["seconds"] for s in stages.values()), 1),
        "metrics": metrics, "run_dir": relative(run_dir),
        "machine": {"cpu": env["machine"]["cpu"], "cores": env["machine"]["cores"]}, "git_commit": env["git_commit"],
    }
    output = Path(args.output) if args.output else RESULTS / ("topics-scale.json" if args.n >= 1_000_000 else f"topics-scale-{args.n}.json")
    save_result(output, result)
    shown = {k: metrics[k] for k in ("npmi", "diversity", "nmi", "outlier_share")}
    print(f"peak memory {peak} MB, {result['seconds']} s; metrics {json.dumps(shown)}")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
