"""Topic discovery: every document assigned, outliers flagged, reproducible bytes, transform == fit, planted
words found, markup and everywhere-words kept out of the topic words, readable distinct labels, each document's
top topics, report snippets, NPMI/diversity by hand, renaming and merging, unlabelled files, the mini-batch mode;
MMR and phrases, topics over time, the hierarchy and reducing along it, seeded topics, updates, the report's map."""

from __future__ import annotations

import html
import json
import math
import shutil

import numpy as np
import pytest

from topicfit.data import Documents, load_newsgroups, load_table
from topicfit.errors import DataError, ModelError
from topicfit.kinds.topics import DiscoveredTopicsClassifier
from topicfit.runs import METRICS_FILE, MODEL_DIR, RUN_FILE, read_json
from topicfit.topics import (ASSIGNMENTS_FILE, EMBEDDINGS_FILE, HIERARCHY_FILE, LABELLED_FILE, OVER_TIME_FILE, TOPICS_FILE, TOPICS_REPORT_FILE,
                             UPDATES_FILE, TopicClustering, TopicsConfig, fit_topics_run, label_metrics, mmr, npmi, read_seed_topics, rename_topics,
                             topic_diversity, topic_labels, _Guide)
from topicfit.topics_evolve import reduce_topics_run, topics_over_time, update_topics_run
from topicfit.topics_report import HOVER_CHARS, snippet

from .conftest import TOPICS

GROUPS = list(TOPICS)


def read_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def corpus(tiny_corpus) -> Documents:
    """The tiny corpus's 84 posts (train + test), one of them empty after cleaning."""
    train, test = load_newsgroups(data=tiny_corpus, subset="train"), load_newsgroups(data=tiny_corpus, subset="test")
    return Documents(train.ids + test.ids, train.texts + test.texts, train.labels + test.labels)


def planted_embeddings(labels: list[str], *, far: tuple[int, ...] = (), dim: int = 16, seed: int = 0) -> np.ndarray:
    """One random direction per group plus a little noise; the documents in ``far`` point nowhere in particular."""
    rng = np.random.default_rng(seed)
    directions = {g: rng.normal(size=dim) for g in sorted(set(labels))}
    X = np.stack([directions[y] + 0.15 * rng.normal(size=dim) for y in labels])
    for i in far:
        X[i] = directions[labels[i]] + 2.0 * rng.normal(size=dim)
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def bert_run(corpus, tiny_bert, tmp_path_factory):
    """A run embedded by the tiny random BERT through embed_texts, as the CLI does."""
    config = TopicsConfig(model=str(tiny_bert), n_topics=7, max_length=32)
    run_dir, metrics = fit_topics_run(corpus, tmp_path_factory.mktemp("runs") / "bert", config)
    return run_dir, metrics, config


def test_every_document_gets_a_topic_and_outliers_are_flagged_not_dropped(corpus, tmp_path):
    far = (3, 40)
    X = planted_embeddings(corpus.labels, far=far)
    run_dir, metrics = fit_topics_run(corpus, tmp_path / "run", TopicsConfig(n_topics=7), embeddings=X)
    rows = read_lines(run_dir / ASSIGNMENTS_FILE)
    assert [r["id"] for r in rows] == corpus.ids  # one line per document, input order
    assert all(isinstance(r["topic"], int) and 0 <= r["topic"] < 7 for r in rows)
    assert all(rows[i]["outlier"] is True for i in far)  # flagged, and still assigned
    topics = read_json(run_dir / TOPICS_FILE)
    assert sum(t["size"] for t in topics) == len(corpus) == metrics["n_documents"]
    assert metrics["outlier_share"] == pytest.approx(sum(r["outlier"] for r in rows) / len(rows))
    assert 0 < metrics["outlier_share"] < 0.2
    assert metrics["nmi"] > 0.95 and metrics["majority_accuracy"] > 0.95  # the planted groups are the topics
    assert read_json(run_dir / RUN_FILE)["kind"] == "topics"
    report = (run_dir / TOPICS_REPORT_FILE).read_text(encoding="utf-8")
    assert "http" not in report and "<script" not in report
    assert report.count('src="data:image/png;base64,') == 4  # words, sizes, topics x labels, hierarchy
    assert report.count('<svg class="map"') == 1 and report.count("<circle ") == len(corpus)  # the map, every post (84 < map_sample)


def test_each_document_lists_its_top_topics_the_first_being_its_topic(corpus, tmp_path):
    X = planted_embeddings(corpus.labels, far=(3, 40))
    run_dir, _ = fit_topics_run(corpus, tmp_path / "run", TopicsConfig(n_topics=7), embeddings=X)
    rows = read_lines(run_dir / ASSIGNMENTS_FILE)
    proba = TopicClustering.load(run_dir / MODEL_DIR).predict_proba(X)
    for row, p in zip(rows, proba):
        best = np.argsort(-p, kind="stable")[:3]  # the 3 most probable topics of the softmax, best first
        assert row["topics"] == [[int(j), round(float(p[j]), 6)] for j in best]
        assert row["topics"][0] == [row["topic"], row["probability"]]
    assert any(row["topics"][1][1] > 0.01 for row in rows)  # the far documents have a real second topic
    two = fit_topics_run(corpus, tmp_path / "two", TopicsConfig(n_topics=7, top_k_topics=2), embeddings=X)[0]
    assert {len(r["topics"]) for r in read_lines(two / ASSIGNMENTS_FILE)} == {2}


def test_topic_words_are_the_planted_words(corpus, tmp_path):
    # "posting" is in every post, three times: the most frequent word of every topic, yet no topic lists it
    # (its 246 occurrences outnumber an average topic's 176 words, so its BM25 idf is below 0)
    docs = Documents(corpus.ids, [t + " posting Posting posting" if t.strip() else t for t in corpus.texts], corpus.labels)
    X = planted_embeddings(corpus.labels)
    run_dir, _ = fit_topics_run(docs, tmp_path / "run", TopicsConfig(n_topics=7), embeddings=X)
    rows, topics = read_lines(run_dir / ASSIGNMENTS_FILE), read_json(run_dir / TOPICS_FILE)
    for topic in topics:
        members = [corpus.labels[i] for i, r in enumerate(rows) if r["topic"] == topic["id"]]
        group = max(set(members), key=members.count)
        assert sorted(topic["words"][:5]) == sorted(TOPICS[group].split())
        assert topic["words"][5:] == []
        assert topic["label"] == " · ".join(topic["words"][:3])  # no two planted words share a stem
        assert all(corpus.labels[corpus.ids.index(i)] == group for i in topic["representative_ids"])
    report = (run_dir / TOPICS_REPORT_FILE).read_text(encoding="utf-8")
    for topic in topics:  # each topic's label, words, and its representative posts' beginnings
        assert f"<b>{topic['label']}</b>" in report and ", ".join(topic["words"]) in report
        for doc_id in topic["representative_ids"]:
            assert f"<b>{doc_id}</b>: {html.escape(snippet(docs.texts[docs.ids.index(doc_id)]))}</p>" in report


def markup_noise(i: int) -> str:
    return f" &gt; &quot;quoted&quot; &amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt;<br><a href='x{i}'>link</a> it #39;s &nbsp;x &lt; y"


def test_markup_and_html_entities_never_become_topic_words(corpus, tmp_path):
    docs = Documents(corpus.ids, [t + markup_noise(i) if t.strip() else t for i, t in enumerate(corpus.texts)], corpus.labels)
    run_dir, _ = fit_topics_run(docs, tmp_path / "run", TopicsConfig(n_topics=7), embeddings=planted_embeddings(corpus.labels))
    model = TopicClustering.load(run_dir / MODEL_DIR)
    entities = {"gt", "lt", "quot", "amp", "br", "href", "nbsp"}
    assert not entities & set(model.vocabulary_)
    assert {"quoted", "bold", "link"} <= set(model.vocabulary_)  # the words between the tags stay
    for topic in read_json(run_dir / TOPICS_FILE):
        assert sorted(topic["words"][:5]) in [sorted(words.split()) for words in TOPICS.values()]
    report = (run_dir / TOPICS_REPORT_FILE).read_text(encoding="utf-8")
    # a post's snippet: decoded as the words were, then escaped
    assert "&gt; &quot;quoted&quot; bold link it &#x27;s x &lt; y</p>" in report and "&amp;" not in report
    # a user's table is cleaned as it is read
    (tmp_path / "news.csv").write_text("text\nFed #39;s &lt;b&gt;rate&lt;/b&gt; cut<br>now &amp;amp;lt;3\n", encoding="utf-8")
    assert load_table(tmp_path / "news.csv", label_column=None).texts == ["Fed 's  rate  cut now <3"]


NEWS = {"sport": "game season team league cup match coach player goal win",
        "world": "iraq minister president election troops killed police peace rebels capital",
        "business": "oil prices stocks percent company shares profit market bank sales",
        "tech": "software internet computer microsoft ibm windows users web chip phone"}


def said_corpus() -> tuple[list[str], list[str]]:
    """Four kinds of news, ten posts each: every word of its kind once, ten words of the other kinds, "said" thrice."""
    rng = np.random.default_rng(0)
    labels, texts = [], []
    for kind, words in NEWS.items():
        others = [w for k, ws in NEWS.items() if k != kind for w in ws.split()]
        for _ in range(10):
            labels.append(kind)
            texts.append(" ".join([*words.split(), *rng.choice(others, 10, replace=False), "said", "said", "said"]))
    return labels, texts


def test_a_word_in_every_topic_leads_none(tmp_path):
    labels, texts = said_corpus()
    X = planted_embeddings(labels)
    plain = {"reduce_frequent_words": False, "bm25_weighting": False, "word_max_topics": None}

    def fit(**settings) -> TopicClustering:
        return TopicClustering(TopicsConfig(n_topics=4, **{**plain, **settings})).fit(X, texts)

    assert [words[0] for words in fit().words_] == ["said"] * 4  # plain c-TF-IDF: "said" leads every topic
    for settings in ({"reduce_frequent_words": True}, {"bm25_weighting": True}):  # each, on its own, drops "said"
        for words in fit(**settings).words_:
            assert "said" not in words and sorted(words) in [sorted(w.split()) for w in NEWS.values()]
    assert sum("said" in words for words in fit(word_max_topics=2).words_) == 2  # listed by the 2 topics it scores highest in
    once = fit(word_max_topics=1)
    assert sum("said" in words for words in once.words_) == 1 and topic_diversity(once.words_) == 1.0
    model = TopicClustering(TopicsConfig(n_topics=4)).fit(X, texts)  # the defaults
    assert not any("said" in words for words in model.words_)
    again = model.update_words(texts, **plain)  # the same topics, their words counted again
    assert again.words_ == fit().words_ and again.topics_.tolist() == fit().topics_.tolist()
    with pytest.raises(ValueError, match="update_words changes only"):
        model.update_words(texts, n_topics=3)


def test_labels_are_short_distinct_and_skip_words_of_one_stem():
    words = [["windows", "window", "dos", "drivers", "card"], ["windows", "dos", "drivers", "ms"], ["windows", "dos", "drivers", "ms"],
             ["believe", "belief", "god"], ["space", "shuttle", "launch"], []]
    assert topic_labels(words) == ["windows · dos · drivers · card", "windows · dos · drivers · ms (1)",
                                   "windows · dos · drivers · ms (2)", "believe · god", "space · shuttle · launch", "topic 5"]
    assert topic_labels([["car", "cars", "engine", "dealer"], ["mac", "machine", "apple"]], n_words=2) == ["car · engine", "mac · machine"]


def test_two_runs_with_one_seed_write_identical_bytes(corpus, bert_run, tmp_path):
    first, first_metrics, config = bert_run
    second, second_metrics = fit_topics_run(corpus, tmp_path / "again", config)
    model_files = sorted(f"{MODEL_DIR}/{p.name}" for p in (first / MODEL_DIR).iterdir())
    assert len(model_files) == 3  # centroids, settings, vocabulary
    for name in (ASSIGNMENTS_FILE, TOPICS_FILE, TOPICS_REPORT_FILE, "documents.jsonl.gz", HIERARCHY_FILE, EMBEDDINGS_FILE, *model_files):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    timing = ("seconds", "fit_seconds", "peak_memory_mb", "embed_seconds", "texts_embedded", "texts_from_cache")
    assert {k: v for k, v in first_metrics.items() if k not in timing} == {k: v for k, v in second_metrics.items() if k not in timing}


def test_saved_model_reproduces_the_fit_exactly(corpus, bert_run):
    run_dir, _, config = bert_run
    rows = read_lines(run_dir / ASSIGNMENTS_FILE)
    clf = DiscoveredTopicsClassifier.load(run_dir / MODEL_DIR, run=read_json(run_dir / RUN_FILE))
    topics, probabilities, outliers = clf.model_.transform(clf.embed(corpus.texts))
    assert topics.tolist() == [r["topic"] for r in rows]
    assert outliers.tolist() == [r["outlier"] for r in rows]
    assert np.round(probabilities, 6).tolist() == [r["probability"] for r in rows]
    ranked, ranked_p = clf.model_.top_topics(clf.embed(corpus.texts))
    assert [[[int(j), round(float(q), 6)] for j, q in zip(js, qs)] for js, qs in zip(ranked, ranked_p)] == [r["topics"] for r in rows]
    assert list(clf.classes_) == read_json(run_dir / RUN_FILE)["classes"] == [t["label"] for t in read_json(run_dir / TOPICS_FILE)]
    assert clf.predict(corpus.texts) == [clf.classes_[r["topic"]] for r in rows]
    with pytest.raises(ModelError, match="topicfit topics"):
        clf.fit(corpus.texts, corpus.labels)


def test_automatic_number_of_topics_finds_the_planted_groups(corpus):
    model = TopicClustering(TopicsConfig(n_topics=None)).fit(planted_embeddings(corpus.labels), corpus.texts)
    assert len(model.centroids_) == 7 and max(model.silhouettes_, key=model.silhouettes_.get) == 7
    X = planted_embeddings(corpus.labels)
    assert len(TopicClustering(TopicsConfig(clusterer="hdbscan")).fit(X, corpus.texts).centroids_) == 7
    merged = TopicClustering(TopicsConfig(clusterer="hdbscan", n_topics=4)).fit(X, corpus.texts)  # HDBSCAN's 7, merged to 4
    assert len(merged.centroids_) == 4 and len(set(merged.topics_)) == 4


def test_npmi_and_diversity_by_hand():
    texts = [["a", "b"], ["a", "b"], ["a", "c"], ["c", "d"]]  # each shorter than gensim's window of 10: one window each
    # topic (a, b): p(a)=3/4, p(b)=2/4, p(a,b)=2/4; topic (c, d): p(c)=2/4, p(d)=1/4, p(c,d)=1/4
    ab = math.log((2 / 4) / (3 / 4 * 2 / 4)) / -math.log(2 / 4)
    cd = math.log((1 / 4) / (2 / 4 * 1 / 4)) / -math.log(1 / 4)
    assert npmi([["a", "b"], ["c", "d"]], texts) == pytest.approx((ab + cd) / 2, abs=1e-9)
    assert npmi([["a", "b", "zzz"]], texts) == pytest.approx(ab, abs=1e-9)  # a word the corpus lacks is left out
    assert topic_diversity([["a", "b", "c"], ["a", "d", "e"]], topn=3) == pytest.approx(5 / 6)
    assert topic_diversity([["a", "b"], ["a", "b"]], topn=2) == pytest.approx(2 / 4)
    assert topic_diversity([["a", "b"], ["c"]], topn=2) == pytest.approx(3 / 4)  # a short topic still counts topn places
    m = label_metrics(references=["x", "x", "y", "y", "y"], topics=[0, 0, 0, 1, 1])
    assert m["majority_accuracy"] == pytest.approx(4 / 5)
    assert label_metrics(references=["x", "x", "y"], topics=[5, 5, 2])["nmi"] == pytest.approx(1.0)


def test_rename_merges_topics_writes_a_dataset_and_predicts_names(corpus, bert_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(bert_run[0], run_dir)
    names = tmp_path / "names.yaml"
    names.write_text("0: merged\n1: merged\n2: third\n", encoding="utf-8")
    rename_topics(run_dir, names)
    topics, rows = read_json(run_dir / TOPICS_FILE), read_lines(run_dir / ASSIGNMENTS_FILE)
    assert [t["id"] for t in topics] == list(range(7))
    assert [t["label"] for t in topics[:3]] == ["merged", "merged", "third"]
    expected = [topics[r["topic"]]["label"] for r in rows]
    labelled = read_lines(run_dir / LABELLED_FILE)
    assert labelled == [{"id": i, "text": t, "label": y} for i, t, y in zip(corpus.ids, corpus.texts, expected)]
    dataset = load_table(run_dir / LABELLED_FILE, id_column="id")  # what `topicfit train --dataset` reads
    assert dataset.ids == corpus.ids and dataset.labels == expected
    run = read_json(run_dir / RUN_FILE)
    clf = DiscoveredTopicsClassifier.load(run_dir / MODEL_DIR, run=run)
    classes = list(clf.classes_)
    assert classes == run["classes"] == ["merged", "third", *[t["label"] for t in topics[3:]]]
    per_topic = clf.model_.predict_proba(clf.embed(corpus.texts))
    proba = clf.predict_proba(corpus.texts)
    np.testing.assert_allclose(proba[:, 0], per_topic[:, 0] + per_topic[:, 1])
    np.testing.assert_allclose(proba[:, 1:], per_topic[:, 2:])
    predicted = clf.predict(corpus.texts)
    # The tiny random BERT's softmax is near uniform, and by how much varies with the CPU: so no fixed
    # threshold. Where a document's assigned topic is its most probable one, and still wins once topics 0 and
    # 1 pool their probability, the prediction is that topic's new name.
    wins = [i for i, r in enumerate(rows) if per_topic[i].argmax() == r["topic"]
            and (r["topic"] < 2 or per_topic[i, r["topic"]] > per_topic[i, :2].sum())]
    assert len(wins) >= sum(r["topic"] < 2 for r in rows) > 0
    assert all(predicted[i] == expected[i] for i in wins)
    bad = tmp_path / "bad.json"
    bad.write_text('{"9": "x"}', encoding="utf-8")
    with pytest.raises(DataError, match="no topic 9"):
        rename_topics(run_dir, bad)


def test_a_user_file_without_labels(tmp_path):
    path = tmp_path / "posts.csv"
    lines = ["text"] + [" ".join(TOPICS[g].split()[(i + k) % 5] for k in range(8)) for g in GROUPS for i in range(6)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="no column 'label'"):
        load_table(path)  # a labelled load still needs labels
    docs = load_table(path, label_column=None)
    assert docs.labels == [""] * 42 and docs.ids[0] == "posts.csv:1"
    X = planted_embeddings([g for g in GROUPS for _ in range(6)])
    run_dir, metrics = fit_topics_run(docs, tmp_path / "run", TopicsConfig(n_topics=7), embeddings=X)
    assert "nmi" not in metrics and metrics["n_documents"] == 42
    assert [r["id"] for r in read_lines(run_dir / ASSIGNMENTS_FILE)] == docs.ids
    assert "topics x labels" not in (run_dir / TOPICS_REPORT_FILE).read_text(encoding="utf-8")
    assert read_json(run_dir / METRICS_FILE)["diversity"] == pytest.approx(35 / 70)  # 7 topics of 5 distinct planted words


def test_minibatch_mode_assigns_every_document_from_a_memmap(tmp_path):
    n_per = 150
    labels = [g for g in GROUPS for _ in range(n_per)]
    texts = [" ".join(TOPICS[g].split()[(i + k) % 5] for k in range(6)) for g in GROUPS for i in range(n_per)]
    docs = Documents([f"d{i}" for i in range(len(texts))], texts, labels)
    X = planted_embeddings(labels, far=(5, 500))
    memmap = np.lib.format.open_memmap(tmp_path / "emb.npy", mode="w+", dtype=np.float32, shape=X.shape)
    memmap[:] = X
    memmap.flush()
    config = TopicsConfig(n_topics=7, minibatch=True, chunk_size=100, vocabulary_sample=300, n_components=8)
    run_dir, metrics = fit_topics_run(docs, tmp_path / "run", config, embeddings=np.load(tmp_path / "emb.npy", mmap_mode="r"))
    rows = read_lines(run_dir / ASSIGNMENTS_FILE)
    assert [r["id"] for r in rows] == docs.ids and rows[5]["outlier"] and rows[500]["outlier"]
    assert metrics["nmi"] > 0.95
    model = TopicClustering.load(run_dir / MODEL_DIR)
    assert model.transform(X)[0].tolist() == [r["topic"] for r in rows]
    with pytest.raises(ValueError, match="mini-batch"):
        TopicsConfig(minibatch=True, reducer="umap")


def test_the_whole_path_from_raw_documents_to_a_named_classifier(tiny_env, tiny_bert, tmp_path, capsys):
    """topics -> names (merging two) -> a classifier trained on the named topics -> predict, all from the CLI."""
    import json as _json

    from topicfit.cli import main

    run = tmp_path / "topics"
    assert main(["-q", "topics", "--model", str(tiny_bert), "--n-topics", "7", "--output", str(run)]) == 0
    topics = _json.loads((run / "topics.json").read_text())
    assignments = [_json.loads(line) for line in (run / "assignments.jsonl").read_text().splitlines()]
    assert len(topics) == 7 and len(assignments) == 7 * (8 + 4)  # every post of train and test, none dropped
    (tmp_path / "names.yaml").write_text("0: first\n1: first\n2: second\n")
    capsys.readouterr()
    assert main(["-q", "topics", str(run), "--names", str(tmp_path / "names.yaml")]) == 0
    labelled = capsys.readouterr().out.splitlines()[0]
    rows = [_json.loads(line) for line in open(labelled)]
    assert len(rows) == len(assignments) and {r["label"] for r in rows if r["id"] in {a["id"] for a in assignments if a["topic"] in (0, 1)}} == {"first"}
    capsys.readouterr()
    (tmp_path / "in.txt").write_text("orbit launch nasa shuttle\n")
    assert main(["-q", "predict", str(run), str(tmp_path / "in.txt")]) == 0
    assert _json.loads(capsys.readouterr().out)["label"] in {r["label"] for r in rows}
    assert main(["-q", "baseline", "--dataset", labelled, "--id-column", "id", "--method", "tfidf-logreg", "--validation-size", "0.25",
                 "--output", str(tmp_path / "named")]) == 0
    assert set(_json.loads((tmp_path / "named" / "run.json").read_text())["classes"]) <= {r["label"] for r in rows}


# --- issue 21, second part: MMR and phrases, time, the hierarchy, seeds, updates, the report's map ---------------


class WordVectors(dict):
    """A fake encoder for words: a text is the normalised mean of its known words' vectors (zeros if none)."""

    def __call__(self, texts):
        dim = len(next(iter(self.values())))
        rows = [np.mean([self[w] for w in t.split() if w in self] or [np.zeros(dim)], axis=0) for t in texts]
        return np.stack(rows)


def embeddings_from(labels: list[str], directions: dict[str, np.ndarray], *, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = np.stack([directions[y] / np.linalg.norm(directions[y]) + noise * rng.normal(size=len(directions[y])) for y in labels])
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def test_mmr_picks_relevant_words_unlike_those_already_picked():
    rows = np.array([[1.0, 0.0], [0.995, 0.0998], [0.0, 1.0]])  # cos to the target [.8, .6]: .80, .856, .60
    assert mmr(np.array([0.8, 0.6]), rows, n=3, diversity=0.0) == [1, 0, 2]  # by relevance alone
    # then row 0: .5 * .8 - .5 * .995 = -.0975; row 2: .5 * .6 - .5 * .0998 = .25: the unlike row comes second
    assert mmr(np.array([0.8, 0.6]), rows, n=3, diversity=0.5) == [1, 2, 0]
    labels, texts = said_corpus()
    rng = np.random.default_rng(1)
    vectors = WordVectors({w: rng.normal(size=64) for words in NEWS.values() for w in words.split()})
    model = TopicClustering(TopicsConfig(n_topics=4), word_embedder=vectors).fit(planted_embeddings(labels), texts)
    plain = [list(words) for words in model.words_]
    for words in plain:  # each topic's second word made a synonym of its first, for the encoder
        vectors[words[1]] = vectors[words[0]]
    diverse = model.update_words(texts, mmr_diversity=0.5, top_n_words=3, mmr_candidates=10).words_  # from the 10 words above
    for before, after in zip(plain, diverse):
        assert not {before[0], before[1]} <= set(after) and len(after) == 3 and set(after) <= set(before)  # never both synonyms
    assert model.update_words(texts, mmr_diversity=0.0, top_n_words=3).words_ == [words[:3] for words in plain]
    with pytest.raises(ValueError, match="mmr_diversity"):
        TopicsConfig(mmr_diversity=1.5)


def test_two_word_phrases_are_topic_words_and_a_repeated_word_is_no_phrase():
    labels, texts = said_corpus()
    rng = np.random.default_rng(2)  # words shuffled: no two of them follow each other in 5 posts, but the phrases
    texts = [" ".join(rng.permutation(t.split())) + (" stanley cup" if y == "sport" else " ax ax ax ax" if y == "tech" else "")
             for y, t in zip(labels, texts)]
    X = planted_embeddings(labels)
    phrases = TopicClustering(TopicsConfig(n_topics=4, ngram_max=2)).fit(X, texts)
    sport = phrases.topics_[labels.index("sport")]
    assert "stanley cup" in phrases.words_[sport] and "ax ax" in phrases.vocabulary_
    assert not any("ax ax" in words for words in phrases.words_)  # counted, never listed
    assert "ax" in phrases.words_[phrases.topics_[labels.index("tech")]]
    assert not any(" " in w for words in TopicClustering(TopicsConfig(n_topics=4)).fit(X, texts).words_ for w in words)  # the default
    assert all(" " not in token for token in phrases.analyzer()("the stanley cup final"))  # NPMI counts single words


def test_topics_over_time_by_hand():
    out = topics_over_time([0, 0, 1, 1, 1, 0], [0.0, 0.1, 0.5, 0.8, 0.9, 1.0], 2, periods=2)  # periods [0, .5) and [.5, 1]
    assert [p["counts"] for p in out["periods"]] == [[2, 0], [1, 3]]  # 0.5 opens the second period
    assert [p["shares"] for p in out["periods"]] == [[1.0, 0.0], [0.25, 0.75]] and [p["n_documents"] for p in out["periods"]] == [2, 4]
    assert out["topic_shares"] == [[1.0, 0.25], [0.0, 0.75]] and out["n_undated"] == 0 and out["time"].startswith("order")
    assert [(p["start"], p["end"]) for p in out["periods"]] == [(0.0, 0.5), (0.5, 1.0)]
    day = 86400.0
    out = topics_over_time([1, 0, 1], [1577836800.0, None, 1577836800.0 + 2 * day], 2, periods=2)  # 2020-01-01 and 01-03
    assert [(p["start"], p["end"]) for p in out["periods"]] == [("2020-01-01T00:00:00+00:00", "2020-01-02T00:00:00+00:00"),
                                                                ("2020-01-02T00:00:00+00:00", "2020-01-03T00:00:00+00:00")]
    assert [p["counts"] for p in out["periods"]] == [[0, 1], [0, 1]] and out["n_undated"] == 1 and out["time"] == "dates (UTC)"
    assert topics_over_time([0], None, 1) is None and topics_over_time([0], [None], 1) is None


def test_a_run_with_dates_writes_each_topics_share_per_period_and_reports_it(corpus, tmp_path):
    # group g's posts are dated in period g only (the 7 groups are the 7 periods), one post has no date
    dates = [GROUPS.index(y) / 6 for y in corpus.labels]
    dates[0] = None
    docs = Documents(corpus.ids, corpus.texts, corpus.labels, dates)
    run_dir, _ = fit_topics_run(docs, tmp_path / "run", TopicsConfig(n_topics=7, time_periods=7), embeddings=planted_embeddings(corpus.labels))
    over_time, rows = read_json(run_dir / OVER_TIME_FILE), read_lines(run_dir / ASSIGNMENTS_FILE)
    assert over_time["n_undated"] == 1 and over_time["n_periods"] == 7
    for p, group in enumerate(GROUPS):
        topic = rows[corpus.labels.index(group, 1)]["topic"]
        period = over_time["periods"][p]
        assert period["n_documents"] == corpus.labels[1:].count(group)
        assert period["shares"] == [1.0 if t == topic else 0.0 for t in range(7)]
    report = (run_dir / TOPICS_REPORT_FILE).read_text(encoding="utf-8")
    assert "<h2>Topics over time</h2>" in report and "1 documents without a date" in report
    # the map: every post a point whose hover title is its id, topic, label and beginning
    labels = [t["label"] for t in read_json(run_dir / TOPICS_FILE)]
    for i in (1, 40):
        tip = f"{corpus.ids[i]} · topic {rows[i]['topic']}: {labels[rows[i]['topic']]}\n{snippet(corpus.texts[i], HOVER_CHARS)}"
        assert f"<title>{html.escape(tip)}</title></circle>" in report
    saved = fit_topics_run(docs, tmp_path / "again", TopicsConfig(n_topics=7, time_periods=7), embeddings=planted_embeddings(corpus.labels))[0]
    assert (saved / OVER_TIME_FILE).read_bytes() == (run_dir / OVER_TIME_FILE).read_bytes()


def close_pair_embeddings(labels: list[str]) -> np.ndarray:
    """The 7 groups on 7 axes, but soc.religion.christian half-way toward alt.atheism (cosine 0.71)."""
    directions = {g: np.eye(16)[j] for j, g in enumerate(GROUPS)}
    directions["soc.religion.christian"] = np.eye(16)[0] + np.eye(16)[6]
    return embeddings_from(labels, directions)


def test_the_hierarchy_merges_the_closest_topics_first_and_reducing_follows_it(corpus, tmp_path):
    X = close_pair_embeddings(corpus.labels)
    run_dir, _ = fit_topics_run(corpus, tmp_path / "run", TopicsConfig(n_topics=7), embeddings=X)
    rows, topics = read_lines(run_dir / ASSIGNMENTS_FILE), read_json(run_dir / TOPICS_FILE)
    topic_of = {g: rows[corpus.labels.index(g, 1)]["topic"] for g in GROUPS}
    pair = sorted([topic_of["alt.atheism"], topic_of["soc.religion.christian"]])
    tree = read_json(run_dir / HIERARCHY_FILE)
    assert len(tree["merges"]) == 6 and tree["merges"][-1]["topics"] == list(range(7))
    first = tree["merges"][0]
    assert first["topics"] == pair and sorted(first["children"]) == pair and first["node"] == 7
    assert first["size"] == sum(topics[t]["size"] for t in pair) and first["distance"] < 0.5 < tree["merges"][1]["distance"]
    atheism = set(topics[topic_of["alt.atheism"]]["words"]) | set(topics[topic_of["soc.religion.christian"]]["words"])
    assert set(first["words"]) <= atheism and len(first["words"]) == 5
    report = (run_dir / TOPICS_REPORT_FILE).read_text(encoding="utf-8")
    assert "<h2>Hierarchy</h2>" in report
    # six topics: the first merge of the tree, every document assigned as transform assigns it
    six, metrics = reduce_topics_run(run_dir, 6, output=tmp_path / "six")
    reduced = read_lines(six / ASSIGNMENTS_FILE)
    model = TopicClustering.load(six / MODEL_DIR)
    assert model.transform(X)[0].tolist() == [r["topic"] for r in reduced] and len(model.centroids_) == metrics["n_topics"] == 6
    merged = {r["topic"] for r, y in zip(reduced, corpus.labels) if y in ("alt.atheism", "soc.religion.christian")}
    assert len(merged) == 1 and len({r["topic"] for r in reduced}) == 6
    run = read_json(six / RUN_FILE)
    assert run["reduced_from"]["n_topics"] == 7 and sorted(map(len, run["reduced_from"]["merged"])) == [1, 1, 1, 1, 1, 2]
    assert pair in run["reduced_from"]["merged"] and run["classes"] == [t["label"] for t in read_json(six / TOPICS_FILE)]
    assert len(read_json(run_dir / TOPICS_FILE)) == 7  # the run reduced is left as it was
    with pytest.raises(ValueError, match="from 2 to 6"):
        reduce_topics_run(run_dir, 7)


def seeded_corpus() -> tuple[list[str], list[str], np.ndarray]:
    """Four groups of 20: g1 and g2 close (cosine 0.8), g3 and g4 less so (0.5), g1/g2 orthogonal to g3/g4. Three
    topics by plain k-means merge g1 and g2 (the cheaper merge)."""
    e = np.eye(16)
    directions = {"g1": e[0], "g2": 0.8 * e[0] + 0.6 * e[1], "g3": e[2], "g4": 0.5 * e[2] + 0.866 * e[3]}
    words = {"g1": "alpha apple arrow", "g2": "beta banana bridge", "g3": "gamma grape garden", "g4": "delta date door"}
    labels = [g for g in directions for _ in range(20)]
    texts = [f"{words[g]} {words[g]} post" for g in labels]
    return labels, texts, embeddings_from(labels, directions)


def test_seed_words_steer_the_clustering(tmp_path):
    # a post more like a seed than like the corpus' mean is pulled 3:1 toward it (BERTopic's guided topics)
    guide = _Guide(["a"], np.array([[0.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 0.0]]))  # the seed, then the mean
    posts = np.array([[0.6, 0.8], [1.0, 0.0]])
    assert guide.label(posts).tolist() == [0, -1]
    np.testing.assert_allclose(guide.pull(posts, guide.label(posts)), [[1.8 / 14.8 ** 0.5, 3.4 / 14.8 ** 0.5], [1.0, 0.0]])
    labels, texts, X = seeded_corpus()
    e = np.eye(16)
    vectors = WordVectors({"alpha": e[0], "apple": e[0], "beta": 0.8 * e[0] + 0.6 * e[1], "banana": 0.8 * e[0] + 0.6 * e[1]})

    def groups_apart(model) -> bool:
        return model.topics_[labels.index("g1")] != model.topics_[labels.index("g2")]

    plain = TopicClustering(TopicsConfig(n_topics=3)).fit(X, texts)
    assert not groups_apart(plain)  # unseeded: g1 and g2 share a topic
    seeds = [("fruit a", ["alpha", "apple"]), ("fruit b", ["beta", "banana"])]
    seeded = TopicClustering(TopicsConfig(n_topics=3), word_embedder=vectors, seed_topic_list=seeds).fit(X, texts)
    topic = {g: seeded.topics_[labels.index(g)] for g in ("g1", "g2", "g3", "g4")}
    assert groups_apart(seeded) and topic["g3"] == topic["g4"]  # seeded: g1 and g2 apart, g3 and g4 merged instead
    assert all((seeded.topics_[[i for i, y in enumerate(labels) if y == g]] == topic[g]).all() for g in topic)
    assert seeded.seeds_[topic["g1"]] == ["fruit a"] and seeded.seeds_[topic["g2"]] == ["fruit b"] and seeded.seeds_[topic["g3"]] == []
    # the same from a file, through a run: topics.json says which topic each seed became
    (tmp_path / "seeds.yaml").write_text("fruit a: [alpha, apple]\nfruit b: beta, banana\n", encoding="utf-8")
    docs = Documents([f"d{i}" for i in range(len(texts))], texts, labels)
    run_dir, _ = fit_topics_run(docs, tmp_path / "run", TopicsConfig(n_topics=3, seed_topics=str(tmp_path / "seeds.yaml")), embeddings=X,
                                word_embedder=vectors)
    saved = read_json(run_dir / TOPICS_FILE)
    assert [t["seeds"] for t in saved] == seeded.seeds_ and [r["topic"] for r in read_lines(run_dir / ASSIGNMENTS_FILE)] == seeded.topics_.tolist()
    assert TopicClustering.load(run_dir / MODEL_DIR).transform(X)[0].tolist() == seeded.topics_.tolist()
    with pytest.raises(ValueError, match="4 seed topics but n_topics=2: give at least as many topics as seed topics"):
        TopicClustering(TopicsConfig(n_topics=2), word_embedder=vectors, seed_topic_list=seeds * 2).fit(X, texts)


def test_a_seed_file_is_read_in_three_forms_and_a_bad_one_names_the_format(tmp_path):
    expected = [("space", ["orbit", "launch", "nasa"]), ("hockey", ["nhl", "puck"])]
    forms = {"s.yaml": "space: [orbit, launch, nasa]\nhockey: nhl puck\n", "s.json": '{"space": ["orbit", "launch", "nasa"], "hockey": ["nhl", "puck"]}',
             "s.txt": "# seed topics\nspace: orbit, launch nasa\n\nhockey: nhl puck\n"}
    for name, text in forms.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert read_seed_topics(tmp_path / name) == expected, name
    (tmp_path / "l.yaml").write_text("- [orbit, nasa]\n- [nhl]\n", encoding="utf-8")
    assert read_seed_topics(tmp_path / "l.yaml") == [("seed 0", ["orbit", "nasa"]), ("seed 1", ["nhl"])]
    (tmp_path / "w.txt").write_text("orbit nasa\n", encoding="utf-8")
    assert read_seed_topics(tmp_path / "w.txt") == [("seed 0", ["orbit", "nasa"])]
    bad = {"b.yaml": "space:\n", "c.yaml": "just words", "d.txt": "\n# nothing\n", "e.yaml": "space: [orbit\n", "f.txt": "space:\n"}
    for name, text in bad.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(DataError, match=r"expected YAML or JSON like \{space: \[orbit, launch, nasa\]"):
            read_seed_topics(tmp_path / name)
    with pytest.raises(DataError, match="cannot read"):
        read_seed_topics(tmp_path / "missing.yaml")
    with pytest.raises(DataError, match="expected YAML or JSON like"):  # a run fails on it before any work
        fit_topics_run(Documents(["a", "b"], ["x", "y"], ["", ""]), tmp_path / "run", TopicsConfig(seed_topics=str(tmp_path / "b.yaml")))
    assert not (tmp_path / "run").exists()


def test_an_update_embeds_only_the_new_posts_moves_the_topics_and_says_how_far(corpus, tmp_path, monkeypatch):
    import topicfit.embeddings

    X = planted_embeddings(corpus.labels, seed=3)
    old = [i for i, y in enumerate(corpus.labels) if "test" not in corpus.ids[i]]
    new = [i for i in range(len(corpus)) if i not in old]
    old_docs, new_docs = corpus.select(old), corpus.select(new)
    run_dir, _ = fit_topics_run(old_docs, tmp_path / "run", TopicsConfig(n_topics=7), embeddings=X[old])
    before = TopicClustering.load(run_dir / MODEL_DIR)
    seen = []

    def fake_embed(texts, **settings):
        seen.extend(texts)
        return X[new]

    monkeypatch.setattr(topicfit.embeddings, "embed_texts", fake_embed)
    _, entry = update_topics_run(run_dir, Documents(new_docs.ids, new_docs.texts, [""] * len(new)))
    assert seen == new_docs.texts  # only the new posts reach the encoder
    every = np.load(run_dir / EMBEDDINGS_FILE)
    np.testing.assert_array_equal(every, X[old + new])
    rows = read_lines(run_dir / ASSIGNMENTS_FILE)
    after = TopicClustering.load(run_dir / MODEL_DIR)
    assert [r["id"] for r in rows] == old_docs.ids + new_docs.ids and after.transform(every)[0].tolist() == [r["topic"] for r in rows]
    # each topic's centre: the old centre times its mass, plus the new posts it took first, normalised
    first = before.transform(X[new])[0]
    has_text = np.array([bool(t.strip()) for t in new_docs.texts])  # a blank post is assigned, but moves no topic
    assert not has_text.all()
    for t, row in enumerate(entry["topics"]):
        moved = before.centroids_[t] * before.mass_[t] + X[new][(first == t) & has_text].astype(np.float64).sum(axis=0)
        moved = moved / np.linalg.norm(moved)
        np.testing.assert_allclose(after.centroids_[t], moved, atol=1e-6)
        assert row["centroid_shift"] == pytest.approx(1 - float(before.centroids_[t] @ moved), abs=1e-5)
        assert row["new_posts"] == int((first == t).sum()) > 0 and row["size_after"] == row["size_before"] + row["new_posts"]
        assert row["word_overlap"] == 1.0 and row["words_after"] == after.words_[t]
    assert entry["n_new"] == len(new) and entry["old_documents_moved"] == 0 and 0 < entry["max_centroid_shift"] < 0.05
    assert read_json(run_dir / UPDATES_FILE) == [entry] and read_json(run_dir / RUN_FILE)["updates"] == 1
    assert "<h2>Last update (of 1)</h2>" in (run_dir / TOPICS_REPORT_FILE).read_text(encoding="utf-8")
    with pytest.raises(DataError, match="ids the run already holds"):
        update_topics_run(run_dir, new_docs, embeddings=X[new])


def test_update_and_reduce_from_the_command_line_keep_transform_equal_to_the_saved_assignments(tiny_env, tiny_bert, tmp_path, capsys):
    from topicfit.cli import main

    run = tmp_path / "topics"
    assert main(["-q", "topics", "--model", str(tiny_bert), "--n-topics", "5", "--max-length", "32", "--output", str(run)]) == 0
    capsys.readouterr()
    lines = ["text"] + [f"{TOPICS[g]} and more about it {i}" for i, g in enumerate(GROUPS)]
    (tmp_path / "new.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["-q", "topics", str(run), "--update", str(tmp_path / "new.csv")]) == 0
    assert json.loads(capsys.readouterr().out.split("run written")[0])["n_new"] == 7
    assert main(["-q", "topics", str(run), "--n-topics", "3", "--output", str(tmp_path / "three")]) == 0
    for folder, k in ((run, 5), (tmp_path / "three", 3)):
        rows = read_lines(folder / ASSIGNMENTS_FILE)
        texts = [json.loads(line)["text"] for line in __import__("gzip").open(folder / "documents.jsonl.gz", "rt")]
        clf = DiscoveredTopicsClassifier.load(folder / MODEL_DIR, run=read_json(folder / RUN_FILE))
        assert len(rows) == 84 + 7 and len(read_json(folder / TOPICS_FILE)) == k
        assert clf.transform(texts)[0].tolist() == [r["topic"] for r in rows]  # the texts embedded again, assigned as saved
    capsys.readouterr()
    assert main(["topics", str(run)]) == 2
    assert "--names FILE, --update FILE or --n-topics K" in capsys.readouterr().err
