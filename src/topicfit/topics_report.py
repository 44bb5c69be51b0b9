"""The HTML report of a topics run: one self-contained page (images inline as base64 PNG or SVG, no external
URLs, no scripts) with a 2-D map of the documents coloured by topic (an inline SVG: hovering a point shows its
post), each topic's top words, the topic sizes, a topics x labels heat map when reference labels exist, each
topic's share over time when the documents have dates, the merge tree over the topics, the last update's moves,
and a table of topics: label, size, words and the beginnings of their representative documents (markup and
entities decoded as for the topic words, then HTML-escaped).
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


PALETTE = ("#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd", "#c5b0d5",
           "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d", "#17becf", "#9edae5")  # tab20
HOVER_CHARS = 200  # the beginning of a post shown when hovering its point on the map


def map_points(embeddings, *, sample: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a seeded sample of documents and their places on the first two principal components of
    their embeddings, scaled to [0, 1] (a few far-off documents, 0.5% at each end, left at the edge)."""
    from sklearn.decomposition import PCA

    n = len(embeddings)
    rows = np.sort(np.random.default_rng(seed).choice(n, min(sample, n), replace=False))
    X = np.asarray(embeddings[rows], dtype=np.float64)
    xy = PCA(n_components=2, random_state=seed).fit_transform(X) if len(rows) > 2 else np.zeros((len(rows), 2))
    low, high = np.percentile(xy, [0.5, 99.5], axis=0) if len(rows) > 100 else (xy.min(axis=0), xy.max(axis=0))
    span = np.where(high - low > 0, high - low, 1.0)
    return rows, np.clip((xy - low) / span, 0.0, 1.0)


def map_svg(embeddings, topics: np.ndarray, docs, labels: list[str], *, sample: int, seed: int) -> str:
    """The map as an inline SVG: one point per sampled document coloured by topic, its ``<title>`` (shown on
    hover, no script needed) the post's id, topic and first characters; each topic's id at its documents' median."""
    e = html.escape
    rows, xy = map_points(embeddings, sample=sample, seed=seed)
    width, height, pad = 900, 640, 12
    px = np.round(pad + xy[:, 0] * (width - 2 * pad), 1)
    py = np.round(pad + (1 - xy[:, 1]) * (height - 2 * pad), 1)
    points = []
    for r, x, y in zip(rows, px, py):
        t = int(topics[r])
        tip = f"{docs.ids[r]} · topic {t}: {labels[t]}\n{snippet(clean_markup(docs.texts[r]), HOVER_CHARS)}"
        points.append(f'<circle cx="{x:g}" cy="{y:g}" r="2.6" fill="{PALETTE[t % len(PALETTE)]}"><title>{e(tip)}</title></circle>')
    marks = []
    for t in np.unique(topics[rows]):
        at = topics[rows] == t
        marks.append(f'<text x="{np.median(px[at]):.1f}" y="{np.median(py[at]):.1f}">{int(t)}</text>')
    return (f'<svg class="map" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
            f'<title>{len(rows)} documents on 2 principal components, coloured by topic</title>'
            f'<rect width="{width}" height="{height}" fill="#fff" stroke="#ccc"/>{"".join(points)}<g class="ids">{"".join(marks)}</g></svg>')


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


def over_time_figure(over_time: dict, labels: list[str]) -> bytes:
    """Each topic's share of each period's documents, one line per topic."""
    plt = _pyplot()
    shares = np.array(over_time["topic_shares"])
    fig, ax = plt.subplots(figsize=(10, 4.5), constrained_layout=True)
    for t, row in enumerate(shares):
        ax.plot(range(len(row)), row, color=PALETTE[t % len(PALETTE)], marker="o", markersize=3, linewidth=1.2,
                label=f"{t}: {labels[t]}"[:32])
    ax.set_xticks(range(shares.shape[1]), [str(p["start"])[:10] for p in over_time["periods"]], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("share of the period's documents")
    ax.set_xlabel(f"period start ({over_time['time']})")
    ax.legend(fontsize=6, ncol=2, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return png(fig)


def hierarchy_figure(hierarchy: dict) -> bytes:
    """The merge tree as a dendrogram, each leaf a topic's id and label."""
    from scipy.cluster.hierarchy import dendrogram

    plt = _pyplot()
    k, merges = hierarchy["n_topics"], hierarchy["merges"]
    Z = np.array([[*m["children"], m["distance"], len(m["topics"])] for m in merges], dtype=np.float64)
    fig, ax = plt.subplots(figsize=(9, max(3, 0.3 * k + 1)), constrained_layout=True)
    dendrogram(Z, orientation="left", labels=[f"{t}: {label}"[:40] for t, label in enumerate(hierarchy["labels"])], ax=ax,
               color_threshold=0, above_threshold_color="tab:blue", leaf_font_size=7)
    ax.set_xlabel("cosine distance between topic centroids (average linkage)")
    return png(fig)


def _hierarchy_table(hierarchy: dict) -> str:
    e = html.escape
    k, labels = hierarchy["n_topics"], hierarchy["labels"]

    def name(node: int) -> str:
        return f"{node}: {labels[node]}" if node < k else f"node {node}"

    rows = "".join(f"<tr><td>{m['node']}</td><td>{e(name(m['children'][0]))}<br>{e(name(m['children'][1]))}</td>"
                   f"<td>{m['distance']:.4f}</td><td>{e(', '.join(map(str, m['topics'])))}</td><td>{m['size']}</td>"
                   f"<td>{e(', '.join(m['words']))}</td></tr>" for m in hierarchy["merges"])
    return ("<table><tr><th>node</th><th>joins</th><th>distance</th><th>topics</th><th>documents</th><th>words</th></tr>"
            f"{rows}</table>")


def _over_time_table(over_time: dict, n_topics: int) -> str:
    head = "".join(f"<th>{t}</th>" for t in range(n_topics))
    rows = "".join(f"<tr><td>{html.escape(str(p['start']))}</td><td>{p['n_documents']}</td>"
                   + "".join(f"<td>{100 * s:.1f}</td>" for s in p["shares"]) + "</tr>" for p in over_time["periods"])
    return f"<table><tr><th>period start</th><th>documents</th>{head}</tr>{rows}</table>"


def _update_table(update: dict) -> str:
    e = html.escape
    rows = "".join(f"<tr><td>{r['id']}</td><td>{e(r['label'])}</td><td>{r['new_posts']}</td><td>{r['size_before']} → {r['size_after']}</td>"
                   f"<td>{r['centroid_shift']:.4f}</td><td>{r['word_overlap']:.2f}</td><td>{e(', '.join(r['words_after']))}</td></tr>"
                   for r in update["topics"])
    return (f"<p>{update['n_new']} new posts ({100 * update['new_outlier_share']:.1f}% of them outliers); "
            f"{update['old_documents_moved']} earlier posts changed topic; the topics' centres moved {update['mean_centroid_shift']:.4f} "
            f"on average (cosine distance), and {100 * update['mean_word_overlap']:.0f}% of their top words stayed.</p>"
            "<table><tr><th>id</th><th>label</th><th>new posts</th><th>size</th><th>centre moved</th><th>words kept</th>"
            f"<th>words now</th></tr>{rows}</table>")


def render_topics_report(model, embeddings, docs, topics: list[dict], metrics: dict, *, references=None, hierarchy=None, over_time=None,
                         updates=None) -> str:
    """The whole page as a string."""
    e = html.escape
    cfg = model.config

    def representatives(t: dict) -> str:
        posts = [f"<p class='doc'><b>{e(docs.ids[i])}</b>: {e(snippet(clean_markup(docs.texts[i])))}</p>"
                 for i in model.representatives_[t["id"]]]
        return "".join(posts) or "<p class='doc'>(no document close enough to the topic's centre)</p>"

    def label(t: dict) -> str:
        seeds = f"<br>seeds: {e(', '.join(t['seeds']))}" if t.get("seeds") else ""
        return f"<b>{e(t['label'])}</b>{seeds}"

    rows = "".join(f"<tr><td>{t['id']}</td><td>{label(t)}</td><td>{t['size']}</td><td>{e(', '.join(t['words']))}</td>"
                   f"<td>{representatives(t)}</td></tr>" for t in topics)
    shown = ("npmi", "diversity", "outlier_share", "n_topics", "n_documents", "nmi", "ari", "v_measure", "majority_accuracy")
    summary = "".join(f"<tr><th>{k}</th><td>{metrics[k] if not isinstance(metrics[k], float) else f'{metrics[k]:.4f}'}</td></tr>"
                      for k in shown if k in metrics)
    labels = [t["label"] for t in topics]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>topics</title><style>"
        "body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px;vertical-align:top;text-align:left}img{max-width:100%}"
        ".doc{margin:0 0 6px 0;max-width:600px}svg.map{max-width:100%;height:auto}svg.map circle:hover{stroke:#000;stroke-width:2}"
        "svg.map .ids text{font-size:13px;font-weight:bold;text-anchor:middle;pointer-events:none;paint-order:stroke;stroke:#fff;stroke-width:3px}"
        "</style></head><body>",
        f"<h1>Topics: {len(topics)} topics in {len(docs)} documents</h1>",
        f"<p>encoder {e(cfg.model)}, reducer {e(cfg.reducer)}, clusterer {e(cfg.clusterer)}, seed {cfg.seed}"
        f"{', mini-batch' if cfg.minibatch else ''}. Every document has a topic; an outlier is a document less similar to "
        "its topic than most of the topic's members.</p>",
        f"<table>{summary}</table>",
        "<h2>Map</h2><p>Hover over a point to read its post.</p>",
        map_svg(embeddings, model.topics_, docs, labels, sample=cfg.map_sample, seed=cfg.seed),
        "<h2>Top words</h2>", _img(words_figure(topics, model.word_scores_), "top words per topic"),
        "<h2>Sizes</h2>", _img(sizes_figure(topics), "topic sizes"),
    ]
    if references is not None:
        heatmap = heatmap_figure(model.topics_, list(references), len(topics))
        parts += ["<h2>Topics and reference labels</h2>", _img(heatmap, "topics x labels")]
    if over_time is not None:
        parts += ["<h2>Topics over time</h2>",
                  f"<p>Each topic's share (%) of each period's documents; time: {e(over_time['time'])}; "
                  f"{over_time['n_undated']} documents without a date.</p>",
                  _img(over_time_figure(over_time, labels), "topics over time"), _over_time_table(over_time, len(topics))]
    if hierarchy is not None and hierarchy["merges"]:
        parts += ["<h2>Hierarchy</h2>", f"<p>{e(hierarchy['method'])}; merging along it: <code>topicfit topics RUN --n-topics K</code>.</p>",
                  _img(hierarchy_figure(hierarchy), "topic hierarchy"), _hierarchy_table(hierarchy)]
    if updates:
        parts += [f"<h2>Last update (of {len(updates)})</h2>", _update_table(updates[-1])]
    parts += ["<h2>Topics</h2><table><tr><th>id</th><th>label</th><th>size</th><th>words</th>"
              f"<th>representative documents (their first {SNIPPET_CHARS} characters)</th></tr>",
              rows, "</table></body></html>"]
    return "\n".join(parts) + "\n"
