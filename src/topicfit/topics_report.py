"""The HTML report of a topics run: one self-contained page (images inline as base64 PNG, no external URLs)
with a 2-D map of the documents coloured by topic, each topic's top words, the topic sizes, a topics x labels
heat map when reference labels exist, and a table of topics: label, size, words and the beginnings of their
representative documents (markup and entities decoded as for the topic words, then HTML-escaped).
"""

from __future__ import annotations

import base64
import html

import numpy as np

from .data import clean_markup
from .plots import _pyplot, png


SNIPPET_CHARS = 300  # the beginning of a representative document shown in the report


def snippet(text: str, chars: int = SNIPPET_CHARS) -> str:
    r"""The first ``chars`` characters of ``text`` on one line (runs of white space made one space), "…" if cut.

    >>> snippet("The  shuttle\n\nlaunch slipped", chars=12)
    'The shuttle…'
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[:chars].rstrip() + "…"


def _img(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}">'


def map_figure(embeddings, topics: np.ndarray, *, sample: int, seed: int) -> bytes:
    """A seeded sample of documents on the first two principal components of their embeddings, coloured by topic."""
    from sklearn.decomposition import PCA

    plt = _pyplot()
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(topics), min(sample, len(topics)), replace=False))
    X = np.asarray(embeddings[rows], dtype=np.float64)
    xy = PCA(n_components=2, random_state=seed).fit_transform(X) if len(rows) > 2 else np.zeros((len(rows), 2))
    fig, ax = plt.subplots(figsize=(8, 6.5), constrained_layout=True)
    ax.scatter(xy[:, 0], xy[:, 1], c=topics[rows], cmap="tab20", s=4, alpha=0.7, linewidths=0)
    for t in np.unique(topics[rows]):  # each topic's id at the middle of its documents
        cx, cy = np.median(xy[topics[rows] == t], axis=0)
        ax.annotate(str(t), (cx, cy), fontsize=8, weight="bold", ha="center")
    if len(rows) > 100:  # a few far-off documents (encoded binaries, say) should not squeeze the rest into a corner
        low, high = np.percentile(xy, [0.5, 99.5], axis=0)
        pad = 0.05 * (high - low)
        ax.set_xlim(low[0] - pad[0], high[0] + pad[0])
        ax.set_ylim(low[1] - pad[1], high[1] + pad[1])
    ax.set_title(f"{len(rows)} documents on 2 principal components, coloured by topic")
    ax.set_xticks([])
    ax.set_yticks([])
    return png(fig)


def words_figure(topics: list[dict], scores: list[list[float]]) -> bytes:
    """One small bar chart per topic: its top words, best first, by c-TF-IDF score."""
    plt = _pyplot()
    n = len(topics)
    cols = min(5, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), constrained_layout=True, squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, topic, score in zip(axes.ravel(), topics, scores):
        words = topic["words"][::-1]
        ax.barh(range(len(words)), score[::-1], color="tab:blue")
        ax.set_yticks(range(len(words)), words, fontsize=7)
        ax.set_xticks([])
        ax.set_title(f"{topic['id']}: {topic['label']}"[:40], fontsize=8)
    return png(fig)


def sizes_figure(topics: list[dict]) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 0.3 * len(topics) + 2), 4), constrained_layout=True)
    ax.bar([str(t["id"]) for t in topics], [t["size"] for t in topics], color="tab:gray")
    ax.set_xlabel("topic")
    ax.set_ylabel("documents")
    ax.set_title("topic sizes")
    return png(fig)


def heatmap_figure(topics: np.ndarray, references: list[str], n_topics: int) -> bytes:
    """Topics x labels: the share of each topic's documents per reference label."""
    plt = _pyplot()
    classes = sorted(set(references))
    index = {c: j for j, c in enumerate(classes)}
    counts = np.zeros((n_topics, len(classes)))
    np.add.at(counts, (topics, [index[y] for y in references]), 1)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(max(6, 0.4 * len(classes) + 3), max(4, 0.3 * n_topics + 2)), constrained_layout=True)
    im = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n_topics), [str(t) for t in range(n_topics)], fontsize=7)
    ax.set_xlabel("reference label")
    ax.set_ylabel("topic")
    fig.colorbar(im, ax=ax, shrink=0.8, label="share of the topic's documents")
    return png(fig)


def render_topics_report(model, embeddings, docs, topics: list[dict], metrics: dict, *, references=None) -> str:
    """The whole page as a string."""
    e = html.escape
    cfg = model.config
    def representatives(t: dict) -> str:
        posts = [f"<p class='doc'><b>{e(docs.ids[i])}</b>: {e(snippet(clean_markup(docs.texts[i])))}</p>"
                 for i in model.representatives_[t["id"]]]
        return "".join(posts) or "<p class='doc'>(no document close enough to the topic's centre)</p>"

    rows = "".join(
        f"<tr><td>{t['id']}</td><td><b>{e(t['label'])}</b></td><td>{t['size']}</td><td>{e(', '.join(t['words']))}</td>"
        f"<td>{representatives(t)}</td></tr>" for t in topics)
    shown = ("npmi", "diversity", "outlier_share", "n_topics", "n_documents", "nmi", "ari", "v_measure", "majority_accuracy")
    summary = "".join(f"<tr><th>{k}</th><td>{metrics[k] if not isinstance(metrics[k], float) else f'{metrics[k]:.4f}'}</td></tr>"
                      for k in shown if k in metrics)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>topics</title><style>"
        "body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px;vertical-align:top;text-align:left}img{max-width:100%}"
        ".doc{margin:0 0 6px 0;max-width:600px}"
        "</style></head><body>",
        f"<h1>Topics: {len(topics)} topics in {len(docs)} documents</h1>",
        f"<p>encoder {e(cfg.model)}, reducer {e(cfg.reducer)}, clusterer {e(cfg.clusterer)}, seed {cfg.seed}"
        f"{', mini-batch' if cfg.minibatch else ''}. Every document has a topic; an outlier is a document less similar to "
        "its topic than most of the topic's members.</p>",
        f"<table>{summary}</table>",
        "<h2>Map</h2>", _img(map_figure(embeddings, model.topics_, sample=cfg.map_sample, seed=cfg.seed), "map of documents"),
        "<h2>Top words</h2>", _img(words_figure(topics, model.word_scores_), "top words per topic"),
        "<h2>Sizes</h2>", _img(sizes_figure(topics), "topic sizes"),
    ]
    if references is not None:
        heatmap = heatmap_figure(model.topics_, list(references), len(topics))
        parts += ["<h2>Topics and reference labels</h2>", _img(heatmap, "topics x labels")]
    parts += ["<h2>Topics</h2><table><tr><th>id</th><th>label</th><th>size</th><th>words</th>"
              f"<th>representative documents (their first {SNIPPET_CHARS} characters)</th></tr>",
              rows, "</table></body></html>"]
    return "\n".join(parts) + "\n"
