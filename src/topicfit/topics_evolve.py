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
from .runs import (ASSIGNMENTS_FILE, LABELLED_FILE, MODEL_DIR, RUN_FILE, environment, read_json, start_run,
                   write_json)
from .topics import (EMBEDDINGS_FILE, UPDATES_FILE, TopicClustering, _one_hot, _write_embeddings, peak_memory_mb, read_run_documents,
                     unique_names, write_topics_outputs)
from .topics_structure import cut_tree, merged_words, topic_hierarchy, topics_over_time  # noqa: F401 (re-exported)
from .workflow import write_run

logger = logging.getLogger(__name__)

def reduce_topics(model: TopicClustering, n_topics: int, embeddings, texts) -> TopicClustering:
    """A new model of ``n_topics`` topics, made by merging ``model``'s along :func:`topic_hierarchy` (needs the
    fit's ``embeddings`` and ``texts``). ``merged_from_``: per new topic, the old topics merged into it."""
    k = len(model.centroids_)
    if not 2 <= n_topics < k:
        raise ConfigError(f"--n-topics merges this run's {k} topics along its tree: give a number from 2 to {k - 1}, got {n_topics}")
    groups = cut_tree(topic_hierarchy(model)["merges"], k, n_topics)
    sums = _one_hot(groups, n_topics).toarray() @ (model.centroids_.astype(np.float64) * np.asarray(model.mass_)[:, None])
    reduced = TopicClustering(replace(model.config, n_topics=n_topics), vectorizer_model=model.vectorizer_model, ctfidf_model=model.ctfidf_model,
                         word_embedder=model.word_embedder, seed_topic_list=model.seed_topic_list)
    reduced._settle(embeddings, texts, sums)
    # each group's centre is one of the new topics, unless no document was nearest to it (then: the nearest topic)
    new_of_group = (normalize(sums) @ reduced.centroids_.T.astype(np.float64)).argmax(axis=1)
    reduced.merged_from_ = [[t for t in range(k) if new_of_group[groups[t]] == new] for new in range(len(reduced.centroids_))]
    old_seeds = getattr(model, "seeds_", [[] for _ in range(k)])
    reduced.seeds_ = [[name for t in old for name in old_seeds[t]] for old in reduced.merged_from_]
    logger.info("reduced %d topics to %d along the tree: %s", k, len(reduced.centroids_), reduced.merged_from_)
    return reduced


# --- updates ------------------------------------------------------------------------------------------------


def update_topics(model: TopicClustering, new_embeddings, new_texts, embeddings, texts, *, old_topics=None) -> dict:
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
    model = TopicClustering.load(run_dir / MODEL_DIR)
    model.word_embedder = word_embedder
    docs = read_run_documents(run_dir)
    embeddings = np.load(run_dir / EMBEDDINGS_FILE, mmap_mode="r")
    reduced = reduce_topics(model, n_topics, embeddings, docs.texts)
    target = _start_target(run_dir, output, overwrite)
    if target != run_dir:
        embeddings = np.load(target / EMBEDDINGS_FILE, mmap_mode="r")
    metrics = write_topics_outputs(target, reduced, embeddings, docs)
    metrics.update({"seconds": round(time.perf_counter() - started, 1), "peak_memory_mb": peak_memory_mb()})
    (target / LABELLED_FILE).unlink(missing_ok=True)  # its names were those of the old topics
    run = {k: v for k, v in run.items() if k != "topic_names"}
    write_run(target, {**run, "name": target.name, "classes": reduced.labels_, "model_config": reduced.config.to_dict(),
                       "reduced_from": {"n_topics": len(model.centroids_), "merged": reduced.merged_from_}, **environment()}, metrics)
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
    model = TopicClustering.load(run_dir / MODEL_DIR)
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
    if (target / LABELLED_FILE).exists():
        logger.warning("%s predates this update: name the topics again (topicfit topics %s --names FILE)", target / LABELLED_FILE, target)
    write_run(target, {**run, "name": target.name, "classes": unique_names(model.labels_),
                       "data": {"n_documents": len(docs), "n_blank": docs.n_blank()}, "updates": len(updates), **environment()}, metrics)
    worst = max(entry["topics"], key=lambda r: r["centroid_shift"])
    logger.info("update: %d new posts (%d old posts changed topic); topics moved %.4f on average (cosine distance of the centre), "
                "most topic %d %r by %.4f; %.0f%% of the top words stayed", entry["n_new"], entry["old_documents_moved"],
                entry["mean_centroid_shift"], worst["id"], worst["label"], worst["centroid_shift"], 100 * entry["mean_word_overlap"])
    return target, entry


__all__ = ["cut_tree", "merged_words", "reduce_topics", "reduce_topics_run", "topic_hierarchy", "topics_over_time", "update_topics",
           "update_topics_run"]
