import json
import math

import numpy as np
import pytest

from topicfit.cli import main
from topicfit.data import DataConfig, load_splits
from topicfit.errors import ConfigError
from topicfit.kinds import transformer
from topicfit.predict import TopicClassifier
from topicfit.prior import Prior, fit_prior

TINY = ["--epochs", "2", "--learning-rate", "5e-3", "--batch-size", "8", "--max-length", "16", "--precision", "fp32",
        "--validation-size", "0.25", "--no-train-eval"]


@pytest.fixture(scope="module")
def nb_run(tiny_archive, tmp_path_factory):
    run = tmp_path_factory.mktemp("prior") / "nb"
    assert main(["-q", "baseline", "--data", str(tiny_archive), "--method", "tfidf-nb", "--validation-size", "0.25", "--output", str(run)]) == 0
    return run


def test_weighted_loss_adds_the_prior_by_hand():
    import torch

    logits = torch.zeros(2, 2)
    targets, offsets = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    loss = transformer.weighted_loss(None, prior=True)({"logits": logits}, torch.cat([targets, offsets], dim=-1))
    # softmax of the offsets: -log p = log(1 + e^-2) for the first post, log 2 for the second
    assert loss.item() == pytest.approx((math.log(1 + math.exp(-2)) + math.log(2)) / 2, rel=1e-5)
    weighted = transformer.weighted_loss(torch.tensor([1.0, 3.0]), prior=True)({"logits": logits}, torch.cat([targets, offsets], dim=-1))
    assert weighted.item() == pytest.approx((math.log(1 + math.exp(-2)) + 3 * math.log(2)) / 4, rel=1e-5)
    # prior dropout: while training, a row's prior is left out with that probability; never at evaluation
    training = [True]
    dropped = transformer.weighted_loss(None, prior=True, prior_dropout=0.5, training=lambda: training[0])
    many_targets, many_offsets = targets[:1].repeat(4000, 1), offsets[:1].repeat(4000, 1)  # -log p: log(1 + e^-2) with the prior, log 2 without
    expected = 0.5 * math.log(1 + math.exp(-2)) + 0.5 * math.log(2)
    assert dropped({"logits": torch.zeros(4000, 2)}, torch.cat([many_targets, many_offsets], dim=-1)).item() == pytest.approx(expected, abs=0.01)
    training[0] = False
    assert dropped({"logits": torch.zeros(4000, 2)}, torch.cat([many_targets, many_offsets], dim=-1)).item() == pytest.approx(
        math.log(1 + math.exp(-2)), rel=1e-5)


def test_a_prior_trains_out_of_fold_and_is_added_at_inference(nb_run, tiny_archive, tiny_bert, tmp_path, loss_labels):
    seen = loss_labels
    run = tmp_path / "hybrid"
    assert main(["-q", "train", "--data", str(tiny_archive), "--model", str(tiny_bert), "--prior", str(nb_run), *TINY, "--output", str(run)]) == 0
    splits = load_splits(DataConfig(data=str(tiny_archive), validation_size=0.25))
    k = len(splits.classes)
    # the training labels are [one-hot target | the prior's out-of-fold logits], as fit_prior computes them
    _, train_logits = fit_prior(nb_run, splits.train.texts, splits.train.labels, splits.validation.texts, splits.validation.labels, splits.classes)
    rows = np.array([row for batch in seen for row in batch.numpy()])
    assert rows.shape[1] == 2 * k
    hot = np.eye(k)[[list(splits.classes).index(y) for y in splits.train.labels]]
    expected = np.hstack([hot, train_logits])
    val_hot = np.eye(k)[[list(splits.classes).index(y) for y in splits.validation.labels]]
    prior = Prior.load(run / "model")
    val_expected = np.hstack([val_hot, prior.logits(splits.validation.texts, splits.classes)])  # the evaluation's labels

    def found(row, table):
        return np.abs(table - row).max(axis=1).min() < 1e-4 * max(1.0, np.abs(row).max())

    assert all(found(row, expected) or found(row, val_expected) for row in rows)
    assert all(found(row, rows) for row in expected)  # every training post was seen with its prior
    # out of fold: a refit that never saw the post, so not the fitted baseline's own (more confident) logits
    assert not np.allclose(train_logits, prior.logits(splits.train.texts, splits.classes), atol=1e-3)

    record = json.loads((run / "run.json").read_text())
    assert record["method"] == "finetune-tiny-bert0+prior-tfidf-nb"
    assert record["prior"]["folds"] == 5 and record["prior"]["method"] == "tfidf-nb" and 0 < record["prior"]["temperature"] < 50
    assert record["model_config"]["prior_dropout"] == 0.5
    # at inference the saved prior is added to the transformer's logits: p = softmax(log p_alone + prior logits)
    clf = TopicClassifier.load(run, backend="torch")
    texts = splits.test.texts[:6] + ["orbit launch nasa moon", ""]
    with_prior = clf.predict_proba(texts)
    model = clf.estimator
    alone = (setattr(model, "prior_", None), model.predict_proba(texts))[1]
    z = np.log(alone) + prior.logits(texts, splits.classes)
    expected = np.exp(z - z.max(axis=1, keepdims=True))
    assert np.allclose(with_prior, expected / expected.sum(axis=1, keepdims=True), atol=1e-5)
    assert np.abs(with_prior - alone).max() > 1e-2


def test_a_prior_reaches_the_onnx_backends(nb_run, tiny_archive, tiny_bert, tmp_path):
    pytest.importorskip("onnxruntime")
    run = tmp_path / "hybrid"
    assert main(["-q", "train", "--data", str(tiny_archive), "--model", str(tiny_bert), "--prior", str(nb_run), "--prior-folds", "0",
                 *TINY, "--output", str(run)]) == 0
    assert json.loads((run / "run.json").read_text())["prior"]["folds"] == 0
    assert main(["-q", "export", str(run), "--format", "onnx"]) == 0
    texts = ["orbit launch nasa moon", "car engine dealer", "", "church " * 100]
    torch_p = TopicClassifier.load(run, backend="torch").predict_proba(texts)
    onnx_p = TopicClassifier.load(run, backend="onnx").predict_proba(texts)
    assert np.allclose(torch_p, onnx_p, atol=1e-4)


def test_a_prior_must_be_a_baseline_on_the_same_classes(nb_run, tiny_archive, tiny_bert, tmp_path):
    fine = load_splits(DataConfig(data=str(tiny_archive), validation_size=0.25, labels="fine"))  # the prior answers the coarse ones
    with pytest.raises(ConfigError, match="differ from the data's"):
        fit_prior(nb_run, fine.train.texts, fine.train.labels, None, None, fine.classes)
    coarse = load_splits(DataConfig(data=str(tiny_archive), validation_size=0.25, labels="coarse"))
    assert main(["-q", "ensemble", str(nb_run), str(nb_run), "--output", str(tmp_path / "e")]) == 0
    with pytest.raises(ConfigError, match="expected a finished TF-IDF baseline run"):
        fit_prior(tmp_path / "e", coarse.train.texts, coarse.train.labels, None, None, coarse.classes)


def test_tune_keeps_the_prior_in_every_trial_and_the_best_run(nb_run, tiny_archive, tiny_bert, tmp_path):
    assert main(["-q", "tune", "--data", str(tiny_archive), "--validation-size", "0.25", "--model", str(tiny_bert), "--prior", str(nb_run),
                 "--trials", "1", "--epochs", "1", "--max-length", "16", "--precision", "fp32", "--output", str(tmp_path / "tune")]) == 0
    best = json.loads((tmp_path / "tune" / "best" / "run.json").read_text())
    assert best["method"] == "finetune-tiny-bert0+prior-tfidf-nb" and best["prior"]["method"] == "tfidf-nb"
    assert Prior.load(tmp_path / "tune" / "best" / "model") is not None


def test_a_prior_on_a_users_csv(tmp_path, tiny_bert, users_csv):
    """A user's file, three labels, one rare: the prior's out-of-fold refits cover every class and every test row gets an answer."""
    data = users_csv
    assert main(["-q", "baseline", *data, "--method", "tfidf-nb", "--output", str(tmp_path / "nb")]) == 0
    assert main(["-q", "train", *data, "--model", str(tiny_bert), "--prior", str(tmp_path / "nb"), "--epochs", "1", "--batch-size", "8",
                 "--max-length", "16", "--precision", "fp32", "--output", str(tmp_path / "s")]) == 0
    run = json.loads((tmp_path / "s" / "run.json").read_text())
    assert run["classes"] == ["cars", "food", "space"] and run["prior"]["folds"] == 5 and run["prior"]["train"]["accuracy"] > 0.5
    predictions = [json.loads(line) for line in (tmp_path / "s" / "predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == json.loads((tmp_path / "s" / "metrics.json").read_text())["test"]["n"]
    assert np.mean([p["prediction"] == p["label"] for p in predictions]) > 0.5  # the prior alone knows these words
