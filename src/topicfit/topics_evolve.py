"""Topics after the fit: how they nest (a merge tree, and fewer topics by merging along it), how their shares
change over time, and how they move when new posts arrive.

- :func:`topic_hierarchy`: average-linkage agglomeration (scipy) of the topic centroids by cosine distance; each
  merge lists its topics, size and words (the c-TF-IDF of the merged topics' word counts).
- :func:`reduce_topics` / :func:`reduce_topics_run` (``topicfit topics RUN --n-topics K``): the first ``k - K``
  merges of that tree join topics; each merged topic's centre is the sum of its parts' member embeddings, and
  every document then goes to the nearest centre, as at fit, so ``transform`` still reproduces the assignments.
- :func:`topics_over_time`: each topic's share of the documents of each period, when the documents have dates.
- :func:`update_topics` / :func:`update_topics_run` (``topicfit topics RUN --update new.csv``): new posts are
  embedded (only they), added to the topic nearest to each, and each topic's centre moves to the mean of all its
  members so far, old and new (MiniBatchKMeans' update rule, in the embedding space); every post is then assigned
  again by the one rule, the words counted again, and how far each topic moved is written to ``updates.json``.

>>> reduced = reduce_topics(model, 10, embeddings, texts)     # doctest: +SKIP
>>> update_topics_run("runs/topics", load_table("new.csv", label_column=None))  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.preprocessing import normalize

from .data import Documents
from .errors import ConfigError, DataError, RunError
from .runs import (ASSIGNMENTS_FILE, LABELLED_FILE, METRICS_FILE, MODEL_DIR, RUN_FILE, environment, finish_run, read_json, start_run,
                   write_json)
from .topics import (EMBEDDINGS_FILE, UPDATES_FILE, TopicModel, _one_hot, _write_embeddings, peak_memory_mb, read_run_documents,
                     unique_names, write_topics_outputs)

logger = logging.getLogger(__name__)

HIERARCHY_METHOD = "average linkage of the cosine distances between topic centroids (scipy.cluster.hierarchy.linkage)"
MERGED_WORDS = 5  # words shown per merge of the hierarchy


# --- the hierarchy ------------------------------------------------------------------------------------------


def merged_words(model: TopicModel, topics: list[int], n: int = MERGED_WORDS) -> list[str]:
    """The best ``n`` words of ``topics`` taken as one: c-TF-IDF (the fit's idf) of their summed word counts."""
    if not hasattr(model, "word_counts_"):
        return []
    counts = model.word_counts_[list(topics)].sum(axis=0, keepdims=True)
    import scipy.sparse as sp

    scores = np.asarray(sp.csr_array(model.ctfidf_.transform(counts)).toarray()).ravel()
    order = np.argsort(-scores, kind="stable")
    return [model.vocabulary_[j] for j in order[:n] if scores[j] > 0]


def topic_hierarchy(model: TopicModel) -> dict:
    """The merge tree over ``model``'s topics: ``merges`` in the order they happen (closest first), each with
    ``node`` (``n_topics + i``), its two ``children`` (topic ids or earlier nodes), the cosine ``distance`` at which
    they join, the ``topics`` below it, their ``size`` (documents) and ``words``."""
    k = len(model.centroids_)
    merges = []
    if k >= 2:
        from scipy.cluster.hierarchy import linkage

        Z = linkage(model.centroids_.astype(np.float64), method="average", metric="cosine")
        below = {t: [t] for t in range(k)}
        for i, (a, b, distance, _) in enumerate(Z):
            a, b = int(a), int(b)
            topics = sorted(below[a] + below[b])
            below[k + i] = topics
            merges.append({"node": k + i, "children": [a, b], "distance": round(max(0.0, float(distance)), 6), "topics": topics,
                           "size": int(np.asarray(model.sizes_)[topics].sum()), "words": merged_words(model, topics)})
    return {"method": HIERARCHY_METHOD, "n_topics": k, "labels": list(model.labels_), "merges": merges}


def cut_tree(merges: list[dict], n_topics: int, n: int) -> np.ndarray:
    """Each topic's group (0..n-1, numbered by their lowest topic) after the first ``n_topics - n`` merges.

    >>> merges = [{"node": 3, "topics": [0, 2]}, {"node": 4, "topics": [0, 1, 2]}]
    >>> cut_tree(merges, 3, 2).tolist(), cut_tree(merges, 3, 1).tolist()
    ([0, 1, 0], [0, 0, 0])
    """
    node_of = list(range(n_topics))
    for merge in merges[: n_topics - n]:
        for t in merge["topics"]:
            node_of[t] = merge["node"]
    nodes = list(dict.fromkeys(node_of))  # in order of their lowest topic
    return np.array([nodes.index(v) for v in node_of], dtype=np.int64)


def reduce_topics(model: TopicModel, n_topics: int, embeddings, texts) -> TopicModel:
    """A new model of ``n_topics`` topics, made by merging ``model``'s along :func:`topic_hierarchy` (needs the
    fit's ``embeddings`` and ``texts``). ``merged_from_``: per new topic, the old topics merged into it."""
    k = len(model.centroids_)
    if not 2 <= n_topics < k:
        raise ConfigError(f"--n-topics merges this run's {k} topics along its tree: give a number from 2 to {k - 1}, got {n_topics}")
    groups = cut_tree(topic_hierarchy(model)["merges"], k, n_topics)
    sums = _one_hot(groups, n_topics).toarray() @ (model.centroids_.astype(np.float64) * np.asarray(model.mass_)[:, None])
    reduced = TopicModel(replace(model.config, n_topics=n_topics), vectorizer_model=model.vectorizer_model, ctfidf_model=model.ctfidf_model,
                         word_embedder=model.word_embedder, seed_topic_list=model.seed_topic_list)
    reduced._settle(embeddings, texts, sums)
    # each group's centre is one of the new topics, unless no document was nearest to it (then: the nearest topic)
    new_of_group = (normalize(sums) @ reduced.centroids_.T.astype(np.float64)).argmax(axis=1)
    reduced.merged_from_ = [[t for t in range(k) if new_of_group[groups[t]] == new] for new in range(len(reduced.centroids_))]
    old_seeds = getattr(model, "seeds_", [[] for _ in range(k)])
    reduced.seeds_ = [[name for t in old for name in old_seeds[t]] for old in reduced.merged_from_]
    logger.info("reduced %d topics to %d along the tree: %s", k, len(reduced.centroids_), reduced.merged_from_)
    return reduced


# --- topics over time ---------------------------------------------------------------------------------------


def _period_edge(value: float, order: bool):
    if order:
        return round(float(value), 6)
    return dt.datetime.fromtimestamp(float(value), tz=dt.timezone.utc).isoformat(timespec="seconds")


def topics_over_time(topics, dates, n_topics: int, *, periods: int = 10) -> dict | None:
    """Each topic's share of each period's documents; ``None`` without dates. Dates are POSIX seconds, or, when
    all lie in [0, 1], an order (20 Newsgroups' article order, :func:`topicfit.data.article_order`). The dated
    span is cut into ``periods`` equal periods (the last one closed); undated documents are counted apart.

    >>> out = topics_over_time([0, 0, 1, 1, 1, 0], [0.0, 0.1, 0.2, 0.8, 0.9, 1.0], 2, periods=2)
    >>> [p["counts"] for p in out["periods"]], out["topic_shares"]
    ([[2, 1], [1, 2]], [[0.666667, 0.333333], [0.333333, 0.666667]])
    """
    if dates is None:
        return None
    dated = np.array([i for i, d in enumerate(dates) if d is not None], dtype=np.int64)
    if not len(dated):
        return None
    values = np.array([dates[i] for i in dated], dtype=np.float64)
    order = bool(values.min() >= 0 and values.max() <= 1)
    edges = np.linspace(values.min(), values.max(), periods + 1)
    bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, periods - 1)
    counts = np.zeros((periods, n_topics), dtype=np.int64)
    np.add.at(counts, (bins, np.asarray(topics)[dated]), 1)
    totals = counts.sum(axis=1)
    shares = np.round(counts / np.maximum(totals, 1)[:, None], 6)
    rows = [{"period": p, "start": _period_edge(edges[p], order), "end": _period_edge(edges[p + 1], order), "n_documents": int(totals[p]),
             "counts": counts[p].tolist(), "shares": shares[p].tolist()} for p in range(periods)]
    return {"time": "order (0: the oldest, 1: the latest)" if order else "dates (UTC)", "n_periods": periods, "n_dated": int(len(dated)),
            "n_undated": int(len(dates) - len(dated)), "periods": rows, "topic_shares": shares.T.tolist()}


# --- updates ------------------------------------------------------------------------------------------------


def update_topics(model: TopicModel, new_embeddings, new_texts, embeddings, texts, *, old_topics=None) -> dict:
    """Move ``model``'s topics with new documents (``new_embeddings``/``new_texts``, which ``embeddings``/``texts``,
    every document old and new, end with) and assign every document again; topic ids stay. Returns how far they
    moved: per topic the cosine distance between its centre before and after (``centroid_shift``), the share of
    its top words still among them (``word_overlap``), its sizes, and how many new posts it took.

    Args:
        old_topics (array | None): the old documents' topics before the update, to count those that moved.
    """
    k, n_new = len(model.centroids_), len(new_texts)
    before = {"centroids": model.centroids_.astype(np.float64).copy(), "words": [list(w) for w in model.words_],
              "sizes": np.asarray(model.sizes_).copy()}
    first, _ = model._assign(new_embeddings, model.centroids_)  # the topic each new post joins
    has_text = np.array([bool(t.strip()) for t in new_texts], dtype=bool)
    added = normalize(np.asarray(new_embeddings, dtype=np.float64)[has_text])
    sums = model.centroids_.astype(np.float64) * np.asarray(model.mass_)[:, None] + _one_hot(first[has_text], k).toarray() @ added
    model._settle(embeddings, texts, sums, keep_ids=True)
    shift = 1.0 - np.einsum("ij,ij->i", before["centroids"], model.centroids_.astype(np.float64))
    new_topics = model.topics_[len(texts) - n_new:]
    rows = []
    for t in range(k):
        old_words = before["words"][t]
        overlap = len(set(old_words) & set(model.words_[t])) / len(old_words) if old_words else 1.0
        rows.append({"id": t, "label": model.labels_[t], "size_before": int(before["sizes"][t]), "size_after": int(model.sizes_[t]),
                     "new_posts": int((new_topics == t).sum()), "centroid_shift": round(max(0.0, float(shift[t])), 6),
                     "word_overlap": round(overlap, 6), "words_before": old_words, "words_after": list(model.words_[t])})
    moved = None
    if old_topics is not None:
        moved = int((np.asarray(old_topics) != model.topics_[: len(texts) - n_new]).sum())
    return {"n_new": n_new, "n_documents": len(texts), "old_documents_moved": moved,
            "new_outlier_share": round(float(model.outliers_[len(texts) - n_new:].mean()) if n_new else 0.0, 6),
            "mean_centroid_shift": round(float(np.mean([r["centroid_shift"] for r in rows])), 6),
            "max_centroid_shift": max(r["centroid_shift"] for r in rows),
            "mean_word_overlap": round(float(np.mean([r["word_overlap"] for r in rows])), 6), "topics": rows}


# --- run folders --------------------------------------------------------------------------------------------


def _read_topics_run(run_dir: Path, what: str) -> dict:
    if not (run_dir / RUN_FILE).exists():
        raise RunError(f"{run_dir} is not a finished topics run (no {RUN_FILE})")
    run = read_json(run_dir / RUN_FILE)
    if run.get("kind") != "topics":
        raise RunError(f"{run_dir} is a {run.get('kind')!r} run; {what} works on topics runs (topicfit topics)")
    if not (run_dir / EMBEDDINGS_FILE).exists():
        raise RunError(f"{run_dir} kept no embeddings ({EMBEDDINGS_FILE}; save_embeddings was off), which {what} needs: "
                       "fit the topics again with --save-embeddings")
    return run


def _start_target(run_dir: Path, output, overwrite: bool) -> Path:
    """Where the changed run goes: ``run_dir`` itself, or a new folder ``output`` holding a copy of it."""
    if output is None or Path(output).resolve() == run_dir.resolve():
        return run_dir
    target = start_run(output, overwrite=overwrite)
    shutil.copytree(run_dir, target, dirs_exist_ok=True)
    (target / RUN_FILE).unlink()  # unfinished until the changed run.json is written
    return target


def reduce_topics_run(run_dir: str | Path, n_topics: int, *, output: str | Path | None = None, overwrite: bool = False,
                      word_embedder=None) -> tuple[Path, dict]:
    """``topicfit topics RUN --n-topics K``: merge a run's topics along its tree to ``n_topics`` and write the run
    again (in place, or to ``output``); returns ``(run_dir, metrics)``. Nothing is embedded: the run's
    ``embeddings.npy`` and ``documents.jsonl.gz`` are used. ``run.json`` records ``reduced_from``."""
    started, run_dir = time.perf_counter(), Path(run_dir)
    run = _read_topics_run(run_dir, "reducing topics")
    model = TopicModel.load(run_dir / MODEL_DIR)
    model.word_embedder = word_embedder
    docs = read_run_documents(run_dir)
    embeddings = np.load(run_dir / EMBEDDINGS_FILE, mmap_mode="r")
    reduced = reduce_topics(model, n_topics, embeddings, docs.texts)
    target = _start_target(run_dir, output, overwrite)
    if target != run_dir:
        embeddings = np.load(target / EMBEDDINGS_FILE, mmap_mode="r")
    metrics = write_topics_outputs(target, reduced, embeddings, docs)
    metrics.update({"seconds": round(time.perf_counter() - started, 1), "peak_memory_mb": peak_memory_mb()})
    write_json(target / METRICS_FILE, metrics)
    (target / LABELLED_FILE).unlink(missing_ok=True)  # its names were those of the old topics
    run = {k: v for k, v in run.items() if k != "topic_names"}
    finish_run(target, {**run, "name": target.name, "classes": reduced.labels_, "model_config": reduced.config.to_dict(),
                        "reduced_from": {"n_topics": len(model.centroids_), "merged": reduced.merged_from_}, **environment()})
    logger.info("topics reduced from %d to %d in %s", len(model.centroids_), len(reduced.centroids_), target)
    return target, metrics


def update_topics_run(run_dir: str | Path, new_docs: Documents, *, output: str | Path | None = None, overwrite: bool = False,
                      embeddings=None, word_embedder=None) -> tuple[Path, dict]:
    """``topicfit topics RUN --update new.csv``: add ``new_docs`` to a topics run (in place, or to ``output``) by
    :func:`update_topics`. Only the new posts are embedded (or ``embeddings``, one row per new post, given); the
    old ones come from the run's ``embeddings.npy``. Writes every file of the run again and appends how far the
    topics moved to ``updates.json``; returns ``(run_dir, that entry)``. A renamed run keeps its names."""
    from .embeddings import embed_texts

    started, run_dir = time.perf_counter(), Path(run_dir)
    run = _read_topics_run(run_dir, "--update")
    if not len(new_docs):
        raise DataError("no new documents to update the topics with")
    old_docs = read_run_documents(run_dir)
    clash = sorted(set(old_docs.ids) & set(new_docs.ids))
    if clash:
        raise DataError(f"{len(clash)} new documents have ids the run already holds (e.g. {clash[0]!r}); give them other ids "
                        "(--id-column, or a file of another name)")
    model = TopicModel.load(run_dir / MODEL_DIR)
    model.word_embedder = word_embedder
    cfg, stats = model.config, {}
    if embeddings is None:
        embeddings = embed_texts(new_docs.texts, model=cfg.model, max_length=cfg.max_length, whole=cfg.whole, max_windows=cfg.max_windows,
                                 batch_size=cfg.batch_size, precision=cfg.precision, stats=stats)
    elif len(embeddings) != len(new_docs):
        raise DataError(f"got {len(embeddings)} embeddings for {len(new_docs)} new documents; expected one row per document")
    old_embeddings = np.load(run_dir / EMBEDDINGS_FILE, mmap_mode="r")
    if len(old_embeddings) != len(old_docs) or old_embeddings.shape[1] != embeddings.shape[1]:
        raise RunError(f"{run_dir / EMBEDDINGS_FILE} holds {old_embeddings.shape} embeddings for {len(old_docs)} documents of "
                       f"dimension {embeddings.shape[1]}: the run's files do not match")
    with open(run_dir / ASSIGNMENTS_FILE, encoding="utf-8") as f:
        old_topics = np.array([json.loads(line)["topic"] for line in f if line.strip()], dtype=np.int64)
    target = _start_target(run_dir, output, overwrite)
    # every document's embedding, old then new, in one file (written beside, then put in place)
    n_old, path = len(old_docs), target / EMBEDDINGS_FILE
    _write_embeddings(path, old_embeddings, np.asarray(embeddings, dtype=np.float32))
    del old_embeddings
    every = np.load(path, mmap_mode="r")
    dates = None
    if old_docs.dates is not None or new_docs.dates is not None:
        dates = [*(old_docs.dates or [None] * n_old), *(new_docs.dates or [None] * len(new_docs))]
    docs = Documents(old_docs.ids + new_docs.ids, old_docs.texts + new_docs.texts, [""] * len(every), dates)
    entry = update_topics(model, every[n_old:], new_docs.texts, every, docs.texts, old_topics=old_topics)
    if run.get("topic_names"):  # a renamed run keeps its names
        model.labels_ = [run["topic_names"].get(str(t), label) for t, label in enumerate(model.labels_)]
        for row in entry["topics"]:
            row["label"] = model.labels_[row["id"]]
    updates = [*(read_json(target / UPDATES_FILE) if (target / UPDATES_FILE).exists() else []), entry]
    write_json(target / UPDATES_FILE, updates)
    metrics = write_topics_outputs(target, model, every, docs, updates=updates)
    metrics.update({"seconds": round(time.perf_counter() - started, 1), "peak_memory_mb": peak_memory_mb(), **stats})
    write_json(target / METRICS_FILE, metrics)
    if (target / LABELLED_FILE).exists():
        logger.warning("%s predates this update: name the topics again (topicfit topics %s --names FILE)", target / LABELLED_FILE, target)
    finish_run(target, {**run, "name": target.name, "classes": unique_names(model.labels_),
                        "data": {"n_documents": len(docs), "n_blank": docs.n_blank()}, "updates": len(updates), **environment()})
    worst = max(entry["topics"], key=lambda r: r["centroid_shift"])
    logger.info("update: %d new posts (%d old posts changed topic); topics moved %.4f on average (cosine distance of the centre), "
                "most topic %d %r by %.4f; %.0f%% of the top words stayed", entry["n_new"], entry["old_documents_moved"],
                entry["mean_centroid_shift"], worst["id"], worst["label"], worst["centroid_shift"], 100 * entry["mean_word_overlap"])
    return target, entry


__all__ = ["cut_tree", "merged_words", "reduce_topics", "reduce_topics_run", "topic_hierarchy", "topics_over_time", "update_topics",
           "update_topics_run"]
