"""Topic discovery for documents without labels: embed → reduce → cluster → topic words, with every document
assigned and the same rule at fit and at transform.

1. embed: mean-pooled, L2-normalised embeddings (:func:`topicfit.embeddings.embed_texts`, cached), or yours;
2. reduce: UMAP or PCA (IncrementalPCA in mini-batch mode) of the non-blank documents;
3. cluster: k-means (MiniBatchKMeans in mini-batch mode) or HDBSCAN in the reduced space;
4. topics are then the clusters' centroids in the ORIGINAL embedding space (mean of members, normalised), and
   every document, at fit and at transform alike, goes to the topic of highest cosine similarity: its
   probability is a softmax of the similarities at a fixed temperature, and it is flagged ``outlier`` when its
   similarity is below its topic's threshold (a low quantile of the members' similarities, learnt at fit).
   Fit and transform share this one rule, so a saved model reproduces the fit's assignments exactly (UMAP's
   transform, which BERTopic applies to new documents, does not reproduce its fit);
5. topic words: class-based TF-IDF over the final assignments (:class:`ClassTfidfTransformer`, scikit-learn
   vectorizers), counted chunk by chunk so memory stays flat, in the text without markup or HTML entities. A
   word's share of its topic is square-rooted, its idf is BM25's, and it is listed by at most
   ``word_max_topics`` topics, so words frequent everywhere ("said", "new") do not crowd out each topic's own
   (``benchmarks/results/topics-words-minilm.json`` scores these settings). A topic's label is its best distinct
   words ("space · launch · orbit"). The vectorizer and the c-TF-IDF are parts a caller may swap.

>>> model = TopicClustering(TopicsConfig(n_topics=20)).fit(embeddings, texts)  # doctest: +SKIP
>>> model.topics_[:5], model.words_[0][:3]                               # doctest: +SKIP
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import resource
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.preprocessing import normalize

from .data import Documents, clean_markup
from .encoders import PRECISIONS
from .errors import ConfigError, DataError, RunError
from .settings import Settings
from .runs import (ASSIGNMENTS_FILE, CENTROIDS_FILE, DOCUMENTS_FILE, LABELLED_FILE, MODEL_DIR, RUN_FILE, TOPIC_MODEL_FILE,
                   TOPICS_FILE, TOPICS_REPORT_FILE, VOCABULARY_FILE, environment, read_json, start_run, write_json, write_text)

logger = logging.getLogger(__name__)

# --- file names of a topics run (to move to runs.py) -----------------------------------------------------

EMBEDDINGS_FILE = "embeddings.npy"  # (n, dim) float32, input order: what --update and --n-topics reuse (save_embeddings)
HIERARCHY_FILE = "hierarchy.json"  # the merge tree over the topics (topicfit.topics_evolve.topic_hierarchy)
OVER_TIME_FILE = "topics_over_time.json"  # each topic's share per period, when the documents have dates
UPDATES_FILE = "updates.json"  # one entry per `topicfit topics RUN --update`: how far each topic moved
SEED_FORMAT = ("YAML or JSON like {space: [orbit, launch, nasa], hockey: [nhl, puck]} (or a list of word lists), or a text "
               "file with one topic a line: 'space: orbit launch nasa' (the name and colon optional)")

REDUCERS = ("umap", "pca", "none")
CLUSTERERS = ("kmeans", "hdbscan")
WORD_SETTINGS = ("stop_words", "min_df", "token_pattern", "top_n_words", "ngram_max", "reduce_frequent_words", "bm25_weighting",
                 "word_max_topics", "label_words", "mmr_diversity", "mmr_candidates")  # what TopicClustering.update_words may change
AUTO_TOPICS = (*range(5, 21), 25, 30, 35, 40, 45, 50)  # k-means candidates for n_topics=None (fewer than 5 topics rarely help)


@dataclass(frozen=True)
class TopicsConfig(Settings):
    """Settings of topic discovery. Round-trips through ``to_dict``/``from_dict``."""

    model: str = field(default="minilm", metadata={
        "help": "encoder: minilm | mpnet | a Hub id | a local folder (ignored when embeddings are passed in)"})
    max_length: int = field(default=256, metadata={
        "help": "encoder tokens per window (the embed kind's settings, so the embedding cache is shared)"})
    whole: bool = field(default=True, metadata={
        "help": "read each whole text in overlapping windows and average them; --cut: cut it to --max-length (head+tail)",
        "false_flags": ["--cut"]})
    max_windows: int = field(default=16, metadata={"help": "at most this many windows per text"})
    batch_size: int = field(default=32, metadata={"help": "texts per encoder batch"})
    precision: str = field(default="auto", metadata={"help": "encoder precision", "choices": PRECISIONS})
    n_topics: int | None = field(default=None, metadata={
        "help": "number of topics; none: automatic (k-means: best silhouette of AUTO_TOPICS; hdbscan: its own)"})
    reducer: str = field(default="pca", metadata={"help": "the space clusters are found in (mini-batch mode: pca or none)",
                                                  "choices": REDUCERS})
    n_components: int = field(default=50, metadata={"help": "dimensions of the reduced space"})
    n_neighbors: int = field(default=15, metadata={"help": "UMAP's neighbourhood size"})
    clusterer: str = field(default="kmeans", metadata={
        "help": "hdbscan: --n-topics, if given, merges its clusters down to n_topics", "choices": CLUSTERERS})
    min_cluster_size: int | None = field(default=None, metadata={"help": "HDBSCAN's; none: max(10, n / 200)"})
    temperature: float = field(default=0.05, metadata={"help": "softmax temperature over cosine similarities (smaller: more confident)"})
    outlier_quantile: float = field(default=0.05, metadata={
        "help": "a document below this quantile of its topic's members' similarities is an outlier; 0: none"})
    stop_words: str | None = field(default="english", metadata={"help": "the count vectorizer's stop words (scikit-learn's list) or none"})
    min_df: int = field(default=5, metadata={"help": "a topic word occurs in at least this many documents (of the vocabulary sample)"})
    token_pattern: str = field(default=r"(?u)\b[^\W\d_][^\W\d_]+\b", metadata={
        "help": "the count vectorizer's token pattern; the default: words of two or more letters (no numbers, which make poor "
                "topic words)"})
    top_n_words: int = field(default=10, metadata={"help": "words kept per topic"})
    n_representative: int = field(default=3, metadata={"help": "representative documents per topic (the most similar to its centroid)"})
    minibatch: bool = field(default=False, metadata={
        "help": "IncrementalPCA + MiniBatchKMeans + a sampled vocabulary: memory flat in the corpus size"})
    chunk_size: int = field(default=8192, metadata={"help": "documents per chunk (assignment, counting, mini-batch fitting)"})
    vocabulary_sample: int = field(default=200_000, metadata={
        "help": "mini-batch mode: the vocabulary is fitted on this many documents (seeded sample)"})
    metrics_sample: int = field(default=50_000, metadata={"help": "NPMI is computed on at most this many documents (seeded sample)"})
    map_sample: int = field(default=5_000, metadata={"help": "documents drawn on the report's 2-D map"})
    save_texts: bool = field(default=True, metadata={
        "help": "keep ids and texts in documents.jsonl.gz, so rename_topics needs no source data"})
    seed: int = field(default=42, metadata={"help": "random seed"})
    # topic words, labels and the topics listed per document
    ngram_max: int = field(default=1, metadata={"help": "longest phrase counted as a topic word: 1 single words, 2 two-word phrases too",
                                                "choices": (1, 2, 3)})
    reduce_frequent_words: bool = field(default=True, metadata={
        "help": "c-TF-IDF takes the square root of a word's share of its topic (BERTopic's option), so words frequent "
                "in every topic, like 'said', fall behind the topic's own words"})
    bm25_weighting: bool = field(default=True, metadata={
        "help": "c-TF-IDF's idf in BM25's form (BERTopic's option), which weighs words frequent in every topic down further"})
    word_max_topics: int | None = field(default=2, metadata={
        "help": "a word is among the top words of at most this many topics, those it scores highest in; none: no limit"})
    label_words: int = field(default=3, metadata={"help": "words in a topic's label, e.g. 'space · launch · orbit'"})
    top_k_topics: int = field(default=3, metadata={
        "help": "topics listed per document in assignments.jsonl ('topics': [[id, probability], ...], best first)"})
    mmr_diversity: float = field(default=0.0, metadata={
        "help": "0: off; else each topic's words are re-picked from its mmr_candidates best by maximal marginal relevance "
                "over the encoder's word embeddings (BERTopic's diversity, e.g. 0.3): likeness to the topic minus this "
                "weight times likeness to the words already picked"})
    mmr_candidates: int = field(default=30, metadata={"help": "with mmr_diversity: the best c-TF-IDF words each topic's words are picked from"})
    # steering, time and updates
    seed_topics: str | None = field(default=None, metadata={
        "help": "a file of seed words per topic that steers the clustering (YAML/JSON {space: [orbit, nasa], ...} or text, "
                "one topic a line: 'space: orbit nasa'; docs/topics.md)"})
    time_periods: int = field(default=10, metadata={
        "help": "periods of topics_over_time.json, when the documents have dates (--date-column; 20 Newsgroups: article order)"})
    save_embeddings: bool = field(default=True, metadata={
        "help": "keep the embeddings in embeddings.npy, so RUN --update and RUN --n-topics never embed the old posts again"})

    def __post_init__(self) -> None:
        if self.reducer not in REDUCERS:
            raise ConfigError(f"reducer must be one of {REDUCERS}, got {self.reducer!r}")
        if self.clusterer not in CLUSTERERS:
            raise ConfigError(f"clusterer must be one of {CLUSTERERS}, got {self.clusterer!r}")
        if self.n_topics is not None and self.n_topics < 2:
            raise ConfigError(f"n_topics must be at least 2 (or None for automatic), got {self.n_topics}")
        if self.minibatch and (self.reducer == "umap" or self.clusterer != "kmeans"):
            raise ConfigError("mini-batch mode uses reducer pca or none and clusterer kmeans; "
                              f"got reducer {self.reducer!r}, clusterer {self.clusterer!r}")
        if not 0 <= self.outlier_quantile < 0.5:
            raise ConfigError(f"outlier_quantile must be in [0, 0.5), got {self.outlier_quantile}")
        if self.temperature <= 0:
            raise ConfigError(f"temperature must be positive, got {self.temperature}")
        if self.n_components < 2 or self.top_n_words < 1 or self.chunk_size < 100:
            raise ConfigError("n_components must be >= 2, top_n_words >= 1 and chunk_size >= 100")
        if self.ngram_max not in (1, 2, 3):
            raise ConfigError(f"ngram_max must be 1, 2 or 3, got {self.ngram_max}")
        if self.word_max_topics is not None and self.word_max_topics < 1:
            raise ConfigError(f"word_max_topics must be at least 1 (or None for no limit), got {self.word_max_topics}")
        if self.label_words < 1 or self.top_k_topics < 1:
            raise ConfigError(f"label_words and top_k_topics must be at least 1, got {self.label_words} and {self.top_k_topics}")
        if not 0 <= self.mmr_diversity <= 1:
            raise ConfigError(f"mmr_diversity must be in [0, 1] (0: off), got {self.mmr_diversity}")
        if self.mmr_candidates < self.top_n_words:
            raise ConfigError(f"mmr_candidates must be at least top_n_words ({self.top_n_words}), got {self.mmr_candidates}")
        if self.time_periods < 1:
            raise ConfigError(f"time_periods must be at least 1, got {self.time_periods}")


class ClassTfidfTransformer(TfidfTransformer):
    """c-TF-IDF (as in BERTopic): rows are topics holding the summed word counts of their documents. A word's
    weight in a topic is its share of the topic's words times ``log(1 + A / f)``, where ``A`` is the average
    number of words per topic and ``f`` the word's count over all topics.

    Args:
        reduce_frequent_words (bool, default False): take the square root of the share, so a word frequent in
            every topic ("said") weighs less against the words that mark one topic.
        bm25_weighting (bool, default False): idf ``log(1 + (A - f + 0.5) / (f + 0.5))`` instead (BM25's form).

    >>> counts = [[4, 1], [0, 1]]  # A = 3, f = (4, 2): idf = (log 1.75, log 2.5)
    >>> ClassTfidfTransformer(reduce_frequent_words=True).fit_transform(counts).toarray().round(3)  # sqrt(.8), sqrt(.2), 1
    array([[0.501, 0.41 ],
           [0.   , 0.916]])
    """

    def __init__(self, *, reduce_frequent_words: bool = False, bm25_weighting: bool = False):
        super().__init__(norm=None, use_idf=True, smooth_idf=False, sublinear_tf=False)
        self.reduce_frequent_words = reduce_frequent_words
        self.bm25_weighting = bm25_weighting

    def fit(self, X, y=None):
        super().fit(X)  # validation, n_features_in_
        X = sp.csr_array(X, dtype=np.float64)
        frequency, average = np.asarray(X.sum(axis=0)).ravel(), X.sum() / X.shape[0]
        if self.bm25_weighting:
            self.idf_ = np.log(1.0 + (average - frequency + 0.5) / (frequency + 0.5))
        else:
            self.idf_ = np.log(1.0 + average / np.maximum(frequency, 1.0))
        return self

    def transform(self, X, copy=True):
        shares = normalize(sp.csr_array(X, dtype=np.float64), norm="l1")
        if self.reduce_frequent_words:
            shares.data = np.sqrt(shares.data)
        return super().transform(shares, copy=False)


# --- helpers ------------------------------------------------------------------------------------------------


def _chunks(n: int, size: int):
    for start in range(0, n, size):
        yield start, min(n, start + size)


def _rows(embeddings, start: int, stop: int) -> np.ndarray:
    """Rows of ``embeddings`` (an array or a memmap) as L2-normalised float64."""
    rows = np.asarray(embeddings[start:stop], dtype=np.float64)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def _softmax(similarities: np.ndarray, temperature: float) -> np.ndarray:
    z = (similarities - similarities.max(axis=1, keepdims=True)) / temperature
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _require(module: str, what: str) -> None:
    """Fail early, saying which extra to install, when an optional package is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"{what} needs the package {module!r}: pip install 'topicfit[topics]'")


def _one_hot(labels: np.ndarray, k: int) -> sp.csr_array:
    """(k, n) sparse: row t marks the documents of topic t (labels of -1 are left out)."""
    keep = labels >= 0
    cols = np.flatnonzero(keep)
    return sp.csr_array((np.ones(len(cols)), (labels[keep], cols)), shape=(k, len(labels)))


def spread_centres(X: np.ndarray, centres: np.ndarray, n: int, *, seed: int) -> np.ndarray:
    """``centres`` and ``n`` more rows of ``X`` drawn as k-means++ draws them (each with probability proportional
    to its squared distance from the nearest centre so far), seeded: (len(centres) + n, dim).

    >>> spread_centres(np.array([[0.], [0.1], [5.]]), np.array([[0.]]), 1, seed=0).ravel().tolist()
    [0.0, 5.0]
    """
    rng = np.random.default_rng(seed)
    chosen = [np.asarray(c, dtype=np.float64) for c in centres]
    d2 = np.min([((X - c) ** 2).sum(axis=1) for c in chosen], axis=0) if chosen else np.full(len(X), 1.0)
    for _ in range(n):
        total = d2.sum()
        i = int(rng.choice(len(X), p=d2 / total)) if total > 0 else int(rng.integers(len(X)))
        chosen.append(X[i].astype(np.float64))
        d2 = np.minimum(d2, ((X - X[i]) ** 2).sum(axis=1))
    return np.stack(chosen)


def _named_seeds(seed_topic_list) -> list[tuple[str, list[str]]]:
    """``[(name, words)]`` from ``[(name, words)]`` or ``[[words]]`` (named ``seed 0``, ``seed 1``, ...)."""
    out = []
    for j, item in enumerate(seed_topic_list):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) and not isinstance(item[1], str):
            out.append((item[0], [str(w) for w in item[1]]))
        else:
            out.append((f"seed {j}", [str(w) for w in item]))
    return out


class _Guide:
    """Seed topics in the embedding space: their names, vectors (m, dim), the competitors a document is compared
    with (the seeds and the corpus' mean direction) and, once set, each fitted document's seed (-1: none)."""

    def __init__(self, names: list[str], vectors: np.ndarray, competitors: np.ndarray):
        self.names, self.vectors, self.competitors = names, vectors, competitors
        self.labels: np.ndarray = np.empty(0, dtype=np.int64)

    def label(self, X: np.ndarray) -> np.ndarray:
        j = (X @ self.competitors.T).argmax(axis=1)
        return np.where(j < len(self.names), j, -1)

    def pull(self, X: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Each seeded row moved to 3:1 between itself and its seed (BERTopic's weights), normalised again."""
        out, has = X.copy(), labels >= 0
        out[has] = normalize(3 * X[has] + self.vectors[labels[has]])
        return out


def read_seed_topics(path: str | Path) -> list[tuple[str, list[str]]]:
    """Seed words per topic from a file: ``[(name, [words]), ...]`` in file order (see :data:`SEED_FORMAT`).

    YAML/JSON (``.yaml``, ``.yml``, ``.json``): a mapping of name to words (a list, or one string of words), or a
    list of word lists (named ``seed 0``, ...). Any other file: one topic a line, ``name: word word`` or just the
    words (commas or spaces between them); blank lines and lines starting with ``#`` are skipped.
    """
    import yaml

    path = Path(path)
    where = f"seed topics file {path}"
    try:
        raw_text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read the {where} ({exc}); expected {SEED_FORMAT}") from exc

    def words_of(value, name) -> list[str]:
        if isinstance(value, str):
            value = value.replace(",", " ").split()
        if not isinstance(value, list) or not value or not all(isinstance(w, (str, int, float)) and str(w).strip() for w in value):
            raise DataError(f"{where}: topic {name!r} needs a non-empty list of words, got {value!r}; expected {SEED_FORMAT}")
        return [str(w).strip() for w in value]

    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        try:
            raw = yaml.safe_load(raw_text)
        except yaml.YAMLError as exc:
            raise DataError(f"{where} is not valid YAML/JSON ({exc}); expected {SEED_FORMAT}") from exc
        if isinstance(raw, dict):
            seeds = [(str(name), words_of(value, name)) for name, value in raw.items()]
        elif isinstance(raw, list):
            seeds = [(f"seed {j}", words_of(value, f"seed {j}")) for j, value in enumerate(raw)]
        else:
            raise DataError(f"{where}: expected a mapping or a list, got {type(raw).__name__}; expected {SEED_FORMAT}")
    else:
        seeds = []
        for line in raw_text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, colon, rest = line.partition(":")
            name, rest = (name.strip(), rest) if colon else (f"seed {len(seeds)}", line)
            seeds.append((name, words_of(rest, name)))
    if not seeds:
        raise DataError(f"{where} names no seed topic; expected {SEED_FORMAT}")
    names = [name for name, _ in seeds]
    if len(set(names)) != len(names):
        raise DataError(f"{where}: a seed topic name appears twice ({names}); expected {SEED_FORMAT}")
    return seeds


# --- the model ----------------------------------------------------------------------------------------------


class TopicClustering:
    """Topics as centroids in the embedding space, found by clustering a reduced space.

    After ``fit``: ``centroids_`` (k, dim), ``thresholds_`` (k,), ``topics_``/``probabilities_``/``outliers_``
    per training document, ``sizes_``, ``words_`` (top words per topic), ``labels_`` (a name per topic),
    ``representatives_`` (document indices per topic) and ``vocabulary_``.

    Args:
        config (TopicsConfig | None): settings; the defaults when ``None``.
        vectorizer_model (sklearn vectorizer | None): what topic words are counted with (cloned before fitting);
            ``None``: a ``CountVectorizer`` built from ``config`` (:func:`topic_text` as its preprocessor).
        ctfidf_model (TfidfTransformer | None): the topic-word weighting (cloned); ``None``:
            :class:`ClassTfidfTransformer` with ``config``'s ``reduce_frequent_words`` and ``bm25_weighting``.
            Neither part is saved: a loaded model assigns documents, its words are those of the fit.
        word_embedder (callable | None): texts -> (n, dim) embeddings in the space of the documents' embeddings, for
            seed words and ``mmr_diversity``; ``None``: :func:`topicfit.embeddings.embed_texts` with ``config``'s encoder.
        seed_topic_list (list | None): seed words per topic, ``[(name, [words]), ...]`` (:func:`read_seed_topics`) or
            ``[[words], ...]``: the documents closer to a seed than to the corpus' mean are pulled toward it (3:1, as
            BERTopic's guided topics) in the space clusters are found in, and each seed starts a k-means centre there.

    >>> words = CountVectorizer(stop_words="english", ngram_range=(1, 2), min_df=3)   # doctest: +SKIP
    >>> TopicClustering(TopicsConfig(n_topics=20), vectorizer_model=words).fit(embeddings, texts)  # doctest: +SKIP
    """

    def __init__(self, config: TopicsConfig | None = None, *, vectorizer_model=None, ctfidf_model=None, word_embedder=None,
                 seed_topic_list=None):
        self.config = config if config is not None else TopicsConfig()
        self.vectorizer_model = vectorizer_model
        self.ctfidf_model = ctfidf_model
        self.word_embedder = word_embedder
        self.seed_topic_list = seed_topic_list

    # -- the one assignment rule --
    def similarities(self, embeddings) -> np.ndarray:
        """Cosine similarity of each document to each topic, (n, k) float64, in fixed chunks."""
        out = np.empty((len(embeddings), len(self.centroids_)))
        centroids = self.centroids_.astype(np.float64)
        for start, stop in _chunks(len(embeddings), self.config.chunk_size):
            out[start:stop] = _rows(embeddings, start, stop) @ centroids.T
        return out

    def _assign(self, embeddings, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest topic and its similarity per document, chunk by chunk (memory flat in n)."""
        topics, best = np.empty(len(embeddings), dtype=np.int64), np.empty(len(embeddings))
        centroids = centroids.astype(np.float64)
        for start, stop in _chunks(len(embeddings), self.config.chunk_size):
            sims = _rows(embeddings, start, stop) @ centroids.T
            topics[start:stop] = sims.argmax(axis=1)
            best[start:stop] = sims[np.arange(stop - start), topics[start:stop]]
        return topics, best

    def transform(self, embeddings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(topics, probabilities, outliers)`` per document: the nearest topic, its softmax probability, and
        whether the similarity is below that topic's threshold. The fit assigned its documents the same way."""
        topics = np.empty(len(embeddings), dtype=np.int64)
        probabilities, outliers = np.empty(len(embeddings)), np.empty(len(embeddings), dtype=bool)
        for start, stop in _chunks(len(embeddings), self.config.chunk_size):
            sims = self.similarities(embeddings[start:stop])
            t = sims.argmax(axis=1)
            topics[start:stop] = t
            probabilities[start:stop] = _softmax(sims, self.config.temperature)[np.arange(stop - start), t]
            outliers[start:stop] = sims[np.arange(stop - start), t] < self.thresholds_[t]
        return topics, probabilities, outliers

    def predict_proba(self, embeddings) -> np.ndarray:
        """(n, k) softmax of the similarities; columns follow the topic ids."""
        return _softmax(self.similarities(embeddings), self.config.temperature)

    def top_topics(self, embeddings, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Each document's ``k`` (default ``config.top_k_topics``) most similar topics, best first, and their
        softmax probabilities: two (n, k) arrays. The first column is :meth:`transform`'s topic and probability
        (ties go to the lower topic id in both)."""
        k = min(k or self.config.top_k_topics, len(self.centroids_))
        ids, probabilities = np.empty((len(embeddings), k), dtype=np.int64), np.empty((len(embeddings), k))
        for start, stop in _chunks(len(embeddings), self.config.chunk_size):
            sims = self.similarities(embeddings[start:stop])
            order = np.argsort(-sims, axis=1, kind="stable")[:, :k]  # stable: the first of equal similarities, as argmax
            ids[start:stop] = order
            probabilities[start:stop] = np.take_along_axis(_softmax(sims, self.config.temperature), order, axis=1)
        return ids, probabilities

    # -- fitting --
    def fit(self, embeddings, texts) -> "TopicClustering":
        """Find topics in ``embeddings`` (n, dim; an array or a memmap, rows L2-normalised or not) of ``texts``."""
        cfg, n = self.config, len(embeddings)
        if len(texts) != n:
            raise DataError(f"got {n} embeddings for {len(texts)} texts; expected one embedding per text")
        fit_rows = np.flatnonzero([bool(t.strip()) for t in texts])  # blank texts are assigned, but shape no topic
        if len(fit_rows) < 2:
            raise DataError(f"topic discovery needs at least 2 documents with text; got {len(fit_rows)} of {n}")
        guide = self._guide(embeddings, fit_rows) if self.seed_topic_list else None
        reduced = self._reduce(embeddings, fit_rows, guide)
        clusters, k = self._cluster(reduced, guide)
        sums = np.zeros((k, embeddings.shape[1]))
        for start, stop in _chunks(len(fit_rows), cfg.chunk_size):  # centroids in the ORIGINAL embedding space
            rows = fit_rows[start:stop]
            block = np.asarray(embeddings[rows], dtype=np.float64)
            sums += _one_hot(clusters[start:stop], k) @ normalize(block)
        self._settle(embeddings, texts, sums)
        self.seeds_ = self._seed_topics(guide, fit_rows)
        logger.info("topics: %d topics for %d documents (%d outliers)", len(self.centroids_), n, int(self.outliers_.sum()))
        return self

    def _settle(self, embeddings, texts, sums: np.ndarray, *, keep_ids: bool = False) -> None:
        """Topics from each one's sum of member embeddings (``sums``, k x dim): centroids, every document assigned to
        the nearest, thresholds, words and representatives. Topics no document is nearest to are dropped and ids
        go by size (0: the largest), unless ``keep_ids`` (an update: topic t stays topic t, possibly empty)."""
        mass = np.linalg.norm(sums, axis=1)
        keep = np.flatnonzero(mass > 0) if not keep_ids else np.arange(len(sums))
        centroids, mass = normalize(sums[keep]), mass[keep]
        while True:  # assign everyone; a topic that keeps no document is dropped
            topics, best = self._assign(embeddings, centroids)
            sizes = np.bincount(topics, minlength=len(centroids))
            if keep_ids or (sizes > 0).all():
                break
            centroids, mass = centroids[sizes > 0], mass[sizes > 0]
        order = np.arange(len(centroids)) if keep_ids else np.argsort(-sizes, kind="stable")  # topic 0 is the largest
        self.centroids_, self.mass_ = centroids[order].astype(np.float32), mass[order]
        topics, best = self._assign(embeddings, self.centroids_)
        self.sizes_ = np.bincount(topics, minlength=len(order))
        has_text = np.array([bool(t.strip()) for t in texts], dtype=bool)
        self.thresholds_ = np.array([self._threshold(best[(topics == t) & has_text]) for t in range(len(order))])
        self.topics_, self.probabilities_, self.outliers_ = self.transform(embeddings)
        assert (self.topics_ == topics).all()
        self._fit_words(texts)
        self.representatives_ = self._representatives(best)

    def _threshold(self, member_similarities: np.ndarray) -> float:
        if self.config.outlier_quantile == 0 or not len(member_similarities):
            return -np.inf
        return float(np.quantile(member_similarities, self.config.outlier_quantile))

    # -- seeded topics --
    def _guide(self, embeddings, fit_rows: np.ndarray) -> "_Guide":
        """BERTopic's guided topics: each seed's words are embedded as one text; a document goes to the seed it is
        most similar to, unless the corpus' mean direction is more similar still (then to none)."""
        seeds = [(name, list(words)) for name, words in _named_seeds(self.seed_topic_list)]
        vectors = self._embed_words([" ".join(words) for _, words in seeds])
        if vectors.shape[1] != embeddings.shape[1]:
            raise ConfigError(f"the seed words' embeddings have {vectors.shape[1]} dimensions, the documents' {embeddings.shape[1]}: "
                              "seed words are embedded by the run's encoder (model), which must be the documents' encoder")
        mean = np.zeros(embeddings.shape[1])
        for start, stop in _chunks(len(fit_rows), self.config.chunk_size):
            mean += _rows(embeddings[fit_rows[start:stop]], 0, stop - start).sum(axis=0)
        guide = _Guide([name for name, _ in seeds], vectors, np.vstack([vectors, normalize(mean[None])]))
        labels, similarities = [], []
        for start, stop in _chunks(len(fit_rows), self.config.chunk_size):
            X = _rows(embeddings[fit_rows[start:stop]], 0, stop - start)
            labels.append(guide.label(X))
            similarities.append(X @ vectors.T)
        guide.labels, sims = np.concatenate(labels), np.concatenate(similarities)
        for j in range(len(seeds)):  # a seed no document prefers still starts a centre: at its most similar document
            if not (guide.labels == j).any():
                logger.warning("no document is closer to seed topic %r than to the corpus' mean; it starts at its most similar one",
                               seeds[j][0])
                guide.labels[int(np.argmax(sims[:, j]))] = j
        logger.info("seed topics: %s", {name: int((guide.labels == j).sum()) for j, (name, _) in enumerate(seeds)})
        return guide

    def _seed_topics(self, guide: "_Guide | None", fit_rows: np.ndarray) -> list[list[str]]:
        """Per topic, the names of the seeds whose documents it holds most of (ties: the lower topic id)."""
        out: list[list[str]] = [[] for _ in range(len(self.centroids_))]
        if guide is None:
            return out
        for j, name in enumerate(guide.names):
            members = self.topics_[fit_rows[guide.labels == j]]
            out[int(np.bincount(members, minlength=len(out)).argmax())].append(name)
        return out

    def _reduce(self, embeddings, fit_rows: np.ndarray, guide: "_Guide | None" = None) -> np.ndarray:
        """The non-blank documents in the reduced space, (m, n_components) float32 (pulled toward their seeds first)."""
        cfg = self.config

        def block(start: int, stop: int) -> np.ndarray:
            X = _rows(embeddings[fit_rows[start:stop]], 0, stop - start)
            return X if guide is None else guide.pull(X, guide.labels[start:stop])

        if cfg.minibatch:
            if cfg.reducer == "none":
                return np.concatenate([block(s, e).astype(np.float32) for s, e in _chunks(len(fit_rows), cfg.chunk_size)])
            from sklearn.decomposition import IncrementalPCA

            pca = IncrementalPCA(n_components=cfg.n_components)
            size = max(cfg.chunk_size, 2 * cfg.n_components)
            for start, stop in _chunks(len(fit_rows), size):
                if stop - start >= cfg.n_components:  # IncrementalPCA needs a chunk at least n_components long
                    pca.partial_fit(block(start, stop))
            return np.concatenate([pca.transform(block(s, e)).astype(np.float32) for s, e in _chunks(len(fit_rows), size)])
        X = block(0, len(fit_rows)) if guide is not None else _rows(np.asarray(embeddings)[fit_rows], 0, len(fit_rows))
        if cfg.reducer == "none":
            return X.astype(np.float32)
        n_components = min(cfg.n_components, X.shape[1], len(X) - 1)
        if cfg.reducer == "pca":
            from sklearn.decomposition import PCA

            return PCA(n_components=n_components, random_state=cfg.seed).fit_transform(X).astype(np.float32)
        _require("umap", "the UMAP reducer")
        import umap

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "n_jobs value 1 overridden": a seeded UMAP runs on one thread
            reducer = umap.UMAP(n_neighbors=min(cfg.n_neighbors, len(X) - 1), n_components=n_components, min_dist=0.0,
                                metric="cosine", random_state=cfg.seed, n_jobs=1)
            return reducer.fit_transform(X).astype(np.float32)

    def _cluster(self, reduced: np.ndarray, guide: "_Guide | None" = None) -> tuple[np.ndarray, int]:
        """Cluster labels (-1: HDBSCAN's noise) and the number of clusters (seeds start k-means centres)."""
        cfg = self.config
        n_seeds = 0 if guide is None else len(guide.names)
        if cfg.n_topics is not None and n_seeds > cfg.n_topics:
            raise ConfigError(f"{n_seeds} seed topics but n_topics={cfg.n_topics}: give at least as many topics as seed topics")
        if cfg.clusterer == "hdbscan":
            from sklearn.cluster import HDBSCAN, AgglomerativeClustering

            size = cfg.min_cluster_size or max(10, len(reduced) // 200)
            labels = HDBSCAN(min_cluster_size=min(size, len(reduced)), copy=True).fit_predict(reduced)
            k = int(labels.max()) + 1
            if k < 2:  # one cluster or none: fall back to k-means so there are topics to speak of
                logger.warning("HDBSCAN found %d cluster(s); using k-means instead", k)
                return self._kmeans(reduced, cfg.n_topics or max(n_seeds, self._choose_k(reduced)), guide)
            if cfg.n_topics and k > cfg.n_topics:  # merge the closest clusters (average linkage on their means)
                means = normalize(np.stack([reduced[labels == c].mean(axis=0) for c in range(k)]))
                merged = AgglomerativeClustering(n_clusters=cfg.n_topics, metric="cosine", linkage="average").fit_predict(means)
                labels = np.where(labels >= 0, merged[np.maximum(labels, 0)], -1)
                k = cfg.n_topics
            return labels, k
        return self._kmeans(reduced, cfg.n_topics or max(n_seeds, self._choose_k(reduced)), guide)

    def _kmeans(self, reduced: np.ndarray, k: int, guide: "_Guide | None" = None) -> tuple[np.ndarray, int]:
        """k-means (k-means++ starts, best of several); with seeds, one start whose first centres are the seeds'
        documents' means and the rest drawn as k-means++ draws them (:func:`spread_centres`)."""
        from sklearn.cluster import KMeans, MiniBatchKMeans

        k = min(k, len(reduced))
        init, n_init = "k-means++", (3 if self.config.minibatch else 10)
        if guide is not None:
            seeded = np.stack([reduced[guide.labels == j].mean(axis=0) for j in range(len(guide.names))]).astype(np.float64)
            init = spread_centres(reduced.astype(np.float64), seeded, k - len(seeded), seed=self.config.seed).astype(reduced.dtype)
            n_init = 1
        if self.config.minibatch:
            km = MiniBatchKMeans(n_clusters=k, init=init, random_state=self.config.seed, n_init=n_init, batch_size=4096)
        else:
            km = KMeans(n_clusters=k, init=init, random_state=self.config.seed, n_init=n_init)
        return km.fit_predict(reduced).astype(np.int64), k

    def _choose_k(self, reduced: np.ndarray) -> int:
        """The k of AUTO_TOPICS with the best silhouette, on a seeded sample of at most 10,000 documents."""
        from sklearn.cluster import KMeans
        from sklearn.metrics import silhouette_score

        rng = np.random.default_rng(self.config.seed)
        sample = reduced[np.sort(rng.choice(len(reduced), min(len(reduced), 10_000), replace=False))]
        scores = {}
        for k in (k for k in AUTO_TOPICS if k < len(sample)):
            labels = KMeans(n_clusters=k, random_state=self.config.seed, n_init=3).fit_predict(sample)
            scores[k] = silhouette_score(sample, labels, sample_size=min(len(sample), 5_000), random_state=self.config.seed)
        if not scores:
            return 2
        best = max(scores, key=lambda k: (scores[k], -k))
        logger.info("automatic number of topics: %d (silhouette %s)", best, {k: round(float(s), 3) for k, s in scores.items()})
        self.silhouettes_ = {int(k): float(s) for k, s in scores.items()}
        return best

    def _vectorizer(self):
        """A fresh, unfitted copy of the counting part: the caller's ``vectorizer_model`` or the config's."""
        if self.vectorizer_model is not None:
            from sklearn.base import clone

            return clone(self.vectorizer_model)
        cfg = self.config
        return CountVectorizer(preprocessor=topic_text, stop_words=cfg.stop_words, token_pattern=cfg.token_pattern,
                               ngram_range=(1, cfg.ngram_max), min_df=cfg.min_df, dtype=np.int64)

    def analyzer(self):
        """The function that turns a text into the tokens topic words are made of, in text order (for NPMI):
        single words even when phrases are counted too, so NPMI leaves a phrase out."""
        vectorizer = self._vectorizer()
        if vectorizer.get_params().get("ngram_range", (1, 1)) != (1, 1):
            vectorizer.set_params(ngram_range=(1, 1))
        return vectorizer.build_analyzer()

    def update_words(self, texts, **settings) -> "TopicClustering":
        """Count the topic words and labels again with some word settings changed (those of ``WORD_SETTINGS``);
        the topics and every document's assignment stay (BERTopic's ``update_topics``). ``texts``: the fit's.

        >>> model.update_words(texts, word_max_topics=None).words_[0]  # doctest: +SKIP
        """
        if not hasattr(self, "topics_"):
            raise RunError("update_words needs the fit's assignments: call it on a fitted model, not a loaded one")
        unknown = set(settings) - set(WORD_SETTINGS)
        if unknown:
            raise ConfigError(f"update_words changes only {', '.join(WORD_SETTINGS)}; got {', '.join(sorted(unknown))}")
        if len(texts) != len(self.topics_):
            raise DataError(f"got {len(texts)} texts for a model fitted on {len(self.topics_)}; pass the fit's texts")
        self.config = replace(self.config, **settings)
        self._fit_words(texts)
        return self

    def _fit_words(self, texts) -> None:
        """c-TF-IDF top words per topic from the final assignments (vocabulary on a sample in mini-batch mode)."""
        cfg, k = self.config, len(self.centroids_)
        sample = texts
        if cfg.minibatch and len(texts) > cfg.vocabulary_sample:
            rng = np.random.default_rng(cfg.seed)
            sample = [texts[i] for i in np.sort(rng.choice(len(texts), cfg.vocabulary_sample, replace=False))]
        try:
            vectorizer = self._vectorizer().fit(sample)
        except ValueError:  # no word occurs often enough (a tiny corpus): keep every word
            vectorizer = self._vectorizer().set_params(min_df=1).fit(sample)
        if hasattr(vectorizer, "stop_words_"):
            vectorizer.stop_words_ = None  # the words min_df dropped: unused, and large on a big corpus
        self.vocabulary_ = [str(w) for w in vectorizer.get_feature_names_out()]
        counts = np.zeros((k, len(self.vocabulary_)), dtype=np.int64)
        for start, stop in _chunks(len(texts), cfg.chunk_size):
            block = vectorizer.transform(texts[start:stop])
            counts += (_one_hot(self.topics_[start:stop], k) @ block).toarray().astype(np.int64)
        if self.ctfidf_model is not None:
            from sklearn.base import clone

            ctfidf = clone(self.ctfidf_model)
        else:
            ctfidf = ClassTfidfTransformer(reduce_frequent_words=cfg.reduce_frequent_words, bm25_weighting=cfg.bm25_weighting)
        scores = np.asarray(sp.csr_array(ctfidf.fit(counts).transform(counts)).toarray())
        repeated = [j for j, w in enumerate(self.vocabulary_) if " " in w and len(set(w.split())) == 1]
        scores[:, repeated] = 0.0  # a phrase of one word repeated ("ax ax", "dos dos") says nothing its word does not
        self.word_counts_, self.ctfidf_ = counts, ctfidf  # for the words of merged topics (the hierarchy)
        mmr_on = cfg.mmr_diversity > 0
        top = top_word_indices(scores, n=cfg.mmr_candidates if mmr_on else cfg.top_n_words, max_topics=cfg.word_max_topics)
        if mmr_on:
            top = self._diversify(top)
        self.words_ = [[self.vocabulary_[j] for j in order] for order in top]
        self.word_scores_ = [[float(scores[t, j]) for j in order] for t, order in enumerate(top)]
        self.labels_ = topic_labels(self.words_, n_words=cfg.label_words)

    def _diversify(self, candidates: list[list[int]]) -> list[list[int]]:
        """Each topic's ``top_n_words`` picked from its candidate words (best c-TF-IDF first) by :func:`mmr` over
        the encoder's embeddings of the words, the topic being the embedding of its candidates as one text."""
        cfg = self.config
        columns = sorted({j for order in candidates for j in order})
        if not columns:
            return candidates
        vectors = dict(zip(columns, self._embed_words([self.vocabulary_[j] for j in columns])))
        topics = self._embed_words([" ".join(self.vocabulary_[j] for j in order) or "-" for order in candidates])
        return [[order[i] for i in mmr(topics[t], np.stack([vectors[j] for j in order]), n=cfg.top_n_words,
                                       diversity=cfg.mmr_diversity)] if order else []
                for t, order in enumerate(candidates)]

    def _embed_words(self, texts: list[str]) -> np.ndarray:
        """Short texts (seed words, topic words) embedded as the documents were, L2-normalised float64."""
        if self.word_embedder is not None:
            vectors = self.word_embedder(list(texts))
        else:
            from .embeddings import embed_texts

            cfg = self.config
            vectors = embed_texts(list(texts), model=cfg.model, max_length=cfg.max_length, whole=cfg.whole, max_windows=cfg.max_windows,
                                  batch_size=cfg.batch_size, precision=cfg.precision)
        return normalize(np.asarray(vectors, dtype=np.float64))

    def _representatives(self, best: np.ndarray) -> list[list[int]]:
        """Per topic, the indices of its most central non-outlier documents (ties: input order)."""
        reps: list[list[int]] = [[] for _ in range(len(self.centroids_))]
        for i in np.argsort(-best, kind="stable"):
            t = self.topics_[i]
            if len(reps[t]) < self.config.n_representative and not self.outliers_[i]:
                reps[t].append(int(i))
        return reps

    # -- a self-describing folder: numpy and JSON, no pickle --
    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / CENTROIDS_FILE, self.centroids_)
        write_json(folder / VOCABULARY_FILE, self.vocabulary_)
        thresholds = [float(t) if np.isfinite(t) else None for t in self.thresholds_]  # None: no outliers in that topic
        meta = {"config": self.config.to_dict(), "thresholds": thresholds, "labels": self.labels_, "words": self.words_,
                "sizes": [int(s) for s in self.sizes_], "mass": [float(m) for m in self.mass_]}
        if self.seed_topic_list:
            meta["seed_topics"] = [[name, words] for name, words in _named_seeds(self.seed_topic_list)]
            meta["seeds"] = self.seeds_
        write_json(folder / TOPIC_MODEL_FILE, meta)

    @classmethod
    def load(cls, folder: str | Path) -> "TopicClustering":
        folder = Path(folder)
        if not (folder / TOPIC_MODEL_FILE).exists():
            raise RunError(f"{folder} holds no topic model ({TOPIC_MODEL_FILE} is missing)")
        meta = read_json(folder / TOPIC_MODEL_FILE)
        seeds = [(name, words) for name, words in meta["seed_topics"]] if meta.get("seed_topics") else None
        model = cls(TopicsConfig.from_dict(meta["config"]), seed_topic_list=seeds)
        model.centroids_ = np.load(folder / CENTROIDS_FILE, allow_pickle=False)
        model.thresholds_ = np.array([-np.inf if t is None else t for t in meta["thresholds"]], dtype=np.float64)  # None: no outliers
        model.labels_, model.words_, model.sizes_ = meta["labels"], meta["words"], np.array(meta["sizes"])
        # each topic's summed member embeddings have this length (what an update adds to); older runs: their sizes
        model.mass_ = np.array(meta.get("mass", meta["sizes"]), dtype=np.float64)
        model.seeds_ = meta.get("seeds", [[] for _ in meta["sizes"]])
        model.vocabulary_ = read_json(folder / VOCABULARY_FILE)
        return model


# --- topic words and labels ---------------------------------------------------------------------------------


def topic_text(text: str) -> str:
    """What topic words are counted in: the text without markup or HTML entities (:func:`topicfit.data.clean_markup`,
    for every corpus), lower-cased.

    >>> topic_text("AT&amp;T &quot;Quote&quot;<br>")
    'at&t "quote" '
    """
    return clean_markup(text).lower()


def mmr(target: np.ndarray, candidates: np.ndarray, *, n: int, diversity: float) -> list[int]:
    """Maximal marginal relevance (as BERTopic's ``MaximalMarginalRelevance``): the positions of ``n`` rows of
    ``candidates`` (unit vectors, best first), the first the most similar to ``target``, each next maximising
    ``(1 - diversity) * cos(row, target) - diversity * max cos(row, picked)``; ties go to the earlier row.

    >>> rows = np.array([[1.0, 0.0], [0.995, 0.0998], [0.0, 1.0]])  # cos to [.8, .6]: .80, .856, .60
    >>> mmr(np.array([0.8, 0.6]), rows, n=3, diversity=0.0), mmr(np.array([0.8, 0.6]), rows, n=3, diversity=0.5)
    ([1, 0, 2], [1, 2, 0])
    """
    relevance, likeness = candidates @ target, candidates @ candidates.T
    picked = [int(np.argmax(relevance))]
    while len(picked) < min(n, len(candidates)):
        rest = [i for i in range(len(candidates)) if i not in picked]
        gain = (1 - diversity) * relevance[rest] - diversity * likeness[np.ix_(rest, picked)].max(axis=1)
        picked.append(rest[int(np.argmax(gain))])
    return picked


def top_word_indices(scores: np.ndarray, *, n: int, max_topics: int | None = None) -> list[list[int]]:
    """Per topic (a row of ``scores``, k x vocabulary), the columns of its ``n`` best words of positive score,
    best first (ties: the lower column, i.e. alphabetical). With ``max_topics``, a word is listed by at most
    that many topics, those in which it scores highest (ties: the lower topic id); the others list their next
    words instead, so no word, however frequent, leads every topic.

    >>> scores = np.array([[3., 2., 1., 2.], [1., 3., 2., 0.], [4., 1., 0., 0.5]])
    >>> top_word_indices(scores, n=2)  # word 1 in every topic
    [[0, 1], [1, 2], [0, 1]]
    >>> top_word_indices(scores, n=2, max_topics=1)  # each word where it scores highest: 0 in 2, 1 and 2 in 1, 3 in 0
    [[3], [1, 2], [0]]
    """
    k = len(scores)
    allowed = scores > 0
    order = np.argsort(-scores, axis=1, kind="stable")
    while True:  # bans only grow, so this ends; each round lists the best allowed words again
        top = [order[t][allowed[t, order[t]]][:n].tolist() for t in range(k)]
        listed: dict[int, list[int]] = {}
        for t, words in enumerate(top):
            for j in words:
                listed.setdefault(j, []).append(t)
        over = {j: ts for j, ts in listed.items() if max_topics is not None and len(ts) > max_topics}
        if not over:
            return top
        for j, ts in over.items():
            keep = sorted(ts, key=lambda t: (-scores[t, j], t))[:max_topics]
            allowed[[t for t in ts if t not in keep], j] = False


def _same_stem(a: str, b: str) -> bool:
    """``window``/``windows``, ``believe``/``belief``, ``space``/``space station``: one begins with the other
    (or they share all but two letters of the shorter) and the longer has at most three letters more."""
    for x in a.split():
        for y in b.split():
            short, long_ = sorted((x, y), key=len)
            common = len(os.path.commonprefix([x, y]))
            if x == y or (common >= max(3, len(short) - 2) and len(long_) - common <= 3):
                return True
    return False


def topic_labels(words: list[list[str]], *, n_words: int = 3) -> list[str]:
    """A short readable name per topic: its best ``n_words`` words, each skipping a word that shares a stem with
    one already taken, joined by " · ". Names are distinct (topics of one name merge in a classifier): topics
    that would share one take further words, and then their id; a topic without words is ``"topic <id>"``.

    >>> topic_labels([["space", "launch", "spacecraft", "orbit"], ["windows", "window", "dos"], ["windows", "dos", "ms"]])
    ['space · launch · spacecraft', 'windows · dos', 'windows · dos · ms']
    """
    from collections import Counter

    distinct = []
    for ws in words:
        kept: list[str] = []
        for w in ws:
            if not any(_same_stem(w, v) for v in kept):
                kept.append(w)
        distinct.append(kept)
    size = [min(n_words, len(d)) for d in distinct]
    while True:
        labels = [" · ".join(d[:s]) or f"topic {t}" for t, (d, s) in enumerate(zip(distinct, size))]
        counts = Counter(labels)
        longer = [t for t, label in enumerate(labels) if counts[label] > 1 and size[t] < len(distinct[t])]
        if not longer:
            return [f"{label} ({t})" if counts[label] > 1 else label for t, label in enumerate(labels)]
        for t in longer:
            size[t] += 1


# --- metrics ------------------------------------------------------------------------------------------------


def npmi(topics: list[list[str]], texts: list[list[str]], *, topn: int = 10) -> float | None:
    """Mean NPMI coherence of ``topics`` (lists of words) over tokenised ``texts`` (gensim's ``c_npmi``: sliding
    windows of 10 tokens, every pair of a topic's top ``topn`` words). Words absent from ``texts`` are left out;
    ``None`` when no topic keeps two words."""
    _require("gensim", "NPMI coherence")
    from gensim.corpora import Dictionary
    from gensim.models.coherencemodel import CoherenceModel

    dictionary = Dictionary(texts)
    kept = [[w for w in words[:topn] if w in dictionary.token2id] for words in topics]
    kept = [words for words in kept if len(words) >= 2]
    if not kept:
        return None
    model = CoherenceModel(topics=kept, texts=texts, dictionary=dictionary, coherence="c_npmi", topn=topn, processes=1)
    return float(model.get_coherence())


def topic_diversity(topics: list[list[str]], *, topn: int = 10) -> float:
    """Unique words among all topics' top ``topn`` / (``topn`` × number of topics)."""
    if not topics:
        return 0.0
    return len({w for words in topics for w in words[:topn]}) / (topn * len(topics))


def label_metrics(*, references, topics) -> dict:
    """Agreement of topics with reference labels: NMI, ARI, V-measure, and the accuracy of mapping each topic
    to its most frequent label (``majority_accuracy``)."""
    from collections import Counter

    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, v_measure_score

    references, topics = list(references), [int(t) for t in topics]
    by_topic: dict[int, Counter] = {}
    for t, y in zip(topics, references):
        by_topic.setdefault(t, Counter())[y] += 1
    majority = sum(c.most_common(1)[0][1] for c in by_topic.values())
    return {"nmi": float(normalized_mutual_info_score(references, topics)), "ari": float(adjusted_rand_score(references, topics)),
            "v_measure": float(v_measure_score(references, topics)), "majority_accuracy": majority / max(1, len(topics))}


def peak_memory_mb() -> float:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def topic_metrics(model: TopicClustering, texts, references=None) -> dict:
    """NPMI (on a seeded sample of at most ``metrics_sample`` texts), diversity, outlier share, and label metrics."""
    cfg = model.config
    sample = range(len(texts))
    if len(texts) > cfg.metrics_sample:
        sample = np.sort(np.random.default_rng(cfg.seed).choice(len(texts), cfg.metrics_sample, replace=False))
    analyzer = model.analyzer()
    tokenised = [analyzer(texts[i]) for i in sample]
    out = {"npmi": npmi(model.words_, tokenised, topn=cfg.top_n_words), "diversity": topic_diversity(model.words_, topn=cfg.top_n_words),
           "outlier_share": float(model.outliers_.mean()), "n_topics": len(model.centroids_), "n_documents": len(texts)}
    if references is not None:
        out.update(label_metrics(references=references, topics=model.topics_))
    return out


# --- a run folder -------------------------------------------------------------------------------------------


def _write_lines(path: Path, lines) -> None:
    """Write lines atomically, streaming (a million documents' lines never sit in memory as one string)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")
    os.replace(tmp, path)


def _write_documents(path: Path, docs: Documents) -> None:
    """ids, texts (and dates, when the documents have them), gzip'd with a fixed time stamp so two runs write the
    same bytes."""
    tmp = path.with_name(f".{path.name}.tmp")
    dates = docs.dates if docs.dates is not None else [None] * len(docs)
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
        for doc_id, text, date in zip(docs.ids, docs.texts, dates):
            row = {"id": doc_id, "text": text, **({"date": date} if docs.dates is not None else {})}
            f.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8", "surrogatepass"))
    os.replace(tmp, path)


def read_run_documents(run_dir: str | Path) -> Documents:
    """The documents a topics run kept (``documents.jsonl.gz``: ids, texts, dates if any; no labels)."""
    path = Path(run_dir) / DOCUMENTS_FILE
    if not path.exists():
        raise RunError(f"{run_dir} kept no texts ({DOCUMENTS_FILE}; save_texts was off): pass docs=")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    dates = [r.get("date") for r in rows] if rows and "date" in rows[0] else None
    return Documents([r["id"] for r in rows], [r["text"] for r in rows], [""] * len(rows), dates)


def _write_embeddings(path: Path, *arrays) -> None:
    """``arrays`` (one after the other) as one float32 .npy, chunk by chunk through a plain file (a memmap never
    sits in memory whole, and no written page stays resident), atomically."""
    if len(arrays) == 1 and isinstance(arrays[0], np.memmap) and Path(arrays[0].filename).resolve() == path.resolve():
        return  # already there
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        shape = (sum(len(a) for a in arrays), arrays[0].shape[1])
        np.lib.format.write_array_header_1_0(f, {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False,
                                                 "shape": shape})
        for array in arrays:
            for start, stop in _chunks(len(array), 65536):
                f.write(np.ascontiguousarray(array[start:stop], dtype="<f4").tobytes())
    os.replace(tmp, path)


def write_topics_outputs(run_dir: Path, model: TopicClustering, embeddings, docs: Documents, *, references=None,
                         updates: list | None = None) -> dict:
    """Everything a topics run holds but ``run.json``, from a fitted ``model`` of ``docs``: assignments, topics,
    the hierarchy, the topics over time (when ``docs`` have dates), metrics, the report, the model, and (as the
    settings say) the texts and embeddings. Returns the metrics (not yet written: the caller adds its timings)."""
    from .topics_structure import topic_hierarchy, topics_over_time
    from .topics_report import render_topics_report

    config = model.config
    # assignments: the topic, and the top_k_topics best with their probabilities, the first being the topic
    ranked, ranked_p = model.top_topics(embeddings)
    _write_lines(run_dir / ASSIGNMENTS_FILE, (
        json.dumps({"id": doc_id, "topic": int(t), "probability": round(float(p), 6), "outlier": bool(o),
                    "topics": [[int(j), round(float(q), 6)] for j, q in zip(js, qs)]}, ensure_ascii=False)
        for doc_id, t, p, o, js, qs in zip(docs.ids, model.topics_, model.probabilities_, model.outliers_, ranked, ranked_p)))
    topics = [{"id": t, "size": int(model.sizes_[t]), "words": model.words_[t], "label": model.labels_[t],
               "representative_ids": [docs.ids[i] for i in model.representatives_[t]],
               **({"seeds": model.seeds_[t]} if model.seed_topic_list else {})} for t in range(len(model.centroids_))]
    write_json(run_dir / TOPICS_FILE, topics)
    hierarchy = topic_hierarchy(model)
    write_json(run_dir / HIERARCHY_FILE, hierarchy)
    over_time = topics_over_time(model.topics_, docs.dates, len(topics), periods=config.time_periods)
    if over_time is not None:
        write_json(run_dir / OVER_TIME_FILE, over_time)
    elif (run_dir / OVER_TIME_FILE).exists():
        (run_dir / OVER_TIME_FILE).unlink()
    metrics = topic_metrics(model, docs.texts, references)
    write_text(run_dir / TOPICS_REPORT_FILE, render_topics_report(model, embeddings, docs, topics, metrics, references=references,
                                                                  hierarchy=hierarchy, over_time=over_time, updates=updates))
    model.save(run_dir / MODEL_DIR)
    if config.save_texts:
        _write_documents(run_dir / DOCUMENTS_FILE, docs)
    if config.save_embeddings:
        _write_embeddings(run_dir / EMBEDDINGS_FILE, embeddings)
    return metrics


def fit_topics_run(docs: Documents, output: str | Path, config: TopicsConfig | None = None, *, labels: bool = True,
                   overwrite: bool = False, embeddings=None, word_embedder=None) -> tuple[Path, dict]:
    """Discover topics in ``docs`` and write a run folder; returns ``(run_dir, metrics)``.

    Args:
        docs (Documents): ids and texts (labels too when ``labels``; dates, if any, give topics_over_time.json).
        output (str | Path): the run folder (refused if it holds a run, unless ``overwrite``).
        config (TopicsConfig | None): settings; the defaults when ``None``.
        labels (bool, default True): ``docs.labels`` are reference labels: add NMI, ARI, V-measure, majority
            accuracy and a topics x labels heat map (ignored when every label is empty).
        embeddings (array | np.memmap | None): precomputed embeddings, one row per document; ``None`` embeds
            ``docs.texts`` with ``config.model``.
        word_embedder (callable | None): embeds seed words and (``mmr_diversity``) topic words; ``None``: the
            encoder ``config.model`` (see :class:`TopicClustering`).
    """
    from .embeddings import embed_texts

    config, started = config or TopicsConfig(), time.perf_counter()
    if not len(docs):
        raise DataError("no documents to find topics in")
    seeds = read_seed_topics(config.seed_topics) if config.seed_topics else None  # a bad file fails before any work
    run_dir = start_run(output, overwrite=overwrite)
    stats: dict = {}
    # 1. embed (or take the caller's)
    given = embeddings is not None
    if embeddings is None:
        embeddings = embed_texts(docs.texts, model=config.model, max_length=config.max_length, whole=config.whole,
                                 max_windows=config.max_windows, batch_size=config.batch_size, precision=config.precision, stats=stats)
    elif len(embeddings) != len(docs):
        raise DataError(f"got {len(embeddings)} embeddings for {len(docs)} documents; expected one row per document")
    # 2. fit
    fit_start = time.perf_counter()
    model = TopicClustering(config, word_embedder=word_embedder, seed_topic_list=seeds).fit(embeddings, docs.texts)
    fit_seconds = time.perf_counter() - fit_start
    # 3. assignments, topics, hierarchy, over time, metrics, report, model, texts, embeddings
    references = docs.labels if labels and any(docs.labels) else None
    metrics = write_topics_outputs(run_dir, model, embeddings, docs, references=references)
    metrics.update({"seconds": round(time.perf_counter() - started, 1), "fit_seconds": round(fit_seconds, 1),
                    "peak_memory_mb": peak_memory_mb(), **stats})
    # 4. metrics, then run.json last, by the workflow's one writer (the report was written with the outputs)
    run = {"name": run_dir.name, "kind": "topics", "method": f"topics-{Path(config.model).name}", "classes": model.labels_,
           "labels": "reference" if references is not None else "none", "model_config": config.to_dict(),
           "embeddings": "given by the caller" if given else f"embed_texts with {config.model}",
           "data": {"n_documents": len(docs), "n_blank": docs.n_blank()}, "timings": {k: metrics[k] for k in ("seconds", "fit_seconds")},
           **({"silhouettes": model.silhouettes_} if hasattr(model, "silhouettes_") else {}), **environment()}
    from .workflow import write_run

    write_run(run_dir, run, metrics)
    logger.info("topics run written to %s: %d topics, NPMI %s, diversity %.3f", run_dir, metrics["n_topics"], metrics["npmi"],
                metrics["diversity"])
    return run_dir, metrics


# --- naming and merging topics ------------------------------------------------------------------------------


def read_names(names_file: str | Path, n_topics: int) -> dict[int, str]:
    """``{topic id: name}`` from a YAML or JSON mapping; ids outside ``0..n_topics-1`` or empty names are errors."""
    import yaml

    path = Path(names_file)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{path}: cannot read a topic-name mapping ({exc}); expected YAML or JSON like {{0: space, 3: religion}}") from exc
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a mapping of topic id to name, e.g. {{0: space, 3: religion}}; got {type(raw).__name__}")
    names = {}
    for key, name in raw.items():
        try:
            topic = int(key)
        except (TypeError, ValueError):
            raise DataError(f"{path}: {key!r} is not a topic id; expected ids 0..{n_topics - 1}") from None
        if not 0 <= topic < n_topics:
            raise DataError(f"{path}: no topic {topic}; this run has topics 0..{n_topics - 1}")
        if name is None or not str(name).strip():
            raise DataError(f"{path}: topic {topic} has an empty name")
        names[topic] = str(name).strip()
    return names


def unique_names(labels: list[str]) -> list[str]:
    """The distinct names in order of first topic id: the classes of a renamed (merged) model."""
    return list(dict.fromkeys(labels))


def rename_topics(run_dir: str | Path, names_file: str | Path, *, docs: Documents | None = None) -> Path:
    """Name topics (several ids with one name merge them) and write ``labelled.jsonl``, a dataset with ``id``,
    ``text`` and ``label`` per document that ``topicfit train --dataset`` accepts. Updates the labels in
    ``topics.json``, ``model/`` and ``run.json`` (``classes``: the distinct names); returns the dataset's path.

    Args:
        docs (Documents | None): the run's documents; ``None`` reads the run's own copy (``documents.jsonl.gz``).
    """
    run_dir = Path(run_dir)
    if not (run_dir / RUN_FILE).exists():
        raise RunError(f"{run_dir} is not a finished topics run (no {RUN_FILE})")
    run = read_json(run_dir / RUN_FILE)
    if run.get("kind") != "topics":
        raise RunError(f"{run_dir} is a {run.get('kind')!r} run; rename works on topics runs (topicfit topics)")
    topics = read_json(run_dir / TOPICS_FILE)
    names = read_names(names_file, len(topics))
    labels = [names.get(t["id"], t["label"]) for t in topics]
    for topic, label in zip(topics, labels):
        topic["label"] = label
    model_meta = read_json(run_dir / MODEL_DIR / TOPIC_MODEL_FILE)
    model_meta["labels"] = labels
    if docs is None:
        docs = read_run_documents(run_dir)
    with open(run_dir / ASSIGNMENTS_FILE, encoding="utf-8") as f:
        assigned = [json.loads(line) for line in f if line.strip()]
    if [a["id"] for a in assigned] != list(docs.ids):
        raise DataError(f"the documents given do not match {run_dir / ASSIGNMENTS_FILE} (ids or their order differ)")
    _write_lines(run_dir / LABELLED_FILE, (json.dumps({"id": a["id"], "text": text, "label": labels[a["topic"]]}, ensure_ascii=False)
                                           for a, text in zip(assigned, docs.texts)))
    write_json(run_dir / TOPICS_FILE, topics)
    write_json(run_dir / MODEL_DIR / TOPIC_MODEL_FILE, model_meta)
    write_json(run_dir / RUN_FILE, {**run, "classes": unique_names(labels), "topic_names": {str(t["id"]): t["label"] for t in topics}})
    logger.info("named %d topics as %d classes; wrote %s", len(topics), len(unique_names(labels)), run_dir / LABELLED_FILE)
    return run_dir / LABELLED_FILE


__all__ = ["ClassTfidfTransformer", "TopicClustering", "TopicsConfig", "fit_topics_run", "label_metrics", "mmr", "npmi", "read_run_documents",
           "read_seed_topics", "rename_topics", "spread_centres", "top_word_indices", "topic_diversity", "topic_labels", "topic_text",
           "write_topics_outputs"]
