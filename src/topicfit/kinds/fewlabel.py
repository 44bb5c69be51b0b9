"""Few labels: SetFit's method. A sentence encoder (MiniLM by default) is first fine-tuned contrastively on
pairs of labelled posts (same class: cosine similarity pulled to 1, different classes: pushed to 0, the
mean-squared error of SetFit's ``CosineSimilarityLoss``), then a logistic-regression head is fitted on the tuned
encoder's mean-pooled embeddings. Eight posts a class give hundreds of pairs, which is why this beats a frozen
encoder's head when labels are few.

Why not SetFit's own library: ``setfit`` 1.2 imports with our transformers 5.x, but its trainer needs
``datasets`` (and pyarrow, ``evaluate``, requests), and ``datasets.Dataset.from_dict`` fails here (pickling
pyarrow's ``MonthDayNano`` type while fingerprinting, datasets 5.2 with pyarrow 24 and 26 on Python 3.11). The
loop below is what SetFit runs (pairs drawn as its ``num_iterations`` draws them, cosine-similarity loss,
AdamW with linear warm-up and decay), written on :mod:`topicfit.encoders`, without those dependencies.

Options beyond SetFit: unlabelled posts (``fit(..., X_unlabelled=...)``) are labelled by co-training
(:func:`co_training`, the default ``unlabelled_method``): the tuned encoder's head labels the pool, a TF-IDF head
and a refitted embedding head learn those labels, their average relabels the pool, and the final model averages
the two heads (words past the encoder's 128 tokens count). ``benchmarks/fewlabel_unlabelled.py`` chose it on a
development sample over self-training and label spreading, and chose class-balanced refits (``pool_class_weight``)
on the development samples of three corpora: unweighted, the refits learn the pool's class shares, and on uneven
classes the large ones crowd out the small. The head's macro-F1 is cross-validated on the labelled posts
(:func:`cross_validate_head`, ``validation_macro_f1_``), so a few-label run can be compared when the
validation split is tiny; probabilities are calibrated by one temperature fitted on validation, if any.

>>> clf = FewLabelClassifier(FewLabelConfig()).fit(texts, labels, X_val=val_texts, y_val=val_labels)  # doctest: +SKIP
>>> clf.validation_macro_f1_, clf.predict(["the shuttle launch slipped a week"])                  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..encoders import PRECISIONS, base_model_id
from ..errors import ConfigError, ModelError
from ..metrics import compute_metrics
from ..runs import BASELINE_FILE, read_json, write_json
from ..settings import Settings
from . import Classifier, load_skops, save_skops

logger = logging.getLogger(__name__)

BODY_DIR = "body"  # the tuned encoder and its tokenizer (save_pretrained), inside the model folder
FEWLABEL_FILE = "fewlabel.json"  # classes, temperature and settings, beside the head's pipeline.skops
WARMUP_SHARE = 0.1  # SetFit's warmup_proportion
UNLABELLED_METHODS = ("cotraining", "spreading", "rounds", "once", "none")
WORDS_FILE = "words.skops"  # co-training's TF-IDF head, beside the embedding head's pipeline.skops
MAX_FOLDS = 5  # cross-validation of the head: min(MAX_FOLDS, the smallest class's posts) folds


@dataclass(frozen=True)
class FewLabelConfig(Settings):
    """Settings of the few-label kind (SetFit's method)."""

    model: str = field(default="minilm", metadata={"help": "the sentence encoder tuned on pairs: minilm | mpnet | a Hub id | a local folder"})
    pair_iterations: int = field(default=20, metadata={
        "help": "SetFit's num_iterations: each labelled post gets this many positive and this many negative pairs"})
    epochs: int = field(default=1, metadata={"help": "passes over the pairs"})
    max_steps: int | None = field(default=None, metadata={
        "help": "stop the contrastive training after this many steps (a time budget: steps grow with the labelled posts); none: all"})
    batch_size: int = field(default=16, metadata={"help": "pairs per training step (and texts per batch when embedding)"})
    learning_rate: float = field(default=2e-5, metadata={"help": "AdamW's peak learning rate (linear warm-up over 10%, then decay)"})
    max_length: int = field(default=128, metadata={"help": "tokens per post (head+tail cut), in training and when embedding"})
    whole: bool = field(default=False, metadata={
        "help": "embed whole posts in overlapping windows when predicting (the encoder is tuned on cut posts)"})
    max_windows: int = field(default=16, metadata={"help": "with --whole: at most this many windows per post"})
    C: float = field(default=1.0, metadata={"help": "the logistic-regression head's inverse regularisation"})
    class_weight: str | None = field(default="balanced", metadata={
        "help": "the head's class weights: balanced (inverse class frequency) or none", "choices": ("balanced",)})
    pool_class_weight: str | None = field(default="balanced", metadata={
        "help": "the class weights of the heads refitted on labelled + pseudo-labelled posts (both readers): balanced (inverse "
                "class frequency of the labels and pseudo-labels), so a large class of the pool does not crowd out the small "
                "ones, or none, so the pool's class shares are learnt", "choices": ("balanced",)})
    unlabelled_method: str = field(default="cotraining", metadata={
        "help": "how the head learns from unlabelled posts: cotraining (the tuned encoder's head and a TF-IDF head label the "
                "pool for each other), spreading (label spreading over a nearest-neighbour graph), rounds (self-training), "
                "once (confident pseudo-labels, one refit) or none (benchmarks/fewlabel_unlabelled.py compares them)",
        "choices": UNLABELLED_METHODS})
    unlabelled_rounds: int = field(default=2, metadata={"help": "co-training's (or self-training's) rounds over the unlabelled posts"})
    words_weight: float = field(default=0.5, metadata={
        "help": "the TF-IDF head's share of the averaged probabilities (the tuned encoder's: the rest); the other methods also "
                "train a TF-IDF head on their pseudo-labels unless this is 0"})
    max_unlabelled: int = field(default=20000, metadata={
        "help": "use at most this many unlabelled posts (a seeded sample): each is embedded once by the tuned encoder"})
    labelled_weight: float = field(default=1.0, metadata={
        "help": "in the refits on labelled + pseudo-labelled posts (the methods that learn from unlabelled posts), each labelled "
                "post counts as this many pseudo-labelled ones"})
    pseudo_threshold: float = field(default=0.9, metadata={
        "help": "--unlabelled-method once: an unlabelled post is pseudo-labelled when its (calibrated) probability is at least this"})
    pseudo_per_class: int = field(default=50, metadata={
        "help": "--unlabelled-method once: at most this many pseudo-labels per class, the most confident first"})
    precision: str = field(default="auto", metadata={"help": "encoder precision (auto: bf16 where the CPU or GPU supports it)",
                                                     "choices": PRECISIONS})
    seed: int = field(default=42, metadata={"help": "random seed (pairs, dropout, folds)"})

    def __post_init__(self) -> None:
        if not 8 <= self.max_length <= 8192:
            raise ConfigError(f"max_length must be between 8 and 8192, got {self.max_length}")
        if self.max_steps is not None and self.max_steps < 0:
            raise ConfigError(f"max_steps must be 0 or more (or None), got {self.max_steps}")
        if self.pair_iterations < 0 or self.epochs < 0:
            raise ConfigError(f"pair_iterations and epochs must be 0 or more, got {self.pair_iterations} and {self.epochs}")
        if self.batch_size < 1 or self.learning_rate <= 0 or self.C <= 0:
            raise ConfigError(f"batch_size, learning_rate and C must be positive, got {self.batch_size}, {self.learning_rate}, {self.C}")
        for name in ("class_weight", "pool_class_weight"):
            if getattr(self, name) not in (None, "balanced"):
                raise ConfigError(f"{name} must be 'balanced' or None, got {getattr(self, name)!r}")
        if self.unlabelled_method not in UNLABELLED_METHODS:
            raise ConfigError(f"unlabelled_method must be one of {UNLABELLED_METHODS}, got {self.unlabelled_method!r}")
        if self.unlabelled_rounds < 1 or not 0 <= self.words_weight <= 1 or self.max_unlabelled < 0:
            raise ConfigError(f"unlabelled_rounds must be 1 or more, words_weight in [0, 1] and max_unlabelled 0 or more; got "
                              f"{self.unlabelled_rounds}, {self.words_weight} and {self.max_unlabelled}")
        if self.labelled_weight <= 0:
            raise ConfigError(f"labelled_weight must be positive, got {self.labelled_weight}")
        if not 0 <= self.pseudo_threshold <= 1 or self.pseudo_per_class < 0:
            raise ConfigError(f"pseudo_threshold must be in [0, 1] and pseudo_per_class 0 or more, got {self.pseudo_threshold} "
                              f"and {self.pseudo_per_class}")


# --- pairs and the contrastive loop ---------------------------------------------------------------------


def contrastive_pairs(labels, iterations: int, seed: int = 42) -> np.ndarray:
    """SetFit's pairs (its ``num_iterations``): per iteration, each post once with a random other post of its class
    (target 1) and once with a random post of another class (target 0). Returns (pairs, 3) float rows
    ``(i, j, target)``; a class of one post pairs it with itself; no negatives when there is one class."""
    y = np.asarray([str(v) for v in labels])
    rng = np.random.default_rng(seed)
    members = {c: np.flatnonzero(y == c) for c in np.unique(y)}
    others = {c: np.flatnonzero(y != c) for c in members}
    rows = []
    for _ in range(iterations):
        for i, c in enumerate(y):
            same = members[c][members[c] != i] if len(members[c]) > 1 else members[c]
            rows.append((i, rng.choice(same), 1.0))
            if len(others[c]):
                rows.append((i, rng.choice(others[c]), 0.0))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 3)


def _pad(ids: list[list[int]], rows, pad_id: int):
    import torch

    width = max(len(ids[i]) for i in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, i in enumerate(rows):
        input_ids[r, : len(ids[i])] = torch.tensor(ids[i])
        mask[r, : len(ids[i])] = 1
    return input_ids, mask


def tune_body(tokenizer, encoder, texts, labels, config: FewLabelConfig) -> dict:
    """Fine-tune ``encoder`` in place on :func:`contrastive_pairs` of the labelled ``texts``: each batch's distinct
    posts are encoded once (mean pooling, L2-normalised), the loss is the mean-squared error between each pair's
    cosine similarity and its target. Returns what it did (pairs, steps, first and last loss, seconds)."""
    import torch

    from ..encoders import autocast, choose_precision, encode
    from ..frozen import _pooled

    start = time.perf_counter()
    pairs = contrastive_pairs(labels, config.pair_iterations, config.seed)
    steps = config.epochs * math.ceil(len(pairs) / config.batch_size)
    steps = steps if config.max_steps is None else min(steps, config.max_steps)
    info = {"pairs": len(pairs), "steps": steps, "epochs": config.epochs}
    if not steps:
        return {**info, "seconds": 0.0}
    torch.manual_seed(config.seed)  # dropout
    ids = encode(tokenizer, list(texts), max_length=config.max_length)
    device = next(encoder.parameters()).device
    precision = choose_precision(config.precision)
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=config.learning_rate, weight_decay=0.01)
    warmup = max(1, int(WARMUP_SHARE * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))
    rng = np.random.default_rng(config.seed)
    losses = []
    encoder.train()

    def batches():  # the pairs in a new order each epoch, batch_size at a time
        for _ in range(config.epochs):
            order = rng.permutation(len(pairs))
            for b in range(0, len(order), config.batch_size):
                yield pairs[order[b : b + config.batch_size]]

    for _, batch in zip(range(steps), batches()):  # at most max_steps
        left, right = batch[:, 0].astype(int), batch[:, 1].astype(int)
        rows, where = np.unique(np.concatenate([left, right]), return_inverse=True)  # each distinct post once
        input_ids, mask = _pad(ids, rows, tokenizer.pad_token_id or 0)
        input_ids, mask = input_ids.to(device), mask.to(device)
        with autocast(device.type, precision):
            hidden = encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
        emb = torch.nn.functional.normalize(_pooled(hidden.float(), mask.float()), dim=-1)  # (distinct posts, hidden)
        cosine = (emb[where[: len(left)]] * emb[where[len(left) :]]).sum(-1)  # (pairs,)
        loss = torch.nn.functional.mse_loss(cosine, torch.as_tensor(batch[:, 2], dtype=torch.float32, device=device))
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
    encoder.eval()
    info.update(loss_first=round(losses[0], 4), loss_last=round(float(np.mean(losses[-max(1, len(losses) // 10) :])), 4),
                seconds=round(time.perf_counter() - start, 1))
    logger.info("fewlabel: tuned %s on %d pairs in %d steps (loss %.4f -> %.4f) in %.0fs", config.model, len(pairs), steps,
                info["loss_first"], info["loss_last"], info["seconds"])
    return info


# --- the head, and its cross-validation on the labelled posts ---------------------------------------------


def make_head(config: FewLabelConfig):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=config.C, class_weight=config.class_weight, max_iter=3000, random_state=config.seed)


def pseudo_label_head(config: FewLabelConfig):
    """The head refitted on labelled posts + pseudo-labels, its classes weighted by ``config.pool_class_weight``
    (balanced by default; none: the pool's class shares are learnt)."""
    return make_head(replace(config, class_weight=config.pool_class_weight))


def fit_with_pseudo_labels(head, X, y: list[str], labelled: int, config: FewLabelConfig, weight_param: str = "sample_weight"):
    """``head.fit(X, y)`` where the first ``labelled`` rows are labelled posts and the rest pseudo-labelled: each labelled
    post weighs ``config.labelled_weight`` (``weight_param``: the fit argument, e.g. a pipeline step's)."""
    if config.labelled_weight == 1.0:
        return head.fit(X, y)
    weights = np.ones(len(y))
    weights[:labelled] = config.labelled_weight
    return head.fit(X, y, **{weight_param: weights})


def cross_validate_head(embeddings: np.ndarray, labels, make, *, max_folds: int = MAX_FOLDS, seed: int = 42) -> dict | None:
    """Macro-F1 and accuracy of the head's out-of-fold predictions by stratified k-fold over these labelled posts,
    ``k = min(max_folds, the smallest class's posts)``; ``None`` when a class has a single post (no k >= 2).

    ``make()`` returns an unfitted head. The embeddings come from an encoder tuned on every one of these posts,
    so the score is optimistic against held-out data (the folds' heads are honest, the encoder is not: on 20
    Newsgroups, 7 classes, 8 posts a class, it said 0.98 and 0.89 where the test split gave 0.58 and 0.55,
    benchmarks/results/few-labels.json); it ranks heads and settings of one tuned encoder, not kinds.
    :func:`cross_validate` is the honest score, at the cost of a fit per fold.
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray([str(v) for v in labels])
    classes, counts = np.unique(y, return_counts=True)
    folds = int(min(max_folds, counts.min())) if len(classes) > 1 else 0
    if folds < 2:
        return None
    predicted = np.empty(len(y), dtype=object)
    for train, held in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(embeddings, y):
        predicted[held] = make().fit(embeddings[train], y[train]).predict(embeddings[held])
    m = compute_metrics(references=list(y), predictions=list(predicted), classes=list(classes))
    return {"folds": folds, "n": len(y), "macro_f1": round(m["macro_f1"], 4), "accuracy": round(m["accuracy"], 4)}


def cross_validate(X, y, config: FewLabelConfig, *, max_folds: int = MAX_FOLDS) -> dict | None:
    """The honest counterpart of :func:`cross_validate_head`: per stratified fold, a fresh encoder is tuned on the
    other folds' posts only, then the head, and the held-out posts are predicted. It costs about ``k - 1`` fits,
    so it is what to compare with other kinds' cross-validated scores where that is affordable (a GPU)."""
    from sklearn.model_selection import StratifiedKFold

    X, y = list(X), np.asarray([str(v) for v in y])
    classes, counts = np.unique(y, return_counts=True)
    folds = int(min(max_folds, counts.min())) if len(classes) > 1 else 0
    if folds < 2:
        return None
    predicted = np.empty(len(y), dtype=object)
    for train, held in StratifiedKFold(n_splits=folds, shuffle=True, random_state=config.seed).split(np.zeros(len(y)), y):
        model = FewLabelClassifier(config).fit([X[i] for i in train], y[train].tolist())
        predicted[held] = model.predict([X[i] for i in held])
    m = compute_metrics(references=list(y), predictions=list(predicted), classes=list(classes))
    return {"folds": folds, "n": len(y), "macro_f1": round(m["macro_f1"], 4), "accuracy": round(m["accuracy"], 4)}


def pseudo_labels(probabilities: np.ndarray, classes, *, threshold: float, per_class: int) -> tuple[np.ndarray, list[str]]:
    """Self-training's picks: rows whose highest probability is at least ``threshold``, at most ``per_class`` per
    predicted class, the most confident first (ties: input order). Returns ``(row indices, their labels)``."""
    if not len(probabilities):
        return np.zeros(0, dtype=int), []
    best, top = probabilities.argmax(axis=1), probabilities.max(axis=1)
    chosen = []
    for k in range(probabilities.shape[1]):
        rows = np.flatnonzero((best == k) & (top >= threshold))
        chosen.extend(rows[np.argsort(-top[rows], kind="stable")][:per_class].tolist())
    chosen = np.asarray(sorted(chosen), dtype=int)
    return chosen, [str(classes[k]) for k in best[chosen]]


class SemiSupervisedHead:
    """The few-label head once the unlabelled pool has been used: logistic regression on the tuned embeddings of
    the labelled posts and the pool's pseudo-labels, optionally averaged with a TF-IDF logistic regression trained
    on the same pseudo-labels (``words``: it reads every word, where the encoder read 128 tokens)."""

    def __init__(self, embedding_head, words=None, words_weight: float = 0.5, info: dict | None = None):
        self.embedding_head, self.words, self.words_weight, self.info = embedding_head, words, words_weight, info or {}
        self.classes_ = np.asarray([str(c) for c in embedding_head.classes_])

    def views(self, embeddings: np.ndarray, texts=None) -> list[np.ndarray]:
        """Each reader's probabilities, columns in ``classes_``: the embedding head's, then the TF-IDF head's (if any)."""
        proba = self.embedding_head.predict_proba(embeddings)
        if self.words is None:
            return [proba]
        if texts is None:
            raise ModelError("this few-label head also reads the words: give the texts with their embeddings")
        column = {str(c): j for j, c in enumerate(self.words.classes_)}
        words = np.zeros_like(proba)
        words_proba = self.words.predict_proba(list(texts))
        for j, c in enumerate(self.classes_):
            if c in column:
                words[:, j] = words_proba[:, column[c]]
        return [proba, words]

    def combine(self, views: list[np.ndarray]) -> np.ndarray:
        """:meth:`views` averaged: the embedding head's alone, or with ``words_weight`` on the TF-IDF head's."""
        return views[0] if len(views) == 1 else (1 - self.words_weight) * views[0] + self.words_weight * views[1]

    def predict_proba(self, embeddings: np.ndarray, texts=None) -> np.ndarray:
        return self.combine(self.views(embeddings, texts))

    def predict(self, embeddings: np.ndarray, texts=None) -> list[str]:
        return [str(self.classes_[i]) for i in self.predict_proba(embeddings, texts).argmax(axis=1)]


WORDS_WEIGHT_PARAM = "logisticregression__sample_weight"  # words_head's pipeline: its logistic regression's sample weights


def words_head(seed: int = 42, class_weight: str | None = None):
    """TF-IDF (word unigrams and bigrams, sublinear counts) + logistic regression: the pseudo-labels' second reader
    (``class_weight``: its :attr:`FewLabelConfig.pool_class_weight`)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2, max_df=0.5, strip_accents="unicode"),
                         LogisticRegression(C=10.0, class_weight=class_weight, max_iter=3000, random_state=seed))


def self_training_rounds(labelled: np.ndarray, y: list[str], pool: np.ndarray, config: FewLabelConfig, rounds: int):
    """Self-training in ``rounds`` rounds: the head labels the pool, and round r keeps the most confident r/rounds
    of each predicted class (so a class's share of the pool is kept, not flattened), then refits on labelled +
    kept. Returns ``(head, pool rows kept, their labels)``."""
    head = make_head(config).fit(labelled, y)
    rows, labels = np.zeros(0, dtype=int), []
    for r in range(1, rounds + 1):
        proba = head.predict_proba(pool)
        best, top = proba.argmax(axis=1), proba.max(axis=1)
        keep = []
        for k in range(proba.shape[1]):
            members = np.flatnonzero(best == k)
            keep.extend(members[np.argsort(-top[members], kind="stable")][: int(math.ceil(len(members) * r / rounds))].tolist())
        rows = np.asarray(sorted(keep), dtype=int)
        labels = [str(head.classes_[k]) for k in best[rows]]
        head = fit_with_pseudo_labels(pseudo_label_head(config), np.concatenate([labelled, pool[rows]]), list(y) + labels, len(y), config)
    return head, rows, labels


def label_spreading(labelled: np.ndarray, y: list[str], pool: np.ndarray, config: FewLabelConfig, neighbours: int = 10):
    """scikit-learn's ``LabelSpreading`` over a k-nearest-neighbour graph of labelled + pool, then the head refitted
    on the spread labels. Returns ``(head, pool rows, their labels)``."""
    from sklearn.semi_supervised import LabelSpreading

    classes = sorted(set(y))
    codes = np.array([classes.index(v) for v in y] + [-1] * len(pool))
    spread = LabelSpreading(kernel="knn", n_neighbors=min(neighbours, len(codes) - 1), alpha=0.2, max_iter=100)
    spread.fit(np.concatenate([labelled, pool]), codes)
    labels = [classes[k] for k in spread.transduction_[len(y):]]
    head = fit_with_pseudo_labels(pseudo_label_head(config), np.concatenate([labelled, pool]), list(y) + labels, len(y), config)
    return head, np.arange(len(pool)), labels


def co_training(labelled: np.ndarray, y: list[str], pool: np.ndarray, labelled_texts, pool_texts, config: FewLabelConfig, rounds: int,
                words_weight: float = 0.5) -> SemiSupervisedHead:
    """Co-training of two readers: the head on the tuned embeddings labels the whole pool, a TF-IDF head and a
    refitted embedding head learn those labels, and from the second round on their average relabels the pool
    (two views correct each other's errors, where one view's self-training repeats its own)."""
    head = make_head(config).fit(labelled, y)
    words = None
    texts = list(labelled_texts) + list(pool_texts)
    for _ in range(rounds):
        current = SemiSupervisedHead(head, words, words_weight)
        labels = current.predict(pool, pool_texts)
        head = fit_with_pseudo_labels(pseudo_label_head(config), np.concatenate([labelled, pool]), list(y) + labels, len(y), config)
        words = fit_with_pseudo_labels(words_head(config.seed, config.pool_class_weight), texts, list(y) + labels, len(y), config, WORDS_WEIGHT_PARAM)
    return SemiSupervisedHead(head, words, words_weight, info={"method": "cotraining", "rounds": rounds, "pseudo_labels": len(pool_texts)})


def semi_supervised_head(labelled: np.ndarray, y, pool: np.ndarray, *, config: FewLabelConfig, method: str = "rounds", rounds: int = 3,
                         tfidf: bool = False, labelled_texts=None, pool_texts=None, words_weight: float = 0.5) -> SemiSupervisedHead:
    """The head, learning from the unlabelled ``pool`` (embeddings) by ``method``: ``none`` (labelled posts only),
    ``once`` (:func:`pseudo_labels` at ``config.pseudo_threshold``, one refit), ``rounds``
    (:func:`self_training_rounds`) or ``spreading`` (:func:`label_spreading`); with ``tfidf``, a TF-IDF head
    trained on the labelled texts and the pool's pseudo-labels joins it (:class:`SemiSupervisedHead`)."""
    y = [str(v) for v in y]
    if method == "none" or not len(pool):
        return SemiSupervisedHead(make_head(config).fit(labelled, y), info={"method": "none"})
    if method == "once":
        head = make_head(config).fit(labelled, y)
        rows, labels = pseudo_labels(head.predict_proba(pool), head.classes_, threshold=config.pseudo_threshold,
                                     per_class=config.pseudo_per_class)
        head = fit_with_pseudo_labels(pseudo_label_head(config), np.concatenate([labelled, pool[rows]]), y + labels, len(y), config) if len(rows) else head
    elif method == "rounds":
        head, rows, labels = self_training_rounds(labelled, y, pool, config, rounds)
    elif method == "cotraining":
        return co_training(labelled, y, pool, labelled_texts, pool_texts, config, rounds, words_weight)
    elif method == "spreading":
        head, rows, labels = label_spreading(labelled, y, pool, config)
    else:
        raise ConfigError(f"the unlabelled posts' method must be one of {UNLABELLED_METHODS}, got {method!r}")
    info = {"method": method, "pseudo_labels": len(rows), **({"rounds": rounds} if method == "rounds" else {})}
    words = None
    if tfidf and len(rows):
        if pool_texts is None or labelled_texts is None:
            raise ModelError("the TF-IDF head needs the labelled and pool texts")
        words = fit_with_pseudo_labels(words_head(config.seed, config.pool_class_weight), list(labelled_texts) + [pool_texts[i] for i in rows], y + labels, len(y),
                                       config, WORDS_WEIGHT_PARAM)
    return SemiSupervisedHead(head, words, words_weight, info={**info, "tfidf": words is not None})


class FewLabelClassifier(Classifier):
    """A contrastively tuned sentence encoder + logistic regression (SetFit), behind the kind interface."""

    kind = "fewlabel"
    config_class = FewLabelConfig
    library = "transformers"
    sample_train_eval = True  # scoring a large training split costs minutes (a small one is scored whole)

    @property
    def method(self) -> str:
        return f"fewlabel-{Path(self.config.model).name}"

    @property
    def base_model(self) -> str | None:
        return base_model_id(self.config.model)

    # -- the encoder --
    def _load_body(self, source: str) -> None:
        import torch

        from ..encoders import load_encoder

        self.tokenizer_, self.encoder_ = load_encoder(source)
        if torch.cuda.is_available():
            self.encoder_.to("cuda")
        self.encoder_.eval()

    def embed(self, X) -> np.ndarray:
        """L2-normalised mean-pooled embeddings by the (tuned) encoder, (n, hidden); not cached (the weights are this run's)."""
        from ..embeddings import mean_pooled

        cfg = self.config
        start = time.perf_counter()
        out = mean_pooled(self.tokenizer_, self.encoder_, list(X), max_length=cfg.max_length, batch_size=max(cfg.batch_size, 32),
                    precision=cfg.precision, whole=cfg.whole, max_windows=cfg.max_windows, backend="torch")
        self.timings_["embed_seconds"] = round(self.timings_.get("embed_seconds", 0) + time.perf_counter() - start, 1)
        return out

    # -- fitting --
    def fit(self, X, y, *, X_val=None, y_val=None, classes=None, workdir=None, resume=False, X_unlabelled=None) -> "FewLabelClassifier":
        """Tune the encoder on pairs of ``X``, fit the head, cross-validate it on ``X``, learn from ``X_unlabelled``
        (if given, by ``unlabelled_method``), calibrate on ``X_val`` (if given)."""
        from ..encoders import resolve_model

        cfg = self.config
        X, y = list(X), [str(v) for v in y]
        if len(X) != len(y) or not X:
            raise ModelError(f"fewlabel needs labelled posts, one label each; got {len(X)} texts and {len(y)} labels")
        self._load_body(resolve_model(cfg.model))
        # 1. contrastive tuning of the encoder on pairs of labelled posts
        self.contrastive_ = tune_body(self.tokenizer_, self.encoder_, X, y, cfg)
        self.timings_["tune_seconds"] = self.contrastive_["seconds"]
        # 2. the head on the tuned embeddings, and its cross-validated score on the labelled posts only
        train = self.embed(X)
        self.cross_validation_ = cross_validate_head(train, y, lambda: make_head(cfg), seed=cfg.seed)
        self.validation_macro_f1_ = self.cross_validation_["macro_f1"] if self.cross_validation_ else None
        self.head_, self.words_, self.words_weight_ = make_head(cfg).fit(train, y), None, 0.0
        self.classes_ = np.asarray([str(c) for c in self.head_.classes_])
        if classes is not None and list(self.classes_) != [str(c) for c in classes]:
            raise ModelError(f"every class needs labelled posts; got {list(self.classes_)}, expected {list(classes)}")
        # 3. the unlabelled posts: pseudo-labels for the head (and co-training's TF-IDF head)
        self.unlabelled_ = None
        if cfg.unlabelled_method != "none" and X_unlabelled is not None and len(X_unlabelled):
            self._learn_from_unlabelled(train, X, y, list(X_unlabelled))
        has_val = X_val is not None and len(X_val) > 0
        self.temperature_ = self._temperature(list(X_val), y_val) if has_val else 1.0
        logger.info("fewlabel: %d labelled posts, cross-validated macro-F1 %s, temperature %.3f%s", len(X),
                    "n/a" if self.validation_macro_f1_ is None else f"{self.validation_macro_f1_:.4f}", self.temperature_,
                    f", {self.unlabelled_['pseudo_labels']} pseudo-labels ({cfg.unlabelled_method})" if self.unlabelled_ else "")
        return self

    def _temperature(self, X_val: list[str], y_val) -> float:
        from ..refits import fit_temperature

        column = {c: j for j, c in enumerate(self.classes_)}
        keep = [i for i, v in enumerate(y_val) if str(v) in column]
        if not keep:
            return 1.0
        texts = [X_val[i] for i in keep]
        return fit_temperature(self._proba(self.embed(texts), texts), np.array([column[str(y_val[i])] for i in keep]))

    def _learn_from_unlabelled(self, train: np.ndarray, X: list[str], y: list[str], unlabelled: list[str]) -> None:
        cfg = self.config
        if len(unlabelled) > cfg.max_unlabelled:  # a seeded sample: each post costs a pass through the encoder
            keep = np.sort(np.random.default_rng(cfg.seed).choice(len(unlabelled), cfg.max_unlabelled, replace=False))
            unlabelled = [unlabelled[i] for i in keep]
        start = time.perf_counter()
        pool = self.embed(unlabelled)
        head = semi_supervised_head(train, y, pool, config=cfg, method=cfg.unlabelled_method, rounds=cfg.unlabelled_rounds,
                                    tfidf=cfg.words_weight > 0, labelled_texts=X, pool_texts=unlabelled, words_weight=cfg.words_weight)
        self.head_, self.words_, self.words_weight_ = head.embedding_head, head.words, head.words_weight if head.words is not None else 0.0
        self.unlabelled_ = {"posts": len(unlabelled), **head.info, "seconds": round(time.perf_counter() - start, 1)}

    def _proba(self, embeddings: np.ndarray, texts: list[str]) -> np.ndarray:
        return SemiSupervisedHead(self.head_, self.words_, self.words_weight_).predict_proba(embeddings, texts)

    def predict_views(self, X) -> list[np.ndarray]:
        """Each reader's probabilities, uncalibrated: the tuned encoder's head, then the TF-IDF head's if the run has one
        (``topicfit suggest --uncertainty disagreement``); :meth:`combine_views` makes them :meth:`predict_proba`."""
        X = list(X)
        return SemiSupervisedHead(self.head_, self.words_, self.words_weight_).views(self.embed(X), X)

    def combine_views(self, views: list[np.ndarray]) -> np.ndarray:
        """:meth:`predict_views`' readers as :meth:`predict_proba` gives them: averaged, then calibrated."""
        from ..refits import with_temperature

        proba = SemiSupervisedHead(self.head_, self.words_, self.words_weight_).combine(views)
        return proba if self.temperature_ == 1.0 else with_temperature(proba, self.temperature_)

    def predict_proba(self, X) -> np.ndarray:
        X = list(X)
        if not X:
            return np.zeros((0, len(self.classes_)))
        return self.combine_views(self.predict_views(X))

    def run_info(self) -> dict:
        return {"contrastive": self.contrastive_, "head": {"C": self.config.C, "class_weight": self.config.class_weight},
                "cross_validation": self.cross_validation_, "unlabelled": self.unlabelled_,
                "temperature": round(self.temperature_, 4)}

    # -- a self-describing folder --
    def save(self, folder: str | Path) -> None:
        """``body/`` (the tuned encoder and tokenizer, ``save_pretrained``), the head as a skops file (no code runs
        on load), and ``fewlabel.json`` (classes, temperature, settings)."""
        folder = Path(folder)
        self.encoder_.save_pretrained(folder / BODY_DIR)
        self.tokenizer_.save_pretrained(folder / BODY_DIR)
        save_skops(self.head_, folder / BASELINE_FILE)
        if self.words_ is not None:
            save_skops(self.words_, folder / WORDS_FILE)
        write_json(folder / FEWLABEL_FILE, {"classes": [str(c) for c in self.classes_], "temperature": self.temperature_,
                                            "words_weight": self.words_weight_, "config": self.config.to_dict()})

    @classmethod
    def load(cls, folder: str | Path, *, run: dict | None = None, trust: bool = False, **options) -> "FewLabelClassifier":
        folder = Path(folder)
        if not (folder / FEWLABEL_FILE).exists():
            raise ModelError(f"{folder} holds no few-label model ({FEWLABEL_FILE} is missing)")
        saved = read_json(folder / FEWLABEL_FILE)
        clf = cls(FewLabelConfig.from_dict((run or {}).get("model_config") or saved["config"]))
        clf._load_body(str(folder / BODY_DIR))
        clf.head_ = load_skops(folder / BASELINE_FILE, trust=trust)
        clf.words_ = load_skops(folder / WORDS_FILE, trust=trust) if (folder / WORDS_FILE).exists() else None
        clf.words_weight_ = float(saved.get("words_weight", 0.0)) if clf.words_ is not None else 0.0
        clf.classes_ = np.asarray(saved["classes"])
        clf.temperature_ = float(saved["temperature"])
        if [str(c) for c in clf.head_.classes_] != saved["classes"]:
            raise ModelError(f"{folder}: the head's classes {list(clf.head_.classes_)} differ from {FEWLABEL_FILE}'s {saved['classes']}")
        return clf
