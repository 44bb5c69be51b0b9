"""Topic discovery: every document assigned, outliers flagged, reproducible bytes, transform == fit, planted
words found, markup and everywhere-words kept out of the topic words, readable distinct labels, each document's
top topics, report snippets, NPMI/diversity by hand, renaming and merging, unlabelled files, the mini-batch mode."""

from __future__ import annotations

import html
import json
import math
import shutil

import numpy as np
import pytest

from topicfit.data import Documents, load_newsgroups, load_table
from topicfit.errors import DataError, ModelError
from topicfit.kinds.topics import TopicsClassifier
from topicfit.runs import METRICS_FILE, MODEL_DIR, RUN_FILE, read_json
from topicfit.topics import (ASSIGNMENTS_FILE, LABELLED_FILE, TOPICS_FILE, TOPICS_REPORT_FILE, TopicModel, TopicsConfig,
                             fit_topics_run, label_metrics, npmi, rename_topics, topic_diversity, topic_labels)
from topicfit.topics_report import snippet

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
    assert "http" not in report and report.count('src="data:image/png;base64,') == 4  # map, words, sizes, topics x labels


def test_each_document_lists_its_top_topics_the_first_being_its_topic(corpus, tmp_path):
    X = planted_embeddings(corpus.labels, far=(3, 40))
    run_dir, _ = fit_topics_run(corpus, tmp_path / "run", TopicsConfig(n_topics=7), embeddings=X)
    rows = read_lines(run_dir / ASSIGNMENTS_FILE)
    proba = TopicModel.load(run_dir / MODEL_DIR).predict_proba(X)
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
    model = TopicModel.load(run_dir / MODEL_DIR)
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

    def fit(**settings) -> TopicModel:
        return TopicModel(TopicsConfig(n_topics=4, **{**plain, **settings})).fit(X, texts)

    assert [words[0] for words in fit().words_] == ["said"] * 4  # plain c-TF-IDF: "said" leads every topic
    for settings in ({"reduce_frequent_words": True}, {"bm25_weighting": True}):  # each, on its own, drops "said"
        for words in fit(**settings).words_:
            assert "said" not in words and sorted(words) in [sorted(w.split()) for w in NEWS.values()]
    assert sum("said" in words for words in fit(word_max_topics=2).words_) == 2  # listed by the 2 topics it scores highest in
    once = fit(word_max_topics=1)
    assert sum("said" in words for words in once.words_) == 1 and topic_diversity(once.words_) == 1.0
    model = TopicModel(TopicsConfig(n_topics=4)).fit(X, texts)  # the defaults
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
    for name in (ASSIGNMENTS_FILE, TOPICS_FILE, TOPICS_REPORT_FILE, "documents.jsonl.gz", *model_files):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    timing = ("seconds", "fit_seconds", "peak_memory_mb", "embed_seconds", "texts_embedded", "texts_from_cache")
    assert {k: v for k, v in first_metrics.items() if k not in timing} == {k: v for k, v in second_metrics.items() if k not in timing}


def test_saved_model_reproduces_the_fit_exactly(corpus, bert_run):
    run_dir, _, config = bert_run
    rows = read_lines(run_dir / ASSIGNMENTS_FILE)
    clf = TopicsClassifier.load(run_dir / MODEL_DIR, run=read_json(run_dir / RUN_FILE))
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
    model = TopicModel(TopicsConfig(n_topics=None)).fit(planted_embeddings(corpus.labels), corpus.texts)
    assert len(model.centroids_) == 7 and max(model.silhouettes_, key=model.silhouettes_.get) == 7
    X = planted_embeddings(corpus.labels)
    assert len(TopicModel(TopicsConfig(clusterer="hdbscan")).fit(X, corpus.texts).centroids_) == 7
    merged = TopicModel(TopicsConfig(clusterer="hdbscan", n_topics=4)).fit(X, corpus.texts)  # HDBSCAN's 7, merged to 4
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
    clf = TopicsClassifier.load(run_dir / MODEL_DIR, run=run)
    classes = list(clf.classes_)
    assert classes == run["classes"] == ["merged", "third", *[t["label"] for t in topics[3:]]]
    per_topic = clf.model_.predict_proba(clf.embed(corpus.texts))
    proba = clf.predict_proba(corpus.texts)
    np.testing.assert_allclose(proba[:, 0], per_topic[:, 0] + per_topic[:, 1])
    np.testing.assert_allclose(proba[:, 1:], per_topic[:, 2:])
    predicted = clf.predict(corpus.texts)
    sure = [i for i, r in enumerate(rows) if per_topic[i, r["topic"]] > 0.5]
    assert sure and all(predicted[i] == expected[i] for i in sure)
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
    model = TopicModel.load(run_dir / MODEL_DIR)
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
