"""Shared fixtures: a tiny corpus in the 20news-bydate layout, tiny random BERT/DistilBERT models, the real archive."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from topicfit.data import DATA_ENV

# a handful of groups across the 7 coarse categories, with words that make them learnable
TOPICS = {
    "alt.atheism": "god atheism belief religion argument",
    "comp.graphics": "image graphics render pixel format",
    "misc.forsale": "sale price shipping offer condition",
    "rec.autos": "car engine drive wheel dealer",
    "sci.space": "orbit launch nasa shuttle moon",
    "soc.religion.christian": "church jesus christian prayer bible",
    "talk.politics.guns": "gun firearms law weapon rights",
}


def message(group: str, i: int, *, body: str | None = None) -> str:
    words = TOPICS[group].split()
    text = body if body is not None else " ".join(words[(i + k) % len(words)] for k in range(12))
    return (
        f"From: user{i}@example.com\nSubject: about {words[0]} {i}\nOrganization: Example\n"
        f"Lines: 5\n\n{text}\n\nIn article <{i}@x> someone writes:\n> quoted {words[1]}\n\n--\nsignature line {i}\n"
    )


def build_corpus(root: Path, n_train: int = 8, n_test: int = 4) -> Path:
    """A 20news-bydate style folder with ``n_train``/``n_test`` messages per group (one empty after cleaning)."""
    for split, n in (("20news-bydate-train", n_train), ("20news-bydate-test", n_test)):
        for g in TOPICS:
            folder = root / split / g
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                body = "" if (g == "misc.forsale" and i == 0) else None
                (folder / str(1000 + i)).write_bytes(message(g, i, body=body).encode("latin-1"))
    return root


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def tiny_archive(tiny_corpus, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("archive") / "20news-bydate.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for split in ("20news-bydate-train", "20news-bydate-test"):
            tar.add(tiny_corpus / split, arcname=split)
    return path


@pytest.fixture(scope="session")
def full_archive() -> Path:
    """The real corpus from $TOPICFIT_DATA; tests that need it skip when it is not set (CI sets it)."""
    value = os.environ.get(DATA_ENV)
    if not value or not Path(value).exists():
        pytest.skip(f"set {DATA_ENV} to the 20news-bydate archive to run this test")
    return Path(value)


def _tiny_model(kind: str, folder: Path) -> Path:
    from transformers import (BertConfig, BertForSequenceClassification, BertTokenizer, DistilBertConfig,
                              DistilBertForSequenceClassification, DistilBertTokenizer, MPNetConfig, MPNetForSequenceClassification)

    from topicfit.weights import minilm_dir

    vocab = minilm_dir(verify=False) / "vocab.txt"
    if kind == "bert":
        config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=64, max_position_embeddings=512)
        model, tok = BertForSequenceClassification(config), BertTokenizer(vocab=str(vocab), do_lower_case=True)
    elif kind == "mpnet":  # MPNet's graph (relative position bias) with a BERT tokenizer: what export must handle
        config = MPNetConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                             max_position_embeddings=514, pad_token_id=0)
        model, tok = MPNetForSequenceClassification(config), BertTokenizer(vocab=str(vocab), do_lower_case=True)
    else:
        config = DistilBertConfig(vocab_size=30522, dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=512)
        model, tok = DistilBertForSequenceClassification(config), DistilBertTokenizer(vocab=str(vocab), do_lower_case=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    return _tiny_model("bert", tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_mpnet(tmp_path_factory) -> Path:
    return _tiny_model("mpnet", tmp_path_factory.mktemp("tiny-mpnet"))


@pytest.fixture(scope="session")
def tiny_distilbert(tmp_path_factory) -> Path:
    return _tiny_model("distilbert", tmp_path_factory.mktemp("tiny-distilbert"))


@pytest.fixture()
def users_csv(tmp_path) -> list[str]:
    """The data flags of a user's CSV (tmp_path/d.csv): three labels, one rare (4 posts of 28), a random validation split."""
    rows = ["text,label"] + [f"{w} {w} story {i},{lab}" for lab, w, n in (("space", "rocket", 12), ("cars", "engine", 12), ("food", "bread", 4))
                             for i in range(n)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    return ["--dataset", str(tmp_path / "d.csv"), "--validation-split", "random", "--validation-size", "0.25"]


@pytest.fixture()
def loss_labels(monkeypatch) -> list:
    """Every label tensor a fine-tuned transformer's loss is given (training and evaluation batches), in order."""
    from topicfit.kinds import transformer

    seen = []
    original = transformer.weighted_loss

    def spy(weights=None, **options):
        loss = original(weights, **options)

        def recording(outputs, labels, num_items_in_batch=None):
            seen.append(labels.detach().clone())
            return loss(outputs, labels, num_items_in_batch)

        return recording

    monkeypatch.setattr(transformer, "weighted_loss", spy)
    return seen


@pytest.fixture()
def tiny_env(tiny_archive, monkeypatch):
    """Point $TOPICFIT_DATA at the tiny archive for CLI tests."""
    monkeypatch.setenv(DATA_ENV, str(tiny_archive))
    return tiny_archive


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Embeddings and assembled weights that tests write go to a temporary cache, never the user's."""
    from topicfit.weights import CACHE_ENV

    old = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = old
