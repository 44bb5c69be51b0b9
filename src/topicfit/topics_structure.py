"""The structure over a fitted topic model's topics, computed from its attributes alone (a leaf module, so the
topic model and its updates both use it without importing each other): the merge tree
(:func:`topic_hierarchy`, :func:`cut_tree`) and each topic's share over time (:func:`topics_over_time`)."""

from __future__ import annotations

import datetime as dt

import numpy as np

HIERARCHY_METHOD = "average linkage of the cosine distances between topic centroids (scipy.cluster.hierarchy.linkage)"
MERGED_WORDS = 5  # words shown per merge of the hierarchy


# --- the hierarchy ------------------------------------------------------------------------------------------


def merged_words(model, topics: list[int], n: int = MERGED_WORDS) -> list[str]:
    """The best ``n`` words of ``topics`` taken as one: c-TF-IDF (the fit's idf) of their summed word counts."""
    if not hasattr(model, "word_counts_"):
        return []
    counts = model.word_counts_[list(topics)].sum(axis=0, keepdims=True)
    import scipy.sparse as sp

    scores = np.asarray(sp.csr_array(model.ctfidf_.transform(counts)).toarray()).ravel()
    order = np.argsort(-scores, kind="stable")
    return [model.vocabulary_[j] for j in order[:n] if scores[j] > 0]


def topic_hierarchy(model) -> dict:
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
