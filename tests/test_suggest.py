"""``topicfit suggest``: distinct picks, the most uncertain preferred (margins worked out from the run's own
probabilities), near-duplicates not both picked, the cold start from a topics run (the most typical post of each k-means group,
round-robin over the topics), and the command writing JSON lines."""

from __future__ import annotations

import json

import numpy as np
import pytest

from topicfit.cli import main
from topicfit.data import DataConfig, Documents
from topicfit.kinds.baseline import BaselineClassifier, BaselineConfig
from topicfit.predict import TopicClassifier
from topicfit.registry import load_run
from topicfit.errors import ModelError
from topicfit.errors import ConfigError
from topicfit.suggest import SuggestConfig, contrastive, disagreement, gradient_picks, novelty, suggest, typicality, uncertainty
from topicfit.topics import TopicsConfig, fit_topics_run
from topicfit.workflow import fit_run

WORDS = {"space": "orbit launch nasa shuttle moon rocket", "cars": "car engine drive wheel dealer brake",
         "food": "bread cheese bake flour oven butter"}


def post(label: str, i: int) -> str:
    words = WORDS[label].split()
    return " ".join(words[(i + k) % len(words)] for k in range(8)) + f" note {i}"


def mixed(a: str, b: str, i: int, share: int = 4) -> str:
    """A post with ``share`` words of ``a`` and 8 - share of ``b``: the more even, the less sure a classifier is."""
    wa, wb = WORDS[a].split(), WORDS[b].split()
    return " ".join([wa[(i + k) % 6] for k in range(share)] + [wb[(i + k) % 6] for k in range(8 - share)]) + f" mixed {i}"


@pytest.fixture(scope="module")
def labelled_run(tmp_path_factory):
    """A TF-IDF logistic-regression run on 3 classes x 8 posts."""
    folder = tmp_path_factory.mktemp("suggest")
    rows = [(post(label, i), label) for label in WORDS for i in range(8)]
    (folder / "d.csv").write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows))
    data = DataConfig(dataset=str(folder / "d.csv"), labels="identity", validation_size=0.2, test_size=0.2)
    run_dir, _, _ = fit_run(BaselineClassifier(BaselineConfig(method="tfidf-logreg")), data, folder / "run")
    return run_dir


@pytest.fixture(scope="module")
def pool() -> list[str]:
    """Confident posts of each class, posts mixing two classes in every proportion, a duplicate and a blank."""
    texts = [post(label, i) for label in WORDS for i in range(10, 14)]
    texts += [mixed(a, b, i, share) for a, b in (("space", "cars"), ("cars", "food"), ("food", "space")) for i, share in
              ((0, 4), (1, 3), (2, 5), (3, 2), (4, 6))]
    return texts + [texts[12], "   "]  # a copy of the most even mix (an uncertain post)


def margins(run_dir, texts) -> np.ndarray:
    p = np.sort(TopicClassifier.load(run_dir).predict_proba(texts), axis=1)
    return 1.0 - (p[:, -1] - p[:, -2])


def test_picks_are_distinct_posts_with_their_prediction(labelled_run, pool, tiny_bert):
    picks = suggest(labelled_run, pool, n=10, ids=[f"p{i}" for i in range(len(pool))], config=SuggestConfig(density=0, model=str(tiny_bert)))
    assert len(picks) == 10 and len({p["index"] for p in picks}) == 10 and len({p["text"] for p in picks}) == 10
    assert all(p["text"].strip() and p["text"] == pool[p["index"]] and p["id"] == f"p{p['index']}" for p in picks)
    by_uncertainty = suggest(labelled_run, pool, n=10, config=SuggestConfig(pool_factor=1, density=0, model=str(tiny_bert)))
    assert 12 in [p["index"] for p in by_uncertainty] and len({p["text"] for p in by_uncertainty}) == 10
    assert all(len(pool) - 2 not in [p["index"] for p in q] for q in (picks, by_uncertainty))  # the later copy is never suggested
    clf = TopicClassifier.load(labelled_run)
    proba = clf.predict_proba([p["text"] for p in picks])
    assert [p["predicted"] for p in picks] == [str(clf.classes_[j]) for j in proba.argmax(axis=1)]
    assert [p["probability"] for p in picks] == [round(float(q), 4) for q in proba.max(axis=1)]
    assert [p["score"] for p in picks] == sorted((p["score"] for p in picks), reverse=True)  # best first


def test_the_most_uncertain_posts_are_preferred(labelled_run, pool, tiny_bert):
    texts = pool[:-2]
    m = margins(labelled_run, texts)
    expected = sorted(np.argsort(-m, kind="stable")[:5].tolist())
    picks = suggest(labelled_run, texts, n=5, config=SuggestConfig(pool_factor=1, density=0, model=str(tiny_bert)))
    assert sorted(p["index"] for p in picks) == expected  # no diversity step: exactly the 5 smallest margins
    assert [p["score"] for p in picks] == [round(float(m[i]), 4) for i in (p["index"] for p in picks)]
    assert all(i >= 12 for i in expected)  # (the fixture's claim) the mixed posts, not the confident ones
    # 15 candidates, the 15 mixed posts: k-means' groups (over a random encoder, which rounds differently on another CPU)
    # then cannot hold only confident posts
    diverse = suggest(labelled_run, texts, n=3, config=SuggestConfig(pool_factor=5, density=0, model=str(tiny_bert)))
    assert diverse[0]["index"] == int(np.argmax(m))  # the single most uncertain post is always picked, first
    assert all(p["index"] >= 12 for p in diverse)
    entropy = suggest(labelled_run, texts, n=5, config=SuggestConfig(uncertainty="entropy", pool_factor=1, density=0, model=str(tiny_bert)))
    p = TopicClassifier.load(labelled_run).predict_proba(texts)
    by_hand = -(p * np.log(p)).sum(axis=1) / np.log(3)
    assert sorted(q["index"] for q in entropy) == sorted(np.argsort(-by_hand, kind="stable")[:5].tolist())


def test_near_duplicate_uncertain_posts_are_not_both_picked(labelled_run, tiny_bert):
    twin = mixed("space", "cars", 0)
    texts = [post(label, i) for label in WORDS for i in range(20, 24)] + [twin, twin + " again", mixed("cars", "food", 7, 3),
                                                                             mixed("food", "space", 8, 5)]
    a, b = len(texts) - 4, len(texts) - 3
    m = margins(labelled_run, texts)
    assert set(np.argsort(-m, kind="stable")[:2].tolist()) == {a, b}  # the twins are the two most uncertain posts
    # 4 candidates (the twins and the two other mixed posts) into 2 groups: near-identical posts always share one, so
    # the split cannot hinge on how this CPU rounds a random encoder (with all 16 posts as candidates it did, on CI)
    picks = [p["index"] for p in suggest(labelled_run, texts, n=2, config=SuggestConfig(pool_factor=2, density=0, model=str(tiny_bert)))]
    assert len(picks) == 2 and int(np.argmax(m)) in picks and not {a, b} <= set(picks)
    by_uncertainty = [p["index"] for p in suggest(labelled_run, texts, n=2, config=SuggestConfig(pool_factor=1, density=0, model=str(tiny_bert)))]
    assert set(by_uncertainty) == {a, b}  # what uncertainty alone would pick


@pytest.fixture(scope="module")
def topics_run(tiny_bert, tmp_path_factory):
    texts = [post(label, i) for label in WORDS for i in range(8)]
    docs = Documents([f"d{i}" for i in range(len(texts))], texts, [""] * len(texts))
    run_dir, _ = fit_topics_run(docs, tmp_path_factory.mktemp("topics") / "run", TopicsConfig(model=str(tiny_bert), n_topics=3, max_length=32),
                                labels=False)
    return run_dir, texts


def test_cold_start_from_a_topics_run_takes_the_topics_round_robin(topics_run):
    run_dir, texts = topics_run
    model = load_run(run_dir).model_
    picks = suggest(run_dir, texts, n=6)
    assert len(picks) == 6 and len({p["index"] for p in picks}) == 6
    topics = [p["topic"] for p in picks]
    first = len(set(topics))
    assert len(set(topics[:first])) == first  # every topic with a pick once before any twice
    sizes = np.bincount(model.similarities(load_run(run_dir).embed(texts)).argmax(axis=1), minlength=len(model.centroids_))
    assert [sizes[t] for t in topics[:first]] == sorted((sizes[t] for t in topics[:first]), reverse=True)  # the largest topics first
    assert all(p["predicted"] == model.labels_[p["topic"]] and "most typical" in p["reason"] for p in picks)


class _TwoTopics:
    """A topics run's model over hand-made embeddings: two arcs of 11 posts (topics 0 and 1), a post far from both that
    topic 1 claims (so topic 1 is the larger), and cosine similarity to the two centroids."""

    def __init__(self):
        def arc(centre, towards, step=0.05):
            return [np.cos(step * j) * centre + np.sin(step * j) * towards for j in range(-5, 6)]

        e = np.eye(3)
        far = np.array([0.0, 0.3, 1.0])
        self.E = np.asarray(arc(e[0], e[2]) + arc(e[1], e[2]) + [far / np.linalg.norm(far)], dtype=np.float32)
        self.centroids_, self.labels_ = e[:2], ["first", "second"]
        self.thresholds_, self.model_ = np.zeros(2), self

    def similarities(self, E):
        return E @ self.centroids_.T

    def predict_proba(self, E):
        z = np.exp(self.similarities(E) / 0.05)
        return z / z.sum(axis=1, keepdims=True)

    def embed(self, texts):
        return self.E[[int(t) for t in texts]]


def test_cold_start_picks_the_most_typical_post_of_each_group_not_an_outlier():
    from topicfit.suggest import _representatives

    model = _TwoTopics()
    texts = [str(i) for i in range(len(model.E))]
    picks = _representatives(model, texts, list(range(len(texts))), 2)
    # each arc's middle post (its 10 nearest posts are the arc's others, the nearest on average); the far post, though in
    # topic 1 (whose 12 posts make it the larger topic, so first), never
    assert [p["index"] for p in picks] == [16, 5] and [p["topic"] for p in picks] == [1, 0]
    assert [p["predicted"] for p in picks] == ["second", "first"]


def test_suggest_command_writes_json_lines(labelled_run, pool, tiny_bert, tmp_path, capsys):
    (tmp_path / "pool.jsonl").write_text("".join(json.dumps({"id": f"x{i}", "text": t}) + "\n" for i, t in enumerate(pool)) + "not json\n")
    assert main(["-q", "suggest", str(labelled_run), "--pool", str(tmp_path / "pool.jsonl"), "--n", "4", "--model", str(tiny_bert),
                 "--output", str(tmp_path / "next.jsonl")]) == 0
    lines = [json.loads(line) for line in (tmp_path / "next.jsonl").read_text().splitlines()]
    direct = suggest(labelled_run, pool, n=4, ids=[f"x{i}" for i in range(len(pool))], config=SuggestConfig(model=str(tiny_bert)))
    assert lines == direct and [r["id"] for r in lines] == [f"x{r['index']}" for r in lines]


def test_uncertainty_by_hand():
    p = np.array([[0.5, 0.3, 0.2], [1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    assert np.allclose(uncertainty(p, "margin"), [0.8, 0.0, 1.0])
    assert np.allclose(uncertainty(p, "entropy"), [-(0.5 * np.log(0.5) + 0.3 * np.log(0.3) + 0.2 * np.log(0.2)) / np.log(3), 0.0, 1.0])
    assert np.allclose(uncertainty(p, "runner-up"), [0.6, 0.0, 2 / 3])  # twice the second probability


def test_runner_up_prefers_two_classes_in_doubt_to_a_post_spread_thin():
    two_way, thin = [0.45, 0.40, 0.05, 0.05, 0.05], [0.21, 0.2, 0.2, 0.2, 0.19]
    p = np.array([two_way, thin])
    assert uncertainty(p, "margin")[1] > uncertainty(p, "margin")[0]  # the margin is less sure of the thin post
    assert uncertainty(p, "runner-up")[0] > uncertainty(p, "runner-up")[1]  # the runner-up, of the two-way doubt
    binary = np.array([[0.7, 0.3], [0.55, 0.45], [1.0, 0.0]])
    assert np.allclose(uncertainty(binary, "runner-up"), uncertainty(binary, "margin"))  # two classes: the same measure
    with pytest.raises(ConfigError, match="runner-up"):
        SuggestConfig(uncertainty="runner up")


def test_disagreement_by_hand():
    def entropy(p):
        return -(p * np.log(p)).sum(axis=-1)

    same = np.array([[0.6, 0.4], [0.5, 0.5], [0.99, 0.01]])
    assert np.allclose(disagreement([same, same]), 0.0)  # readers that agree do not disagree, however unsure
    assert np.allclose(disagreement([np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])]), 1.0)
    a, b = np.array([[0.9, 0.1]]), np.array([[0.5, 0.5]])
    assert np.allclose(disagreement([a, b]), (entropy((a + b) / 2) - (entropy(a) + entropy(b)) / 2) / np.log(2))
    with pytest.raises(ModelError, match="at least two readers"):
        disagreement([a])


class TwoReaders:
    """A model of two readers, each post's two probability rows given by hand."""

    method, has_probabilities, classes_ = "two-readers", True, np.array(["a", "b"])

    def __init__(self, rows: dict):
        self.rows = rows

    def predict_views(self, X):
        return [np.array([self.rows[t][k] for t in X]) for k in (0, 1)]

    def combine_views(self, views):
        return np.mean(views, axis=0)

    def predict_proba(self, X):
        return self.combine_views(self.predict_views(X))


def test_disagreement_picks_where_the_readers_differ_not_where_both_are_unsure(labelled_run, tiny_bert):
    rows = {"both unsure": ([0.5, 0.5], [0.5, 0.5]), "they differ": ([0.7, 0.3], [0.1, 0.9]), "both sure": ([0.95, 0.05], [0.9, 0.1])}
    model, texts = TwoReaders(rows), list(rows)
    pick = lambda how: suggest(model, texts, n=1, config=SuggestConfig(uncertainty=how, pool_factor=1, density=0, model=str(tiny_bert)))  # noqa: E731
    assert pick("margin")[0]["text"] == "both unsure"  # the consensus's margin: 1.0 there, 0.8 where they differ
    top = pick("disagreement")[0]
    assert top["text"] == "they differ" and top["score"] == round(float(disagreement(model.predict_views(["they differ"]))[0]), 4)
    assert top["predicted"] == "b" and top["probability"] == 0.6  # the model's own label and probability, as with margin
    with pytest.raises(ModelError, match="one reader"):
        suggest(labelled_run, texts, n=1, config=SuggestConfig(uncertainty="disagreement", density=0, model=str(tiny_bert)))


def test_typicality_weights_down_outliers(labelled_run, pool, tiny_bert):
    E = np.eye(6)[[0, 0, 0, 1, 1, 5]] + 0.01  # five posts in two groups and one alone
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    t = typicality(E)
    assert t[:5].min() > 5 * t[5]  # (a post is never its own neighbour)
    texts = pool[:-2]
    unsure = margins(labelled_run, texts)
    from topicfit.embeddings import embed_texts

    weighted = unsure * typicality(embed_texts(texts, model=str(tiny_bert)))
    picks = suggest(labelled_run, texts, n=5, config=SuggestConfig(pool_factor=1, density=1.0, model=str(tiny_bert)))
    assert sorted(p["index"] for p in picks) == sorted(np.argsort(-weighted, kind="stable")[:5].tolist())


def test_gradient_picks_by_hand():
    """BADGE: the gradients built in full (posts x classes·dims); the first pick is the largest, each next is
    at the distance reported from the nearest earlier pick, and a certain post (zero gradient) is never the first."""
    rng = np.random.default_rng(0)
    P, X, w = rng.dirichlet(np.ones(4), size=30), rng.normal(size=(30, 5)), rng.uniform(0.2, 1.0, 30)
    P[0] = [1.0, 0.0, 0.0, 0.0]
    A = P.copy()
    A[np.arange(30), P.argmax(axis=1)] -= 1.0
    G = (w[:, None, None] * A[:, :, None] * X[:, None, :]).reshape(30, -1)
    picks, gaps = gradient_picks(P, X, 8, weights=w, seed=3)
    assert len(set(picks)) == 8 and picks[0] == int(np.argmax((G**2).sum(axis=1))) and 0 not in picks[:1]
    assert np.isclose(gaps[0], np.linalg.norm(G[picks[0]]))
    for k in range(1, 8):
        assert np.isclose(gaps[k], min(np.linalg.norm(G[picks[k]] - G[picks[j]]) for j in range(k)))
    assert gradient_picks(P, X, 8, weights=w, seed=3) == (picks, gaps)  # seeded
    twins = gradient_picks(np.array([[0.5, 0.5], [0.5, 0.5], [0.9, 0.1]]), np.ones((3, 2)), 2)[0]
    assert twins[0] in (0, 1) and twins[1] == 2  # a copy of a pick is at distance 0: never drawn while another is left
    with pytest.raises(ModelError, match="one of each per post"):
        gradient_picks(P, X[:-1], 2)


def test_spread_by_gradients_picks_uncertain_posts_of_different_kinds(labelled_run, pool, tiny_bert):
    texts = pool[:-2]
    config = SuggestConfig(spread="gradients", density=0, model=str(tiny_bert))
    picks = suggest(labelled_run, texts, n=4, config=config)
    from topicfit.embeddings import embed_texts

    proba = TopicClassifier.load(labelled_run).predict_proba(texts)
    drawn, gaps = gradient_picks(proba, embed_texts(texts, model=str(tiny_bert)), 4, seed=42)
    assert sorted(p["index"] for p in picks) == sorted(drawn)  # suggest's picks are BADGE's
    m = margins(labelled_run, texts)
    assert [p["score"] for p in picks] == [round(float(m[p["index"]]), 4) for p in picks]  # scored, and ordered, by the margin
    assert [p["score"] for p in picks] == sorted((p["score"] for p in picks), reverse=True)
    assert all("gradient embedding" in p["reason"] for p in picks)
    with pytest.raises(Exception, match="spread must be one of"):
        SuggestConfig(spread="random")


def test_contrastive_by_hand():
    """CAL: each pool post's mean KL(p(neighbour) || p(post)) over its k nearest labelled posts, squashed by 1 - exp(-x)."""
    rng = np.random.default_rng(1)
    P, Q = rng.dirichlet(np.ones(3), size=12), rng.dirichlet(np.ones(3), size=7)
    E, L = rng.normal(size=(12, 4)), rng.normal(size=(7, 4))
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    L /= np.linalg.norm(L, axis=1, keepdims=True)
    for k in (1, 3, 7):
        want = []
        for i in range(12):
            near = np.argsort(-(L @ E[i]))[:k]
            want.append(1 - np.exp(-np.mean([(Q[j] * np.log(Q[j] / P[i])).sum() for j in near])))
        assert np.allclose(contrastive(P, E, Q, L, k=k), want)
    assert np.allclose(contrastive(Q, L, Q, L, k=1), 0.0)  # a post that is its own nearest labelled post: no contrast
    with pytest.raises(ModelError, match="one of each per post"):
        contrastive(P, E[:-1], Q, L)


def test_suggest_by_contrast_scores_pool_posts_against_the_labelled_ones(tiny_bert):
    """Two pool posts equally unsure by the margin: CAL's scores rank them (from the run's probabilities for the
    labelled posts, and the encoder's embeddings); copies of labelled posts are never suggested; without the
    labelled posts, a clear error."""
    rows = {"labelled a": ([0.9, 0.1],) * 2, "labelled b": ([0.2, 0.8],) * 2, "pool near a": ([0.3, 0.7],) * 2,
            "pool near b": ([0.7, 0.3],) * 2}
    model = TwoReaders(rows)
    from topicfit.embeddings import embed_texts

    E = dict(zip(rows, embed_texts(list(rows), model=str(tiny_bert))))
    config = SuggestConfig(uncertainty="contrastive", pool_factor=1, density=0, model=str(tiny_bert))
    picks = suggest(model, ["pool near a", "pool near b", "labelled a"], n=3, config=config, labelled=["labelled a", "labelled b"])
    assert "labelled a" not in [p["text"] for p in picks] and len(picks) == 2
    want = contrastive(np.array([rows["pool near a"][0], rows["pool near b"][0]]), np.array([E["pool near a"], E["pool near b"]]),
                       np.array([rows["labelled a"][0], rows["labelled b"][0]]), np.array([E["labelled a"], E["labelled b"]]))
    assert [p["score"] for p in picks] == sorted(round(float(w), 4) for w in want)[::-1]
    assert picks[0]["text"] == ["pool near a", "pool near b"][int(np.argmax(want))]
    with pytest.raises(ConfigError, match="labelled"):
        suggest(model, ["pool near a"], n=1, config=config)


def test_novelty_by_hand():
    """1 minus a post's highest cosine similarity to a labelled post, clipped to [0, 1]."""
    rng = np.random.default_rng(2)
    E, L = rng.normal(size=(9, 4)), rng.normal(size=(3, 4))
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    L /= np.linalg.norm(L, axis=1, keepdims=True)
    want = [min(max(1 - max(L @ e), 0.0), 1.0) for e in E]
    assert np.allclose(novelty(E, L), want)
    assert np.allclose(novelty(L, L), 0.0)  # a labelled post is no news


def test_coverage_weighs_each_post_by_how_far_it_is_from_the_labelled_ones(tiny_bert):
    """Three pool posts, equally unsure by the margin: with coverage W, each score is the margin times novelty^W
    (from the encoder's embeddings), and the order follows it; coverage 0 leaves them tied (pool order); no
    labelled posts: a clear error."""
    rows = {t: ([0.5, 0.5],) * 2 for t in ("orbit launch nasa", "bread cheese bake", "orbit launch moon")}
    model, texts, labelled = TwoReaders(rows), list(rows), ["orbit launch nasa shuttle", "engine wheel"]
    from topicfit.embeddings import embed_texts

    new = novelty(embed_texts(texts, model=str(tiny_bert)), embed_texts(labelled, model=str(tiny_bert)))
    assert len(set(np.round(new, 4))) == 3  # the three posts differ in how new they are
    for w in (1.0, 3.0):
        config = SuggestConfig(pool_factor=1, density=0, coverage=w, model=str(tiny_bert))
        picks = suggest(model, texts, n=3, config=config, labelled=labelled)
        assert [p["text"] for p in picks] == [texts[i] for i in np.argsort(-new, kind="stable")]
        assert [p["score"] for p in picks] == sorted((round(float(v ** w), 4) for v in new), reverse=True)
    flat = suggest(model, texts, n=3, config=SuggestConfig(pool_factor=1, density=0, model=str(tiny_bert)), labelled=labelled)
    assert [p["text"] for p in flat] == texts and {p["score"] for p in flat} == {1.0}
    with pytest.raises(ConfigError, match="labelled"):
        suggest(model, texts, n=1, config=SuggestConfig(coverage=1.0, model=str(tiny_bert)))
    with pytest.raises(ConfigError, match="coverage"):
        SuggestConfig(coverage=-1.0)


def test_suggest_command_leaves_out_the_labelled_posts(labelled_run, pool, tiny_bert, tmp_path):
    (tmp_path / "pool.txt").write_text("".join(t + "\n" for t in pool[:-1]))
    (tmp_path / "done.csv").write_text("text,label\n" + "".join(f"{t},x\n" for t in pool[12:15]) + f"{pool[0]},\n")  # pool[0]: no label
    args = ["-q", "suggest", str(labelled_run), "--pool", str(tmp_path / "pool.txt"), "--n", "30", "--model", str(tiny_bert)]
    assert main(args + ["--labelled", str(tmp_path / "done.csv"), "--format", "auto", "-o", str(tmp_path / "next.jsonl")]) == 0
    texts = {json.loads(line)["text"] for line in (tmp_path / "next.jsonl").read_text().splitlines()}
    assert texts and not texts & set(pool[12:15]) and texts == set(pool[:-2]) - set(pool[12:15])


def test_spread_typical_picks_each_groups_most_typical_candidate(labelled_run, pool, tiny_bert):
    from sklearn.cluster import KMeans

    from topicfit.embeddings import embed_texts

    texts = pool[:-2]
    E = embed_texts(texts, model=str(tiny_bert))
    density = typicality(E, seed=42)
    scores = margins(labelled_run, texts) * density
    candidates = np.argsort(-scores, kind="stable")[:12]
    groups = KMeans(n_clusters=3, n_init=3, random_state=42).fit_predict(E[candidates])
    want = {int(candidates[groups == g][np.argmax(density[candidates[groups == g]])]) for g in range(3)}
    picks = suggest(labelled_run, texts, n=3, config=SuggestConfig(spread="typical", pool_factor=4, model=str(tiny_bert)))
    assert {p["index"] for p in picks} == want and all("most typical" in p["reason"] for p in picks)
    uncertain = suggest(labelled_run, texts, n=3, config=SuggestConfig(pool_factor=4, model=str(tiny_bert)))
    assert {p["index"] for p in uncertain} == {int(candidates[groups == g][0]) for g in range(3)}  # kmeans: each group's most uncertain


def test_spread_typical_without_density_weighting_on_a_small_pool(labelled_run, pool, tiny_bert):
    texts = pool[:3]  # no more posts than n: every post is picked, each scored by its margin alone
    picks = suggest(labelled_run, texts, n=5, config=SuggestConfig(spread="typical", density=0, model=str(tiny_bert)))
    assert sorted(p["index"] for p in picks) == [0, 1, 2]
    assert {p["index"]: p["score"] for p in picks} == {i: round(float(m), 4) for i, m in enumerate(margins(labelled_run, texts))}


def test_class_shares_by_hand():
    from topicfit.suggest import class_shares

    assert class_shares([100, 100, 100], 10) == {0: 4, 1: 3, 2: 3}  # the remainder one a class
    assert class_shares([1, 100, 100, 0], 10) == {0: 1, 1: 5, 2: 4}  # a class of one post gives the rest of its share away
    assert class_shares([2, 3], 10) == {0: 2, 1: 3}  # fewer posts than n: all of them
    assert class_shares([5, 9, 5, 5], 3) == {0: 1, 2: 1, 3: 1}  # fewer picks than classes: the smaller classes first


def test_balance_splits_the_picks_over_the_predicted_classes(labelled_run, pool, tiny_bert):
    texts = pool[:-2]
    p = TopicClassifier.load(labelled_run).predict_proba(texts)
    predicted, m = p.argmax(axis=1), margins(labelled_run, texts)
    order = np.argsort(-m, kind="stable")
    by_hand = {int(i) for k in range(3) for i in order[predicted[order] == k][:2]}  # each class's two most uncertain
    picks = suggest(labelled_run, texts, n=6, config=SuggestConfig(balance=True, pool_factor=1, density=0, model=str(tiny_bert)))
    assert {q["index"] for q in picks} == by_hand
    assert sorted(np.bincount(predicted[[q["index"] for q in picks]], minlength=3)) == [2, 2, 2]
    assert any("predicted" in q["reason"] for q in picks)
    spread = suggest(labelled_run, texts, n=6, config=SuggestConfig(balance=True, pool_factor=3, density=0, model=str(tiny_bert)))
    assert sorted(np.bincount(predicted[[q["index"] for q in spread]], minlength=3)) == [2, 2, 2]  # k-means within each class's candidates
    assert all(f"of {6}" in q["reason"] for q in spread if "group" in q["reason"])
    with pytest.raises(ConfigError, match="gradients"):
        SuggestConfig(balance=True, spread="gradients")


def test_cold_start_gives_n_picks_when_posts_share_an_embedding():
    from topicfit.suggest import _representatives

    model = _TwoTopics()
    model.E = np.asarray([model.E[5]] * 3 + [model.E[16]], dtype=np.float32)  # three posts that embed alike, one other
    picks = _representatives(model, ["0", "1", "2", "3"], [0, 1, 2, 3], 3)
    assert len(picks) == 3 and len({p["index"] for p in picks}) == 3 and 3 in {p["index"] for p in picks}
