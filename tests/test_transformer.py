import numpy as np
import pytest

import math

from topicfit.data import DataConfig, load_splits
from topicfit.encoders import choose_precision, encode, resolve_model
from topicfit.errors import ConfigError, ModelError
from topicfit.kinds import transformer
from topicfit.kinds.transformer import TrainConfig, TransformerClassifier, balanced_class_weights
from topicfit.weights import MINILM_SHA256, minilm_dir


def _fit(model_dir, splits, tmp_path, resume=False, callbacks=None, **overrides):
    settings = dict(model=str(model_dir), epochs=4, learning_rate=5e-3, batch_size=8, max_length=32, precision="fp32", seed=1)
    clf = TransformerClassifier(TrainConfig(**{**settings, **overrides}))
    return clf.fit(splits.train.texts, splits.train.labels, X_val=splits.validation.texts, y_val=splits.validation.labels,
                   classes=splits.classes, workdir=tmp_path / "run", resume=resume, callbacks=callbacks)


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


def test_balanced_class_weights_by_hand():
    # 4 labels, class 0 three times and class 1 once: 4 / (2 * 3) and 4 / (2 * 1)
    assert balanced_class_weights([0, 0, 0, 1], 2).tolist() == pytest.approx([2 / 3, 2.0])


def test_class_weights_reach_the_loss(tiny_bert, tiny_corpus, tmp_path, monkeypatch):
    splits = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25))
    keep = [i for i, y in enumerate(splits.train.labels) if y != "sci" or i % 3 == 0]  # make "sci" rare
    splits.train = splits.train.select(keep)
    seen, calls = [], []
    original = transformer.weighted_loss

    def spy(weights, **options):
        seen.append(weights.tolist())
        loss = original(weights, **options)

        def counted(*args, **kwargs):
            calls.append(1)
            return loss(*args, **kwargs)

        return counted

    monkeypatch.setattr(transformer, "weighted_loss", spy)
    _fit(tiny_bert, splits, tmp_path, epochs=1, class_weight="balanced")
    counts = {c: splits.train.labels.count(c) for c in splits.classes}
    expected = [len(splits.train) / (len(splits.classes) * counts[c]) for c in splits.classes]
    assert seen == [pytest.approx(expected)] and max(expected) > 1.5 * min(expected)
    # every training step's loss (and the validation loss, one batch of 16) went through the weights
    assert len(calls) == math.ceil(len(splits.train) / 8) + math.ceil(len(splits.validation) / 16)
    seen.clear()
    _fit(tiny_bert, splits, tmp_path / "plain", epochs=1)
    assert seen == []  # no class weights unless asked


def test_resume_continues_from_the_saved_step(tiny_bert, tiny_corpus, tmp_path):
    from transformers import TrainerCallback

    splits = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25))
    steps_per_epoch = math.ceil(len(splits.train) / 8)

    class StopAfterOneEpoch(TrainerCallback):  # an interruption after the first epoch's checkpoint
        def on_epoch_end(self, args, state, control, **kwargs):
            control.should_training_stop = True

    class FirstStep(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            steps.append(state.global_step)

    steps = []
    _fit(tiny_bert, splits, tmp_path, epochs=2, callbacks=[StopAfterOneEpoch()])
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("checkpoint-*")) == [f"checkpoint-{steps_per_epoch}"]
    resumed = _fit(tiny_bert, splits, tmp_path, epochs=2, resume=True, callbacks=[FirstStep()])
    assert steps[0] == steps_per_epoch + 1  # the first step after the checkpoint, not step 1
    assert resumed.global_step_ == 2 * steps_per_epoch and len(steps) == steps_per_epoch
    assert [h["epoch"] for h in resumed.history_ if "eval_macro_f1" in h] == [1.0, 2.0]  # epoch 1's evaluation came from the checkpoint


def test_bundled_model_is_verified():
    folder = minilm_dir()
    assert (folder / "model.safetensors").exists() and len(MINILM_SHA256) == 64
    assert resolve_model("minilm") == str(folder)
    assert resolve_model("distilbert") == "distilbert-base-uncased"


def test_missing_model_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    clf = TransformerClassifier(TrainConfig(model="no-such-org/no-such-model"))  # offline: the Hub cannot provide it
    with pytest.raises(ModelError, match="--model"):
        clf.fit(["a", "b"], ["x", "y"])


def test_config_validation_and_precision():
    with pytest.raises(ConfigError, match="truncation"):
        TrainConfig(truncation="middle")
    assert TrainConfig.from_dict(TrainConfig(epochs=2).to_dict()) == TrainConfig(epochs=2)
    assert choose_precision("fp32") == "fp32" and choose_precision("auto") in ("bf16", "fp16", "fp32")


@pytest.mark.slow
def test_bundled_minilm_fine_tunes_for_a_few_steps(tiny_corpus, tmp_path):
    splits = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25))
    clf = TransformerClassifier(TrainConfig(model="minilm", epochs=2, batch_size=8, max_length=32, learning_rate=2e-4))
    clf.fit(splits.train.texts, splits.train.labels, X_val=splits.validation.texts, y_val=splits.validation.labels, classes=splits.classes,
            workdir=tmp_path)
    losses = [h["loss"] for h in clf.history_ if "loss" in h]
    assert losses[-1] < losses[0]
    assert type(clf.model_).__name__ == "BertForSequenceClassification"
    assert np.mean(np.array(clf.predict(splits.test.texts)) == np.array(splits.test.labels)) > 1 / len(splits.classes)


def test_weighted_loss_by_hand():
    import torch

    loss = transformer.weighted_loss(torch.tensor([1.0, 3.0]))
    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    # per document: -log softmax = log(1 + e^-2) and log 2; weighted mean (1 * a + 3 * b) / (1 + 3)
    expected = (math.log(1 + math.exp(-2)) + 3 * math.log(2)) / 4
    assert loss({"logits": logits}, torch.tensor([0, 1])).item() == pytest.approx(expected, rel=1e-5)


def test_long_documents_in_windows(tiny_bert, tiny_corpus, tmp_path):
    splits = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25))
    clf = _fit(tiny_bert, splits, tmp_path, max_length=16)
    long_text = " ".join(splits.test.texts[::4])  # posts of every group, one after another
    cut = clf.predict_proba([long_text, "orbit"])
    clf.config = TrainConfig.from_dict({**clf.config.to_dict(), "long_documents": "windows"})
    windows = clf.predict_proba([long_text, "orbit"])
    assert windows.shape == cut.shape and np.allclose(windows.sum(axis=1), 1, atol=1e-5)
    assert np.allclose(windows[1], cut[1], atol=1e-5)  # a short text is one window: the same answer
    assert np.abs(windows[0] - cut[0]).max() > 1e-3  # a long one is read whole


def test_distill_trains_on_the_teachers_probabilities(tiny_env, tiny_bert, tmp_path, loss_labels):
    import json

    from topicfit.cli import main

    assert main(["-q", "baseline", "--method", "majority", "--labels", "coarse", "--validation-size", "0.25", "--output", str(tmp_path / "t")]) == 0
    teacher = [json.loads(line)["probabilities"] for line in (tmp_path / "t" / "predictions-train.jsonl").read_text().splitlines()][0]
    classes = sorted(teacher)
    seen = loss_labels
    student = ["--student", str(tiny_bert), "--epochs", "1", "--batch-size", "8", "--max-length", "16", "--precision", "fp32"]
    assert main(["-q", "distill", str(tmp_path / "t"), *student, "--distill-alpha", "0.6", "--teacher-folds", "0", "--no-teacher-calibration",
                 "--output", str(tmp_path / "s")]) == 0
    expected = [0.6 * np.array([teacher[c] for c in classes]) + 0.4 * np.eye(len(classes))[k] for k in range(len(classes))]
    soft = [row for batch in seen if batch.dim() == 2 for row in batch.numpy()]
    assert soft and all(any(np.allclose(row, e, atol=1e-6) for e in expected) for row in soft)
    run = json.loads((tmp_path / "s" / "run.json").read_text())
    assert run["method"] == "distill-tiny-bert0" and run["model_config"]["teacher"].endswith("t") and run["kind"] == "transformer"
    assert run["teacher"]["folds"] == 0 and run["teacher"]["temperature"] == 1.0
    # by default the teacher answers out of fold, calibrated on validation (topicfit.teacher)
    from topicfit.data import DataConfig, load_splits
    from topicfit.refits import run_name
    from topicfit.teacher import teacher_probabilities

    seen.clear()
    assert main(["-q", "distill", str(tmp_path / "t"), *student, "--output", str(tmp_path / "d")]) == 0
    splits = load_splits(DataConfig.from_dict(json.loads((tmp_path / "t" / "run.json").read_text())["data_config"]))
    proba, info = teacher_probabilities(tmp_path / "t", splits)
    expected = 0.7 * proba + 0.3 * np.eye(len(classes))[[classes.index(y) for y in splits.train.labels]]
    soft = np.array([row for batch in seen if batch.dim() == 2 for row in batch.numpy()])
    assert len(soft) == len(expected) and all(np.abs(expected - row).max(axis=1).min() < 1e-6 for row in soft)
    assert json.loads((tmp_path / "d" / "run.json").read_text())["teacher"] == json.loads(json.dumps(info))
    assert info["folds"] == 5 and info["sources"] == {run_name(tmp_path / "t"): "out of fold (5 folds)"}
