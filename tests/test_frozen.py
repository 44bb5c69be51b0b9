"""Where a frozen encoder runs: auto keeps the fastest runtime whose embeddings agree with fp32, and caches it."""

import json
import uuid

import numpy as np
import pytest

from topicfit import embeddings, frozen
from topicfit.frozen import bare_encoder, load_pooler


@pytest.fixture()
def encoder(tiny_bert):
    tokenizer, model = bare_encoder(str(tiny_bert))
    ids = [tokenizer(f"orbit launch {'word ' * i}")["input_ids"] for i in range(20)]
    return str(tiny_bert), tokenizer, model, ids


def test_openvino_embeddings_agree_with_pytorch(encoder):
    name, tokenizer, model, ids = encoder
    batches = frozen._probe_batches(ids, 8, 0)
    torch_out = np.concatenate([frozen.TorchPooler(model, "fp32")(*b) for b in batches])
    ov = load_pooler(name, tokenizer, model, ids, backend="openvino")
    ov_out = np.concatenate([ov(*b) for b in batches])
    cosine = (frozen._normalised(torch_out) * frozen._normalised(ov_out)).sum(1)
    assert cosine.min() > frozen.MIN_COSINE


def test_auto_takes_the_fastest_that_agrees_and_caches_it(encoder, monkeypatch):
    name, tokenizer, model, ids = encoder
    speeds = {"torch": 2.0, "openvino": 1.0}  # seconds per pass: openvino is faster
    monkeypatch.setattr(frozen, "_timed_pass", lambda pooler, batches: speeds[pooler.name])
    assert load_pooler(name, tokenizer, model, ids, batch_size=8).name == "openvino"
    cached = json.loads((frozen._folder() / frozen.CHOICE_FILE).read_text())
    entry = next(v for k, v in cached.items() if k.startswith(f"{name.rsplit('/', 1)[-1]} | 256 tokens | batch 8"))
    assert entry["backend"] == "openvino" and entry["seconds_per_token"]["torch"] == 2.0 / entry["probe_tokens"]
    speeds.update(torch=0.5)  # the machine changed its mind, but the choice is cached: no probe again
    assert load_pooler(name, tokenizer, model, ids, batch_size=8).name == "openvino"


def test_auto_leaves_out_a_runtime_whose_embeddings_differ(encoder, monkeypatch):
    name, tokenizer, model, ids = encoder
    monkeypatch.setattr(frozen.OpenVinoPooler, "__call__", lambda self, i, m: np.random.default_rng(0).normal(size=(len(i), 32)))
    monkeypatch.setattr(frozen, "_timed_pass", lambda pooler, batches: {"torch": 2.0, "openvino": 0.1}[pooler.name])
    assert load_pooler(name, tokenizer, model, ids, batch_size=4).name == "torch"
    cached = json.loads((frozen._folder() / frozen.CHOICE_FILE).read_text())
    entry = next(v for k, v in cached.items() if "batch 4 |" in k)
    assert "differ from PyTorch fp32" in entry["excluded"]["openvino"]


def test_uncached_block_neither_reads_nor_writes_the_cache(tiny_bert):
    alpha, beta, gamma, delta = (f"{w} {uuid.uuid4().hex}" for w in ("alpha", "beta", "gamma", "delta"))  # never cached by another test
    stats: dict = {}
    embeddings.embed_texts([alpha, beta], model=str(tiny_bert), max_length=16, stats=stats)
    assert stats["texts_embedded"] == 2
    with embeddings.uncached():
        again: dict = {}
        embeddings.embed_texts([alpha, gamma], model=str(tiny_bert), max_length=16, stats=again)
    assert again["texts_embedded"] == 2 and again["texts_from_cache"] == 0
    assert embeddings.cached_fraction([alpha, beta, gamma, delta], model=str(tiny_bert), max_length=16) == 0.5  # gamma never written
