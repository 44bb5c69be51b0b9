import numpy as np
import pytest

from topicfit.data import DataConfig, load_splits
from topicfit.train import (BUNDLED_SHA256, ModelError, TrainConfig, TransformerClassifier, bundled_model_dir, choose_precision,
                            encode, resolve_model)


def _fit(model_dir, splits, tmp_path, **overrides):
    settings = dict(model=str(model_dir), epochs=4, learning_rate=5e-3, batch_size=8, max_length=32, precision="fp32", seed=1)
    clf = TransformerClassifier(TrainConfig(**{**settings, **overrides}), output_dir=tmp_path / "run")
    return clf.fit(splits.train.texts, splits.train.labels, X_val=splits.validation.texts, y_val=splits.validation.labels, classes=splits.classes)


@pytest.mark.parametrize("fixture", ["tiny_bert", "tiny_distilbert"])
def test_training_lowers_the_loss_and_save_load_is_identical(fixture, request, tiny_corpus, tmp_path):
    model_dir = request.getfixturevalue(fixture)
    splits = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25))
    clf = _fit(model_dir, splits, tmp_path)
    losses = [h["loss"] for h in clf.history_ if "loss" in h]
    assert losses[-1] < losses[0]
    assert clf.best_epoch_ is not None and list(clf.classes_) == list(splits.classes)
    assert clf.model_.config.id2label == dict(enumerate(splits.classes))
    before = clf.predict_proba(splits.test.texts)
    assert before.shape == (len(splits.test), len(splits.classes)) and np.allclose(before.sum(axis=1), 1, atol=1e-5)
    clf.save(tmp_path / "saved")
    assert (tmp_path / "saved" / "model.safetensors").exists()
    again = TransformerClassifier.load(tmp_path / "saved")
    assert np.allclose(again.predict_proba(splits.test.texts), before, atol=1e-6)
    assert again.predict(splits.test.texts) == clf.predict(splits.test.texts)


def test_distilbert_checkpoint_loads_as_distilbert(tiny_distilbert, tiny_corpus, tmp_path):
    splits = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25))
    clf = _fit(tiny_distilbert, splits, tmp_path, epochs=1)
    assert type(clf.model_).__name__ == "DistilBertForSequenceClassification"


def test_head_and_tail_truncation(tiny_bert):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_bert)
    text = "alpha " + "filler " * 100 + "omega"
    head = encode(tok, [text], max_length=16, truncation="head")[0]
    both = encode(tok, [text], max_length=16, truncation="head+tail")[0]
    assert len(head) == len(both) == 16
    assert head[0] == tok.cls_token_id and head[-1] == tok.sep_token_id
    omega = tok.convert_tokens_to_ids("omega")
    assert omega in both and omega not in head
    assert encode(tok, ["short"], max_length=16)[0] == tok("short")["input_ids"]


def test_class_weights_and_resume(tiny_bert, tiny_corpus, tmp_path):
    splits = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25))
    clf = _fit(tiny_bert, splits, tmp_path, epochs=1, class_weight="balanced")
    assert list((tmp_path / "run" / "checkpoints").glob("checkpoint-*"))
    # resuming a finished schedule from its last checkpoint trains no further and keeps working
    resumed = TransformerClassifier(clf.config, output_dir=tmp_path / "run").fit(
        splits.train.texts, splits.train.labels, X_val=splits.validation.texts, y_val=splits.validation.labels,
        classes=splits.classes, resume=True)
    assert resumed.predict(splits.test.texts[:2])


def test_bundled_model_is_verified():
    folder = bundled_model_dir()
    assert (folder / "model.safetensors").exists() and len(BUNDLED_SHA256) == 64
    assert resolve_model("minilm") == str(folder)
    assert resolve_model("distilbert") == "distilbert-base-uncased"


def test_missing_model_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    clf = TransformerClassifier(TrainConfig(model="no-such-org/no-such-model"))
    with pytest.raises(ModelError, match="--model"):
        clf.fit(["a", "b"], ["x", "y"])


def test_config_validation_and_precision():
    with pytest.raises(ValueError, match="truncation"):
        TrainConfig(truncation="middle")
    assert TrainConfig.from_dict(TrainConfig(epochs=2).to_dict()) == TrainConfig(epochs=2)
    assert choose_precision("fp32") == "fp32" and choose_precision("auto") in ("bf16", "fp16", "fp32")


@pytest.mark.slow
def test_bundled_minilm_fine_tunes_for_a_few_steps(tiny_corpus, tmp_path):
    splits = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25))
    clf = TransformerClassifier(TrainConfig(model="minilm", epochs=2, batch_size=8, max_length=32, learning_rate=2e-4), output_dir=tmp_path)
    clf.fit(splits.train.texts, splits.train.labels, X_val=splits.validation.texts, y_val=splits.validation.labels, classes=splits.classes)
    losses = [h["loss"] for h in clf.history_ if "loss" in h]
    assert losses[-1] < losses[0]
    assert type(clf.model_).__name__ == "BertForSequenceClassification"
    assert np.mean(np.array(clf.predict(splits.test.texts)) == np.array(splits.test.labels)) > 1 / len(splits.classes)
