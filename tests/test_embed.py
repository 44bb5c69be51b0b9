import json

import numpy as np

from topicfit import embeddings, encoders
from topicfit.cli import main
from topicfit.data import DataConfig, load_splits
from topicfit.kinds.embed import C_GRID, SVM_MAX_TRAIN, EmbedClassifier, EmbedConfig
from topicfit.predict import TopicClassifier


def test_embed_kind_fits_saves_and_reloads(tiny_bert, tiny_corpus, tmp_path):
    splits = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25))
    clf = EmbedClassifier(EmbedConfig(model=str(tiny_bert), max_length=16))
    clf.fit(splits.train.texts, splits.train.labels, X_val=splits.validation.texts, y_val=splits.validation.labels, classes=splits.classes)
    searched = [(r["head"], r["C"]) for r in clf.c_search_]
    assert searched == [(h, c) for h in ("logreg", "svm") for c in C_GRID]  # both heads and C chosen on validation
    best = min(clf.c_search_, key=lambda r: r["log_loss"])  # the lowest validation log-loss
    assert (clf.head_name_, clf.C_) == (best["head"], best["C"])
    assert clf.heads(SVM_MAX_TRAIN + 1) == ["logreg"]  # the kernel SVM's n^2 cost: left out of auto on big data
    assert clf.timings_["texts_embedded"] == len(set(splits.train.texts)) + len(set(splits.validation.texts) - set(splits.train.texts))
    before = clf.predict_proba(splits.test.texts)
    clf.save(tmp_path / "m")
    again = EmbedClassifier.load(tmp_path / "m", run={"model_config": clf.config.to_dict(), **clf.run_info()})
    assert np.allclose(again.predict_proba(splits.test.texts), before)
    assert (again.head_name_, again.C_) == (clf.head_name_, clf.C_)
    assert (clf.fold_copy().config.head, clf.fold_copy().config.C) == (clf.head_name_, clf.C_)


def test_svm_head_gives_calibrated_probabilities(tiny_bert, tiny_corpus):
    splits = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25))
    clf = EmbedClassifier(EmbedConfig(model=str(tiny_bert), max_length=16, head="svm", C=4.0))
    clf.fit(splits.train.texts, splits.train.labels, classes=splits.classes)  # head and C given: no validation needed
    assert clf.c_search_ == [] and clf.head_name_ == "svm"
    proba = clf.predict_proba(splits.test.texts)
    assert proba.shape == (len(splits.test), len(splits.classes)) and np.allclose(proba.sum(1), 1)
    assert type(clf.head_).__name__ == "SVC" and clf.head_.kernel == "rbf" and clf.head_.probability


def test_embeddings_are_cached_per_text(tiny_bert, monkeypatch):
    calls = []
    real = embeddings.mean_pooled

    def counting(tokenizer, model, texts, **kw):
        calls.append(list(texts))
        return real(tokenizer, model, texts, **kw)

    monkeypatch.setattr(embeddings, "mean_pooled", counting)
    first = embeddings.embed_texts(["alpha beta", "gamma"], model=str(tiny_bert), max_length=16)
    stats = {}
    again = embeddings.embed_texts(["gamma", "delta", "alpha beta", "gamma"], model=str(tiny_bert), max_length=16, stats=stats)
    assert calls == [["alpha beta", "gamma"], ["delta"]]  # only the new text reaches the encoder
    assert np.allclose(again[[2, 0]], first) and np.allclose(again[0], again[3])
    assert stats["texts_embedded"] == 1 and stats["texts_from_cache"] == 3
    assert np.allclose(np.linalg.norm(again, axis=1), 1, atol=1e-5)


def test_whole_documents_are_read_in_windows(tiny_bert):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_bert)
    text = " ".join(f"w{i}" for i in range(30))
    n_tokens = len(tok(text, add_special_tokens=False)["input_ids"])
    windows, owner = encoders.encode_windows(tok, [text, ""], max_length=16)  # 14 tokens a window, stride 7
    assert owner.count(1) == 1 and windows[owner.index(1)] == [tok.cls_token_id, tok.sep_token_id]
    first = [w for w, o in zip(windows, owner) if o == 0]
    assert len(first) == -(-(n_tokens - 14) // 7) + 1 and all(len(w) <= 16 for w in first)
    content = tok(text, add_special_tokens=False)["input_ids"]
    assert [t for w in first[::2] for t in w[1:-1]][: len(content)] == content[: len(content) // 14 * 14]  # nothing of the text is cut
    assert first[-1][-2] == content[-1]
    capped, owner = encoders.encode_windows(tok, [text], max_length=16, max_windows=3)
    assert len(capped) == 3 and capped[0] == first[0] and capped[-1] == first[-1]  # first and last kept, evenly spaced between
    assert encoders.encode_windows(tok, [text], max_length=16, max_windows=1)[0] == [first[0]]
    assert encoders.pooled_softmax(np.array([[0.0, 2.0], [2.0, 0.0], [1.0, 1.0]]), [0, 0, 1], 2).tolist() == [[0.5, 0.5], [0.5, 0.5]]


def test_embed_command_on_a_user_csv(tiny_bert, tmp_path, capsys):
    rows = ["text,label"] + [f"{w} {w} story {i},{lab}" for lab, w in (("space", "rocket"), ("cars", "engine")) for i in range(12)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    assert main(["-q", "embed", "--dataset", str(tmp_path / "d.csv"), "--model", str(tiny_bert), "--max-length", "16", "--C", "10",
                 "--output", str(tmp_path / "r"), "--validation-size", "0.25"]) == 0
    run = json.loads((tmp_path / "r" / "run.json").read_text())
    assert run["kind"] == "embed" and run["model_config"]["C"] == 10 and run["head"]["C"] == 10
    assert TopicClassifier.load(tmp_path / "r").predict(["rocket rocket story"]) == ["space"]


def test_every_other_layer_keeps_half_the_layers_with_their_weights(tiny_bert, tmp_path):
    import torch
    from transformers import AutoModel

    full = AutoModel.from_pretrained(str(tiny_bert))
    small_dir = encoders.every_other_layer(tiny_bert, tmp_path / "small")
    small = AutoModel.from_pretrained(str(small_dir))
    assert small.config.num_hidden_layers == 1 == len(small.encoder.layer)  # of 2: the last one kept
    assert torch.equal(small.encoder.layer[0].attention.self.query.weight, full.encoder.layer[1].attention.self.query.weight)
    assert encoders.every_other_layer(tiny_bert, tmp_path / "small") == small_dir  # built once
