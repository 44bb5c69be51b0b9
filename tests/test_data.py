import codecs
import json
import pickle
import tarfile
from collections import Counter

import pytest

from topicfit.data import (DataConfig, DataError, clean_text, load_newsgroups, load_splits, load_table,
                           strip_newsgroup_footer, strip_newsgroup_header, strip_newsgroup_quoting)

from .conftest import TOPICS

TRAIN_COUNTS = {
    "alt.atheism": 480, "comp.graphics": 584, "comp.os.ms-windows.misc": 591, "comp.sys.ibm.pc.hardware": 590,
    "comp.sys.mac.hardware": 578, "comp.windows.x": 593, "misc.forsale": 585, "rec.autos": 594, "rec.motorcycles": 598,
    "rec.sport.baseball": 597, "rec.sport.hockey": 600, "sci.crypt": 595, "sci.electronics": 591, "sci.med": 594,
    "sci.space": 593, "soc.religion.christian": 599, "talk.politics.guns": 546, "talk.politics.mideast": 564,
    "talk.politics.misc": 465, "talk.religion.misc": 377,
}
TEST_COUNTS = {
    "alt.atheism": 319, "comp.graphics": 389, "comp.os.ms-windows.misc": 394, "comp.sys.ibm.pc.hardware": 392,
    "comp.sys.mac.hardware": 385, "comp.windows.x": 395, "misc.forsale": 390, "rec.autos": 396, "rec.motorcycles": 398,
    "rec.sport.baseball": 397, "rec.sport.hockey": 399, "sci.crypt": 396, "sci.electronics": 393, "sci.med": 396,
    "sci.space": 394, "soc.religion.christian": 398, "talk.politics.guns": 364, "talk.politics.mideast": 376,
    "talk.politics.misc": 310, "talk.religion.misc": 251,
}


def test_cleaning_helpers():
    msg = "From: a@b\nSubject: x\n\nHello there\nIn article <1@x> bob writes:\n> quoted\nmy answer\n\n--\nBob\n"
    assert strip_newsgroup_header(msg).startswith("Hello there")
    assert "quoted" not in strip_newsgroup_quoting(msg) and "my answer" in strip_newsgroup_quoting(msg)
    assert "Bob" not in strip_newsgroup_footer(strip_newsgroup_header(msg))
    assert clean_text(msg) == "Hello there\nmy answer\n"
    with pytest.raises(ValueError, match="headers"):
        clean_text(msg, ("signatures",))


def test_folder_and_archive_give_the_same_documents(tiny_corpus, tiny_archive):
    a = load_newsgroups(data=tiny_corpus, subset="test")
    b = load_newsgroups(data=tiny_archive, subset="test")
    assert a == b
    assert len(a) == 4 * len(TOPICS)
    assert a.ids[0] == "20news-bydate-test/alt.atheism/1000"
    assert "From:" not in a.texts[0] and "signature" not in a.texts[0] and "quoted" not in a.texts[0]


def test_keep_headers_is_opt_in(tiny_corpus):
    splits = load_splits(DataConfig(data=str(tiny_corpus), keep_headers=True))
    assert any("Subject:" in t for t in splits.test.texts)
    assert not any("Subject:" in t for t in load_splits(DataConfig(data=str(tiny_corpus))).test.texts)


def test_splits_are_stratified_seeded_and_count_empty_documents(tiny_corpus):
    cfg = DataConfig(data=str(tiny_corpus), labels="coarse", validation_size=0.25)
    a, b = load_splits(cfg), load_splits(cfg)
    assert a.train.ids == b.train.ids and a.info["fingerprint"] == b.info["fingerprint"]
    assert set(a.validation.ids).isdisjoint(a.train.ids)
    assert len(a.train) + len(a.validation) == 8 * len(TOPICS)
    assert Counter(a.validation.labels) == {c: 2 for c in a.classes}
    assert a.info["empty_after_cleaning"] == {"train": 1, "test": 1}
    dropped = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25, drop_empty_train=True))
    assert len(dropped.train) + len(dropped.validation) == 8 * len(TOPICS) - 1
    assert len(dropped.test) == len(a.test)  # the test split is never touched


def test_missing_data_names_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("TOPICFIT_DATA", str(tmp_path / "nowhere.tar.gz"))
    with pytest.raises(DataError, match="TOPICFIT_DATA"):
        load_newsgroups(subset="train")


def test_user_csv_with_split(tmp_path):
    rows = ["text,label,doc"] + [f"post about {lab} number {i},{lab},d{lab}{i}" for lab in ("x", "y") for i in range(10)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    splits = load_splits(DataConfig(dataset=str(tmp_path / "d.csv"), labels="identity", id_column="doc", validation_size=0.25))
    assert splits.classes == ("x", "y")
    assert len(splits.test) == 4 and splits.test.ids[0].startswith("d")


def test_user_jsonl_with_test_file(tmp_path):
    for name, n in (("train.jsonl", 12), ("test.jsonl", 4)):
        with open(tmp_path / name, "w") as f:
            for i in range(n):
                f.write(json.dumps({"body": f"text {i}", "topic": "ab"[i % 2]}) + "\n")
    splits = load_splits(DataConfig(dataset=str(tmp_path / "train.jsonl"), test_file=str(tmp_path / "test.jsonl"),
                                     labels="identity", text_column="body", label_column="topic", validation_size=0.25))
    assert len(splits.test) == 4 and splits.test.ids[0] == "test.jsonl:1"


def test_user_jsonl_keeps_unicode_line_separators_inside_a_text(tmp_path):
    """JSON Lines end at "\\n" only: U+2028 / U+2029 / U+0085 are valid raw inside a JSON string (json.dumps with
    ensure_ascii=False writes them so), and scraped text has them (a tweet corpus did)."""
    texts = ["a quote:\u2028it goes on", "two\u2029paragraphs", "next\x85line", "plain"]
    with open(tmp_path / "d.jsonl", "w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"text": t, "label": "ab"[i % 2]}, ensure_ascii=False) + "\n")
    docs = load_table(tmp_path / "d.jsonl")
    assert len(docs.texts) == 4 and docs.labels == ["a", "b", "a", "b"]
    assert "goes on" in docs.texts[0] and "paragraphs" in docs.texts[1]


def test_user_parquet(tmp_path):
    import pandas as pd

    pd.DataFrame({"text": ["a", "b", "c", "d"], "label": [1, 2, 1, 2]}).to_parquet(tmp_path / "d.parquet")
    docs = load_table(tmp_path / "d.parquet")
    assert docs.labels == ["1", "2", "1", "2"]


@pytest.mark.parametrize(
    "content, kwargs, message",
    [
        (b"body,label\nhello,a\n", {}, r"no column 'text' \(set --text-column\); found columns: body, label"),
        (b"text,label\nhello,a\nworld,\n", {}, r"row 2: empty label"),
        (b"text,label\nhello,a\n\xff\xfe bad,b\n", {}, r"line 3: not valid UTF-8"),
    ],
)
def test_user_file_errors_name_file_row_and_expectation(tmp_path, content, kwargs, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        load_table(path, **kwargs)
    assert "bad.csv" in str(info.value)


def test_one_class_and_bad_format_errors(tmp_path):
    (tmp_path / "one.csv").write_text("text,label\na,x\nb,x\nc,x\n")
    with pytest.raises(DataError, match="at least 2 classes"):
        load_splits(DataConfig(dataset=str(tmp_path / "one.csv"), labels="identity"))
    (tmp_path / "d.txt").write_text("x")
    with pytest.raises(DataError, match="unsupported file type"):
        load_table(tmp_path / "d.txt")
    (tmp_path / "bad.jsonl").write_text('{"text": "a", "label": "x"}\nnot json\n')
    with pytest.raises(DataError, match="line 2: not valid JSON"):
        load_table(tmp_path / "bad.jsonl")


@pytest.mark.corpus
def test_full_corpus_counts(full_archive):
    train, test = load_newsgroups(data=full_archive, subset="train"), load_newsgroups(data=full_archive, subset="test")
    assert (len(train), len(test)) == (11314, 7532)
    assert Counter(train.labels) == TRAIN_COUNTS and Counter(test.labels) == TEST_COUNTS
    assert test.labels[test.ids.index("20news-bydate-test/sci.space/61242")] == "sci.space"  # ids are archive paths
    assert train.ids[:1] == ["20news-bydate-train/alt.atheism/49960"] and len(set(train.ids) | set(test.ids)) == 18846
    assert (train.n_empty(), test.n_empty()) == (218, 162)


@pytest.mark.corpus
def test_cleaning_matches_scikit_learn(full_archive, tmp_path):
    """Build scikit-learn's offline cache from the same archive (recipe in PROVENANCE.md) and compare every text."""
    from sklearn.datasets import fetch_20newsgroups, load_files

    with tarfile.open(full_archive) as tar:
        tar.extractall(tmp_path / "extract", filter="data")
    cache = {split: load_files(tmp_path / "extract" / f"20news-bydate-{split}", encoding="latin1") for split in ("train", "test")}
    home = tmp_path / "sklearn_home"
    home.mkdir()
    (home / "20news-bydate_py3.pkz").write_bytes(codecs.encode(pickle.dumps(cache), "zlib_codec"))
    for split in ("train", "test"):
        ref = fetch_20newsgroups(data_home=home, subset=split, remove=("headers", "footers", "quotes"), download_if_missing=False)
        expected = {"/".join(str(f).replace("\\", "/").split("/")[-3:]): t for f, t in zip(ref.filenames, ref.data)}
        ours = load_newsgroups(data=full_archive, subset=split)
        assert len(expected) == len(ours)
        mismatched = [i for i, t in zip(ours.ids, ours.texts) if expected[i] != t]
        assert mismatched == []


def test_article_order_and_the_date_split(tiny_corpus):
    from topicfit.data import article_order

    assert article_order(["x/g/10", "x/g/2", "x/h/5"]) == [1.0, 0.0, 0.0]
    random_split = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25, validation_split="random"))
    by_date = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25, validation_split="date"))
    default = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25))  # auto: 20 Newsgroups has an order
    assert default.validation.ids == by_date.validation.ids and default.info["validation_split"] == "date"
    assert DataConfig.from_dict({"labels": "fine"}).validation_split == "random"  # a run saved before the option existed
    # each group's latest posts (highest article numbers: 1006, 1007 of 1000-1007) are held out
    assert sorted({i.split("/")[-1] for i in by_date.validation.ids}) == ["1006", "1007"]
    assert len(by_date.validation) == len(random_split.validation) == 14 and by_date.info["fingerprint"] != random_split.info["fingerprint"]


def test_date_split_on_user_data_needs_a_date_column(tmp_path):
    rows = ["text,label,when"] + [f"post {i},{lab},2024-01-{i + 1:02d}" for lab in ("a", "b") for i in range(10)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    config = dict(dataset=str(tmp_path / "d.csv"), labels="identity", validation_split="date", validation_size=0.2, test_size=0.2)
    with pytest.raises(DataError, match="--date-column"):
        load_splits(DataConfig(**config))
    auto = load_splits(DataConfig(**{**config, "validation_split": "auto"}))
    assert auto.info["validation_split"] == "random"  # no dates: the stratified random split
    splits = load_splits(DataConfig(**config, date_column="when"))
    held = [splits.validation.dates[i] for i in range(len(splits.validation))]
    for label in ("a", "b"):  # the validation posts are each class's latest training posts
        train_dates = [d for d, y in zip(splits.train.dates, splits.train.labels) if y == label]
        assert min(d for d, y in zip(held, splits.validation.labels) if y == label) > max(train_dates)
    (tmp_path / "bad.csv").write_text("text,label,when\nx,a,not a date\n")
    with pytest.raises(DataError, match="row 1: cannot read 'not a date'"):
        load_table(tmp_path / "bad.csv", date_column="when")


def test_rows_without_a_label_are_unlabelled_posts(tmp_path):
    rows = [{"text": f"post {i} about {'cats' if i % 2 else 'dogs'}", "label": ("cat" if i % 2 else "dog") if i < 20 else ""}
            for i in range(26)]
    path = tmp_path / "some.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    extra = tmp_path / "pool.csv"
    extra.write_text("text\nan unlabelled post\nanother one\n")
    splits = load_splits(DataConfig(dataset=str(path), labels="identity", validation_size=0.2, unlabelled=str(extra)))
    assert splits.unlabelled == [f"post {i} about {'cats' if i % 2 else 'dogs'}" for i in range(20, 26)] + ["an unlabelled post", "another one"]
    assert sum(len(d) for _, d in splits.items()) == 20 and splits.info["n_unlabelled"] == 8  # no unlabelled post in a split
    path.write_text("\n".join(json.dumps({**r, "label": ""}) for r in rows) + "\n")
    with pytest.raises(DataError, match="no row has a label in column 'label'"):
        load_splits(DataConfig(dataset=str(path), labels="identity"))
