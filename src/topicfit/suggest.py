"""``topicfit suggest``: which posts to label next, from a pool of unlabelled ones.

With a trained run (any kind with probabilities): the posts the run is least sure of (the margin between its
two most probable classes, the entropy of its probabilities; for a run of several readers, how much they
disagree: ``uncertainty="disagreement"``; or, given the labelled posts, how far its probabilities for a post
are from those for the labelled posts nearest it: ``uncertainty="contrastive"``, CAL), weighted by how typical each post is of the pool (``density``:
outliers and near-empty posts are uncertain but teach little), spread over the pool's variety. The ``pool_factor·n`` best-scored posts are the candidates; k-means (n clusters) over their embeddings groups
near-duplicates and posts about the same thing, and the most uncertain candidate of each group is picked. So
the single most uncertain post is always among the picks, and two near-identical uncertain posts do not both
cost a label. ``spread="gradients"`` picks by BADGE instead (:func:`gradient_picks`): k-means++ seeding over the
whole pool's gradient embeddings, in which a post is long where the run is unsure and points where its
embedding does.

Cold start, with no labels yet: a ``topicfit topics`` run. Then k-means (``n`` groups) spreads the picks over the
pool, and the most typical post of each group is picked (TypiClust): the picks are named by their topics and taken
round-robin over them, the largest first, so every topic with a pick is labelled before any gets a second post.

Exact duplicate texts and blank texts are never suggested (the first copy of a duplicate may be), nor copies
of the ``labelled`` posts when they are given (``--labelled FILE``: the run's training file); without them,
leave the posts the run was trained on out of the pool.

>>> picks = suggest("runs/fewlabel", pool_texts, n=50)          # doctest: +SKIP
>>> picks[0]["text"], picks[0]["reason"]                         # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ConfigError, ModelError
from .settings import Settings

logger = logging.getLogger(__name__)

UNCERTAINTIES = ("margin", "runner-up", "entropy", "disagreement", "contrastive")
SPREADS = ("kmeans", "typical", "gradients")


@dataclass(frozen=True)
class SuggestConfig(Settings):
    """Settings of ``topicfit suggest`` beyond how many posts (``n``) and the seed."""

    uncertainty: str = field(default="margin", metadata={
        "help": "margin: 1 - (top probability - second); runner-up: twice the second probability (two classes in doubt, not a post "
                "spread thin over many: off-topic and generic posts, which teach a head little); entropy: of the probabilities, over log(classes); disagreement: "
                "between the model's readers (an ensemble's members, a few-label run's two heads), their Jensen-Shannon divergence over "
                "log(readers); contrastive: CAL (Margatina et al. 2021), how far the run's probabilities for a post are from its "
                "probabilities for the post's 10 nearest labelled posts (mean KL divergence, squashed to [0, 1) by 1 - exp(-KL); "
                "needs the labelled posts: --labelled)", "choices": UNCERTAINTIES})
    pool_factor: int = field(default=20, metadata={
        "help": "the pool_factor x n most uncertain posts are the candidates that diversity picks n from"})
    model: str = field(default="minilm", metadata={
        "help": "the encoder whose embeddings spread the picks (a topics run uses its own)"})
    density: float = field(default=1.0, metadata={
        "help": "weight of how typical a post is: uncertainty x density^this, density being its mean similarity to its 10 "
                "nearest pool posts (outliers and near-empty posts teach little); 0: uncertainty alone"})
    spread: str = field(default="kmeans", metadata={
        "help": "how the picks spread over the pool: kmeans: k-means (n groups) over the pool_factor x n most uncertain posts' "
                "embeddings, the most uncertain of each group; typical: the same groups, the most typical of each (its density: "
                "TypiClust, Hacohen et al. 2022, over the uncertain posts); gradients: BADGE (Ash et al. 2020), k-means++ seeding over the whole "
                "pool's gradient embeddings (a logistic-regression head's loss gradient on each post, at its predicted class: "
                "probabilities minus the predicted class, times the embedding, times density^density), so a pick is both uncertain "
                "and far from the earlier picks", "choices": SPREADS})
    coverage: float = field(default=0.0, metadata={
        "help": "weight of how new a post is to the labelled posts: score x (1 - its highest cosine similarity to a labelled "
                "post)^this, so a round's picks leave the regions the labels already cover (needs the labelled posts: "
                "--labelled); 0: off"})
    balance: bool = field(default=False, metadata={
        "help": "split the n picks evenly over the classes the run predicts (a class with fewer pool posts gives its share to "
                "the others), each class's picks spread over its own pool_factor x share most uncertain posts: class-balanced "
                "selection, so rare and confusable classes alike get labels (not with --spread gradients)"})

    def __post_init__(self) -> None:
        if self.spread not in SPREADS:
            raise ConfigError(f"spread must be one of {SPREADS}, got {self.spread!r}")
        if self.uncertainty not in UNCERTAINTIES:
            raise ConfigError(f"uncertainty must be one of {UNCERTAINTIES}, got {self.uncertainty!r}")
        if self.pool_factor < 1:
            raise ConfigError(f"pool_factor must be at least 1, got {self.pool_factor}")
        if self.density < 0:
            raise ConfigError(f"density must be 0 or more, got {self.density}")
        if self.coverage < 0:
            raise ConfigError(f"coverage must be 0 or more, got {self.coverage}")
        if self.balance and self.spread == "gradients":
            raise ConfigError("balance splits the picks over the predicted classes before k-means spreads them; BADGE (spread "
                              "'gradients') spreads over the whole pool at once: use one of them")


def disagreement(views) -> np.ndarray:
    """Per row, in [0, 1] (1: the readers are sure of different classes): the generalised Jensen-Shannon divergence
    of the readers' probabilities (entropy of their mean minus their mean entropy) over log(readers). Query by
    committee: it is high where the readers differ, not where both find a post ambiguous."""
    V = np.asarray(views, dtype=np.float64)  # (readers, n, classes)
    if V.ndim != 3 or len(V) < 2:
        raise ModelError("disagreement needs the probabilities of at least two readers, (readers, posts, classes)")

    def entropy(p):
        return -(p * np.log(np.clip(p, 1e-12, 1.0))).sum(axis=-1)

    return np.clip((entropy(V.mean(axis=0)) - entropy(V).mean(axis=0)) / np.log(len(V)), 0.0, 1.0)


CONTRASTIVE_NEIGHBOURS = 10  # CAL's k: a pool post is compared with this many of its nearest labelled posts


def contrastive(probabilities: np.ndarray, embeddings: np.ndarray, labelled_probabilities: np.ndarray,
                labelled_embeddings: np.ndarray, k: int = CONTRASTIVE_NEIGHBOURS) -> np.ndarray:
    """Per pool post, in [0, 1): CAL's score (contrastive active learning, Margatina et al. 2021), ``1 - exp(-KL)``
    of the mean KL divergence ``KL(p(neighbour) || p(post))`` over the post's ``k`` nearest labelled posts (cosine
    similarity of the embeddings), ``p`` the run's probabilities. High where the run says something else of a post
    than of the labelled posts that look like it: the post lies across a decision boundary from them."""
    P, Q = np.asarray(probabilities, dtype=np.float64), np.asarray(labelled_probabilities, dtype=np.float64)
    E, L = np.asarray(embeddings, dtype=np.float32), np.asarray(labelled_embeddings, dtype=np.float32)
    if len(P) != len(E) or len(Q) != len(L):
        raise ModelError(f"got {len(P)} / {len(Q)} rows of probabilities for {len(E)} / {len(L)} embeddings (pool / labelled); give one of each per post")
    if not len(L):
        raise ModelError("contrastive needs at least one labelled post")
    k = min(k, len(L))
    logP, logQ = np.log(np.clip(P, 1e-12, 1.0)), np.log(np.clip(Q, 1e-12, 1.0))
    own = (Q * logQ).sum(axis=1)  # sum_c q log q, per labelled post
    out = np.zeros(len(P))
    for start in range(0, len(P), 2048):
        sims = E[start : start + 2048] @ L.T
        near = np.argpartition(-sims, k - 1, axis=1)[:, :k]  # (rows, k): the nearest labelled posts
        cross = np.einsum("rkc,rc->rk", Q[near], logP[start : start + 2048])  # sum_c q log p
        out[start : start + 2048] = (own[near] - cross).mean(axis=1)
    return 1.0 - np.exp(-np.clip(out, 0.0, None))


def uncertainty(probabilities: np.ndarray, how: str = "margin") -> np.ndarray:
    """Per row, in [0, 1] (1: the least sure): ``1 - (p1 - p2)`` for ``margin``; ``2 p2`` for ``runner-up`` (the second
    most probable class's probability, doubled: 1 when two classes split it evenly, low for a post spread thin over
    many classes; with two classes it is the margin); entropy / log(classes) for ``entropy``."""
    p = np.asarray(probabilities, dtype=np.float64)
    if how in ("margin", "runner-up"):
        top = np.sort(p, axis=1)[:, ::-1]
        second = top[:, 1] if p.shape[1] > 1 else np.zeros(len(p))
        return 2.0 * second if how == "runner-up" else 1.0 - (top[:, 0] - second)
    if how == "entropy":
        return -(p * np.log(np.clip(p, 1e-12, 1.0))).sum(axis=1) / np.log(max(p.shape[1], 2))
    raise ConfigError(f"uncertainty must be one of {UNCERTAINTIES}, got {how!r}")


DENSITY_NEIGHBOURS = 10  # a post's density: its mean similarity to this many nearest pool posts
DENSITY_SAMPLE = 4000  # ... among a seeded sample of this many pool posts (bounds the cost on a big pool)


def typicality(embeddings: np.ndarray, *, seed: int = 42) -> np.ndarray:
    """Per post, in [0, 1]: its mean cosine similarity to its nearest ``DENSITY_NEIGHBOURS`` posts of the pool (a
    sample of ``DENSITY_SAMPLE`` when bigger; the post itself left out), clipped at 0. High where many posts say
    the same thing; low for outliers and posts with almost no text (density weighting, Settles & Craven 2008)."""
    E = np.asarray(embeddings, dtype=np.float32)
    rng = np.random.default_rng(seed)
    ref = np.sort(rng.choice(len(E), DENSITY_SAMPLE, replace=False)) if len(E) > DENSITY_SAMPLE else np.arange(len(E))
    k = min(DENSITY_NEIGHBOURS, max(len(ref) - 1, 1))
    out, neighbours = np.zeros(len(E)), E[ref].T
    for start in range(0, len(E), 2048):
        sims = E[start : start + 2048] @ neighbours
        rows = np.arange(start, min(start + 2048, len(E)))
        sims[rows[:, None] == ref[None, :]] = -1.0  # not its own neighbour
        out[rows] = np.sort(sims, axis=1)[:, -k:].mean(axis=1)
    return np.clip(out, 0.0, 1.0)


def novelty(embeddings: np.ndarray, labelled_embeddings: np.ndarray) -> np.ndarray:
    """Per post, in [0, 1]: 1 minus its highest cosine similarity to a labelled post (clipped): 0 for a copy of a
    labelled post, high in regions that no label covers yet."""
    E, L = np.asarray(embeddings, dtype=np.float32), np.asarray(labelled_embeddings, dtype=np.float32)
    out = np.ones(len(E))
    for start in range(0, len(E), 2048):
        out[start : start + 2048] = 1.0 - (E[start : start + 2048] @ L.T).max(axis=1)
    return np.clip(out, 0.0, 1.0)


def gradient_picks(probabilities: np.ndarray, embeddings: np.ndarray, n: int, *, weights=None, seed: int = 42) -> tuple[list[int], list[float]]:
    """BADGE's picks (Ash et al. 2020): k-means++ seeding over the posts' gradient embeddings ``g = w (p - e_k) x``
    (``p`` the probabilities, ``e_k`` the predicted class's one-hot, ``x`` the embedding, ``w`` a weight per post):
    the first pick has the largest gradient, each next is drawn with probability proportional to its squared
    distance to the nearest earlier pick. Returns the picks in draw order and those distances (the first: its
    norm). ``<g_i, g_j> = w_i w_j (a_i . a_j)(x_i . x_j)``, so the (posts x classes·dims) gradients are never built."""
    P, X = np.asarray(probabilities, dtype=np.float64), np.asarray(embeddings, dtype=np.float64)
    if len(P) != len(X):
        raise ModelError(f"got {len(P)} rows of probabilities for {len(X)} embeddings; give one of each per post")
    A = P.copy()
    A[np.arange(len(P)), P.argmax(axis=1)] -= 1.0
    w = np.ones(len(P)) if weights is None else np.asarray(weights, dtype=np.float64)
    A *= w[:, None]
    norms = (A * A).sum(axis=1) * (X * X).sum(axis=1)
    rng = np.random.default_rng(seed)
    first = int(np.argmax(norms))
    picks, gaps = [first], [float(np.sqrt(norms[first]))]
    nearest = np.full(len(P), np.inf)
    while len(picks) < min(n, len(P)):
        c = picks[-1]
        nearest = np.minimum(nearest, np.clip(norms + norms[c] - 2.0 * (A @ A[c]) * (X @ X[c]), 0.0, None))
        nearest[picks] = 0.0
        total = nearest.sum()
        if total > 0:
            nxt = int(rng.choice(len(P), p=nearest / total))
        else:  # every gradient left equals a pick's: the next largest
            taken = set(picks)
            nxt = next(int(i) for i in np.argsort(-norms, kind="stable") if int(i) not in taken)
        picks.append(nxt)
        gaps.append(float(np.sqrt(nearest[nxt])))
    return picks, gaps


def _eligible(texts: list[str], labelled=()) -> list[int]:
    """Indices of the non-blank texts, the first copy of each, leaving out copies of the ``labelled`` texts (as
    a data file's texts are read: markup cleaned)."""
    from .data import clean_markup

    seen, known, keep = set(), {clean_markup(t) for t in labelled}, []
    for i, t in enumerate(texts):
        if t.strip() and t not in seen and not (known and clean_markup(t) in known):
            seen.add(t)
            keep.append(i)
    return keep


def suggest(run_dir, pool_texts, n: int = 50, *, ids=None, seed: int = 42, config: SuggestConfig | None = None,
            labelled=None) -> list[dict]:
    """The ``n`` posts of ``pool_texts`` to label next, best first.

    Args:
        run_dir: a finished run with probabilities, or a ``topicfit topics`` run (cold start, no labels yet); or
            a model already loaded or fitted: a ``TopicClassifier`` or a kind's classifier.
        pool_texts: the unlabelled posts.
        n (int, default 50): how many to suggest (fewer if the pool has fewer distinct, non-blank posts).
        ids: the posts' ids, one per text (``None``: ``id`` is ``None``; ``index`` still says which post).
        seed (int, default 42): k-means' seed.
        config (SuggestConfig | None): uncertainty measure, candidates per pick, the diversity encoder.
        labelled: the texts already labelled (the run's training posts), or ``None``. Their copies in the pool are
            not suggested; ``uncertainty="contrastive"`` needs them (a pool post is compared with its nearest).

    Returns:
        list[dict]: ``{"index", "id", "text", "score", "reason", "predicted", "probability"}`` per post, ``index``
        into ``pool_texts``; ``score`` is the uncertainty (a topics run: the similarity to the topic's centroid);
        ``predicted`` / ``probability`` are the run's label for the post and its probability.
    """
    from .kinds.topics import DiscoveredTopicsClassifier
    from .registry import load_run

    config = config or SuggestConfig()
    texts = [str(t) for t in pool_texts]
    if ids is not None and len(ids) != len(texts):
        raise ConfigError(f"got {len(ids)} ids for {len(texts)} texts; give one id per text, or none")
    if n < 1:
        raise ConfigError(f"n must be at least 1, got {n}")
    model = load_run(run_dir) if isinstance(run_dir, (str, Path)) else getattr(run_dir, "estimator", run_dir)
    labelled = None if labelled is None else [str(t) for t in labelled]
    if config.coverage > 0 and not labelled:
        raise ConfigError("coverage weighs each pool post by how far it is from the labelled posts: give the posts the run was "
                          "trained on (suggest(..., labelled=texts); topicfit suggest --labelled FILE), or coverage 0")
    if config.uncertainty == "contrastive" and not labelled:
        raise ConfigError("uncertainty 'contrastive' compares each pool post with the labelled posts nearest to it: give the posts the "
                          "run was trained on (suggest(..., labelled=texts); topicfit suggest --labelled FILE), or another --uncertainty")
    rows = _eligible(texts, labelled or ())
    if not rows:
        return []
    if isinstance(model, DiscoveredTopicsClassifier):
        picks = _representatives(model, texts, rows, n, seed=seed)
    else:
        if not model.has_probabilities:
            raise ModelError(f"{run_dir}: a {model.method} run gives no probabilities, so it cannot say which posts it is unsure of; "
                             "use a run with probabilities (tfidf-logreg, embed, fewlabel, transformer, ensemble) or a topics run")
        picks = _uncertain_and_diverse(model, texts, rows, n, seed=seed, config=config, labelled=labelled)
    for pick in picks:
        pick["id"] = None if ids is None else ids[pick["index"]]
        pick["text"] = texts[pick["index"]]
    logger.info("suggest: %d of %d pool posts from %s", len(picks), len(texts), run_dir)
    return [{key: p[key] for key in ("index", "id", "text", "score", "reason", "predicted", "probability")} | p for p in picks]


def _uncertain_and_diverse(model, texts: list[str], rows: list[int], n: int, *, seed: int, config: SuggestConfig,
                           labelled=None) -> list[dict]:
    from .embeddings import embed_texts

    classes, eligible = [str(c) for c in model.classes_], [texts[i] for i in rows]
    if config.uncertainty == "disagreement":  # each reader predicts the pool once; the model's probabilities are theirs combined
        views = model.predict_views(eligible) if hasattr(model, "predict_views") else []
        if len(views) < 2:
            raise ModelError(f"a {model.method} run has one reader, so its readers cannot disagree: use --uncertainty margin, "
                             "or a run of several readers (an ensemble, or a few-label run that learnt from unlabelled posts: its TF-IDF head)")
        proba, unsure = np.asarray(model.combine_views(views)), disagreement(views)
    else:
        proba = np.asarray(model.predict_proba(eligible))
    gradients, contrasted = config.spread == "gradients", config.uncertainty == "contrastive"
    pool = (embed_texts(eligible, model=config.model) if config.density > 0 or len(rows) > n or gradients or contrasted
            or config.spread == "typical" or config.coverage > 0 else None)
    known = embed_texts(labelled, model=config.model) if contrasted or config.coverage > 0 else None  # the labelled posts
    if contrasted:
        unsure = contrastive(proba, pool, np.asarray(model.predict_proba(labelled)), known)
    elif config.uncertainty != "disagreement":
        unsure = uncertainty(proba, config.uncertainty)
    density = typicality(pool, seed=seed) if config.density > 0 or config.spread == "typical" else np.ones(len(rows))
    typical = density ** config.density
    if config.coverage > 0:
        typical = typical * novelty(pool, known) ** config.coverage
    scores = unsure * typical
    order = np.argsort(-scores, kind="stable")  # the most uncertain (and typical) first; ties: pool order
    gap, group_of, size, among = {}, {}, {}, {}  # among: a pick of no group (a share of n or fewer candidates): how many, which class
    if gradients:
        drawn, gaps = gradient_picks(proba, pool, n, weights=typical, seed=seed)
        gap = dict(zip(drawn, gaps))
        chosen = drawn
    else:
        predicted = proba.argmax(axis=1)
        shares = (class_shares(np.bincount(predicted, minlength=len(classes)), n) if config.balance
                  else {None: n})  # None: one share, the whole pool
        chosen = []
        for k, share in shares.items():
            ranked = order if k is None else order[predicted[order] == k]
            candidates = ranked[: config.pool_factor * share]
            picked, groups = _spread(candidates, share, pool, density, typical=config.spread == "typical", seed=seed)
            if groups is None:
                among |= {c: (len(candidates), None if k is None else classes[k]) for c in picked}
            else:  # group numbers run on across the classes' shares
                offset = len(size)
                group_of |= {c: g + offset for c, g in zip(candidates.tolist(), groups.tolist())}
                size |= {g + offset: m for g, m in zip(*np.unique(groups, return_counts=True))}
            chosen += picked
    chosen = sorted(chosen, key=lambda c: (-scores[c], c))
    picks = []
    for c in chosen:
        top = np.argsort(-proba[c], kind="stable")
        second = f" vs {classes[top[1]]!r} {proba[c, top[1]]:.2f}" if len(top) > 1 else ""
        most = f"most typical (density {density[c]:.3f})" if config.spread == "typical" else "most uncertain"
        spread = (f"; the {most} of {size[group_of[c]]} similar candidates (group {group_of[c] + 1} of {len(size)})" if c in group_of
                  else f"; the largest gradient embedding ({gap[c]:.3f})" if gradients and c == drawn[0]
                  else f"; its gradient embedding {gap[c]:.3f} from the nearest earlier pick" if c in gap
                  else f"; among the {among[c][0]} most uncertain posts" + (f" predicted {among[c][1]!r}" if among[c][1] else ""))
        picks.append({"index": rows[c], "score": round(float(scores[c]), 4), "predicted": classes[top[0]],
                      "probability": round(float(proba[c, top[0]]), 4),
                      "reason": f"uncertain ({config.uncertainty} {scores[c]:.3f}): {classes[top[0]]!r} {proba[c, top[0]]:.2f}{second}{spread}"})
    return picks


def class_shares(counts, n: int) -> dict[int, int]:
    """``n`` picks split evenly over the classes (``counts``: pool posts predicted each), none over a class's posts:
    a class with fewer gives its share to the others, and the remainder goes one a class, the smaller classes first.
    Returns ``{class index: picks}`` for the classes with picks."""
    counts = np.asarray(counts, dtype=int)
    shares, left = np.zeros(len(counts), dtype=int), min(n, int(counts.sum()))
    while left > 0:
        open_ = [k for k in np.argsort(counts, kind="stable") if shares[k] < counts[k]]
        each = max(left // len(open_), 1)
        for k in open_:
            add = min(each, counts[k] - shares[k], left)
            shares[k] += add
            left -= add
            if left == 0:
                break
    return {int(k): int(shares[k]) for k in range(len(counts)) if shares[k]}


def _spread(candidates: np.ndarray, n: int, pool, density, *, typical: bool, seed: int, n_init: int = 3):
    """``n`` of the ``candidates`` (in score order): all of them when there are ``n`` or fewer; else k-means (``n``
    groups, ``n_init`` starts) over their embeddings and each group's first (the most uncertain) or, ``typical``,
    its most typical (ties to the earlier candidate); fewer distinct groups than ``n``: the next candidates. Returns ``(picks, each candidate's group or None)``."""
    if len(candidates) <= n:
        return list(candidates), None
    from sklearn.cluster import KMeans

    groups = KMeans(n_clusters=n, n_init=n_init, random_state=seed).fit_predict(pool[candidates])
    best = (lambda members: members[np.argmax(density[members])]) if typical else (lambda members: members[0])
    chosen = [best(candidates[groups == g]) for g in np.unique(groups)]
    if len(chosen) < n:  # fewer distinct groups than n (near-identical embeddings): the next most uncertain
        taken = set(chosen)
        chosen += [c for c in candidates if c not in taken][: n - len(chosen)]
    return chosen, groups


COLD_START_SAMPLE = 20_000  # the cold start's k-means runs over a seeded sample of this many pool posts (bounds its cost)


def _representatives(model, texts: list[str], rows: list[int], n: int, *, seed: int = 42) -> list[dict]:
    """Cold start: k-means (``n`` groups) over the pool posts' embeddings (a seeded sample of ``COLD_START_SAMPLE``
    when bigger) and the most typical post of each group, by :func:`typicality` (TypiClust, Hacohen et al. 2022:
    with few labels, typical posts of distinct groups teach more than uncertain ones). Each pick is named by its
    topic; they are taken round-robin over the topics, the largest first (so every topic with a pick is labelled
    before any gets a second), and within a topic its larger groups first."""
    topics_model = model.model_
    E = model.embed([texts[i] for i in rows])
    sims = topics_model.similarities(E)
    topic = sims.argmax(axis=1)
    best = sims[np.arange(len(rows)), topic]
    outlier = best < topics_model.thresholds_[topic]
    proba = topics_model.predict_proba(E)[np.arange(len(rows)), topic]
    sizes = np.bincount(topic, minlength=len(topics_model.centroids_))
    if not sizes.all():
        logger.info("suggest: topics %s have no post in the pool", np.flatnonzero(sizes == 0).tolist())
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(rows), COLD_START_SAMPLE, replace=False)) if len(rows) > COLD_START_SAMPLE else np.arange(len(rows))
    density = np.zeros(len(rows))
    density[sample] = typicality(E[sample], seed=seed)
    picked, groups = _spread(sample, n, E, density, typical=True, seed=seed, n_init=1)
    group_of = dict(zip(sample.tolist(), groups.tolist())) if groups is not None else {int(r): i for i, r in enumerate(picked)}
    size = Counter(group_of.values())
    chosen = {}  # topic: [(row, its group's size)], the larger groups first
    for r in sorted(picked, key=lambda r: (-size[group_of[r]], group_of[r])):
        chosen.setdefault(int(topic[r]), []).append((int(r), size[group_of[r]]))
    picks, by_size = [], sorted(chosen, key=lambda t: (-sizes[t], t))
    for rank in range(max((len(c) for c in chosen.values()), default=0)):
        for t in by_size:
            if rank < len(chosen[t]):
                r, group_size = chosen[t][rank]
                label = topics_model.labels_[t]
                picks.append({"index": rows[r], "score": round(float(best[r]), 4), "predicted": label, "probability": round(float(proba[r]), 4),
                              "topic": t, "reason": f"representative of topic {t} {label!r} ({sizes[t]} pool posts): the most typical "
                                                    f"(density {density[r]:.3f}) of {group_size} similar posts, similarity {best[r]:.3f} to the "
                                                    f"topic's centroid{' (an outlier)' if outlier[r] else ''}"})
    return picks


def read_pool(path: str | Path, *, fmt: str = "auto", text_field: str = "text") -> tuple[list[str], list, list[int]]:
    """A pool file as ``topicfit predict`` reads its input (:func:`topicfit.predict.iter_records`): ``(texts, ids,
    record indices)``; records that cannot be read are left out, with a warning. ``ids`` hold each record's ``id``
    (JSONL/CSV), else its index."""
    import sys

    from .predict import guess_format, iter_records

    fmt = guess_format(str(path)) if fmt == "auto" else fmt
    texts, ids, indices, errors = [], [], [], 0
    with (open(path, "rb") if str(path) != "-" else sys.stdin.buffer) as stream:
        for rec in iter_records(stream, fmt=fmt, text_field=text_field):
            if "text" not in rec:
                errors += 1
                continue
            texts.append(rec["text"])
            ids.append(rec.get("id", rec["index"]))
            indices.append(rec["index"])
    if errors:
        logger.warning("suggest: %d records of %s could not be read and are left out", errors, path)
    return texts, ids, indices
