import json

import numpy as np
import pytest

from topicfit.cli import main
from topicfit.data import DataConfig, load_splits
from topicfit.kinds.baseline import BaselineClassifier
from topicfit.registry import load_run
from topicfit.refits import fit_temperature, fold_of, run_name, with_temperature
from topicfit.teacher import out_of_fold, teacher_probabilities

COMMON = ["--validation-split", "random", "--validation-size", "0.3"]


def test_folds_are_dealt_per_class_and_a_repeated_post_stays_in_one():
    texts = [f"post {i}" for i in range(10)] + ["post 0"]
    labels = ["a"] * 6 + ["b"] * 4 + ["a"]
    fold = fold_of(texts, labels, 3)
    assert set(fold) == set(texts) and set(fold.values()) == {0, 1, 2}
    for label, size in (("a", 6), ("b", 4)):
        counts = np.bincount([fold[t] for t in dict.fromkeys(t for t, y in zip(texts, labels) if y == label)], minlength=3)
        assert counts.sum() == size and counts.max() - counts.min() <= 1  # dealt round: every refit sees each class
    assert fold_of(texts[::-1], labels[::-1], 3) == fold  # by text, not by position


def test_out_of_fold_probabilities_come_from_refits_that_never_saw_the_post(tiny_env, tmp_path, monkeypatch):
    """Every training post is scored exactly once, by a refit whose training posts did not include it."""
    assert main(["-q", "baseline", "--method", "tfidf-nb", "--labels", "fine", *COMMON, "--output", str(tmp_path / "nb")]) == 0
    splits = load_splits(DataConfig(labels="fine", validation_split="random", validation_size=0.3))
    fits, scored = [], []
    fit, predict_proba = BaselineClassifier.fit, BaselineClassifier.predict_proba

    def spy_fit(self, X, y, **kwargs):
        self.seen_ = set(X)
        fits.append(self.seen_)
        return fit(self, X, y, **kwargs)

    def spy_predict(self, X):
        scored.extend((text, getattr(self, "seen_", None)) for text in X)
        return predict_proba(self, X)

    monkeypatch.setattr(BaselineClassifier, "fit", spy_fit)
    monkeypatch.setattr(BaselineClassifier, "predict_proba", spy_predict)
    sources = {}
    proba = out_of_fold(tmp_path / "nb", splits.train.texts, splits.train.ids, 3, sources)
    assert len(fits) == 3 and sources == {run_name(tmp_path / "nb"): "out of fold (3 folds)"}
    assert sorted(t for t, _ in scored) == sorted(splits.train.texts)  # each post once
    assert all(seen is not None and text not in seen for text, seen in scored)  # never by a model that trained on it
    assert all(len(seen) > len(set(splits.train.texts)) / 2 for seen in fits)  # each refit trains on the other folds
    assert proba.shape == (len(splits.train), len(splits.classes)) and np.allclose(proba.sum(axis=1), 1)


def test_an_ensemble_teaches_its_members_out_of_fold_probabilities_combined_its_way(tiny_env, tmp_path):
    """A coarse ensemble with a run of the 20 groups: each member is refitted out of fold under its own labels,
    the fine member's probabilities are summed into the ensemble's classes, and the ensemble's stacker mixes them."""
    from topicfit.kinds.ensemble import stacker_proba

    from topicfit.labels import NEWSGROUPS

    mapping = {g: ("tech" if g.split(".")[0] in ("comp", "sci", "misc") else "life") for g in NEWSGROUPS}
    (tmp_path / "two.json").write_text(json.dumps(mapping))
    two = str(tmp_path / "two.json")
    assert main(["-q", "baseline", "--method", "tfidf-logreg", "--labels", two, *COMMON, "--output", str(tmp_path / "two")]) == 0
    assert main(["-q", "baseline", "--method", "tfidf-nb", "--labels", "fine", *COMMON, "--output", str(tmp_path / "fine")]) == 0
    assert main(["-q", "ensemble", str(tmp_path / "fine"), str(tmp_path / "two"), "--labels", two, "--combine", "stack",
                 "--output", str(tmp_path / "mixed")]) == 0
    ensemble = load_run(tmp_path / "mixed")
    splits = load_splits(DataConfig(labels=two, validation_split="random", validation_size=0.3))
    texts, ids = splits.train.texts, splits.train.ids
    fine = out_of_fold(tmp_path / "fine", texts, ids, 3, {})
    summed = np.zeros((len(texts), 2))
    for j, group in enumerate(load_run(tmp_path / "fine").classes_):
        summed[:, ["life", "tech"].index(mapping[str(group)])] += fine[:, j]
    expected = stacker_proba(ensemble.stacker_, [summed, out_of_fold(tmp_path / "two", texts, ids, 3, {})], 2)
    sources = {}
    assert np.allclose(out_of_fold(tmp_path / "mixed", texts, ids, 3, sources), expected)
    assert set(sources.values()) == {"out of fold (3 folds)"} and len(sources) == 2
    in_sample = np.array([ensemble.predict_proba([t])[0] for t in texts[:5]])
    assert not np.allclose(expected[:5], in_sample)  # not the ensemble's own answer on posts its members trained on


def test_the_temperature_that_fits_is_found_and_keeps_the_ranking():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(20000, 5))
    truth = np.exp(3 * logits) / np.exp(3 * logits).sum(axis=1, keepdims=True)  # the labels follow sharper probabilities
    labels = np.array([rng.choice(5, p=p) for p in truth])
    flat = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # what the teacher says: too flat by a factor 3
    temperature = fit_temperature(flat, labels)
    assert temperature == pytest.approx(1 / 3, rel=0.1)
    sharp = with_temperature(flat, temperature)
    assert np.allclose(sharp.sum(axis=1), 1) and (sharp.argmax(axis=1) == flat.argmax(axis=1)).all()
    assert np.allclose(sharp, truth, atol=0.05)


def test_teacher_probabilities_are_out_of_fold_and_calibrated_by_default(tiny_env, tmp_path):
    assert main(["-q", "baseline", "--method", "tfidf-nb", "--labels", "coarse", *COMMON, "--output", str(tmp_path / "nb")]) == 0
    splits = load_splits(DataConfig(labels="coarse", validation_split="random", validation_size=0.3))
    proba, info = teacher_probabilities(tmp_path / "nb", splits, folds=3)
    raw = out_of_fold(tmp_path / "nb", splits.train.texts, splits.train.ids, 3, {})
    assert info["folds"] == 3 and info["temperature"] != 1.0
    assert np.allclose(proba, with_temperature(raw, info["temperature"]), atol=1e-6)
    assert info["validation_log_loss_calibrated"] <= info["validation_log_loss"]
    plain, info = teacher_probabilities(tmp_path / "nb", splits, folds=0, calibrate=False)
    saved = {r["id"]: r["probabilities"] for r in map(json.loads, (tmp_path / "nb" / "predictions-train.jsonl").read_text().splitlines())}
    assert info["sources"] == {run_name(tmp_path / "nb"): "in sample"} and info["temperature"] == 1.0
    assert np.allclose(plain, [[saved[i][c] for c in splits.classes] for i in splits.train.ids], atol=1e-6)


def test_a_member_that_costs_a_training_run_answers_in_sample(tiny_env, tiny_bert, tmp_path):
    """A fine-tuned member is not refitted per fold: its saved training-post probabilities are used, and said so."""
    from topicfit.runs import saved_probabilities

    data = ["--labels", "coarse", *COMMON]
    assert main(["-q", "train", *data, "--model", str(tiny_bert), "--epochs", "1", "--batch-size", "8", "--max-length", "16",
                 "--precision", "fp32", "--output", str(tmp_path / "ft")]) == 0
    assert main(["-q", "baseline", "--method", "tfidf-nb", *data, "--output", str(tmp_path / "nb")]) == 0
    assert main(["-q", "ensemble", str(tmp_path / "ft"), str(tmp_path / "nb"), "--combine", "stack", "--output", str(tmp_path / "e")]) == 0
    splits = load_splits(DataConfig(labels="coarse", validation_split="random", validation_size=0.3))
    _, info = teacher_probabilities(tmp_path / "e", splits, folds=3, calibrate=False)
    assert info["sources"] == {run_name(tmp_path / "ft"): "in sample", run_name(tmp_path / "nb"): "out of fold (3 folds)"}
    sources = {}
    ft = out_of_fold(tmp_path / "ft", splits.train.texts, splits.train.ids, 3, sources)
    assert np.allclose(ft, saved_probabilities(tmp_path / "ft", "train", splits.train.ids, list(splits.classes)))


def test_distill_from_a_users_csv(tmp_path, tiny_bert, users_csv):
    """A user's file, three labels, one of them rare: the out-of-fold teacher still covers every class."""
    data = users_csv
    assert main(["-q", "baseline", *data, "--method", "tfidf-logreg", "--output", str(tmp_path / "t")]) == 0
    assert main(["-q", "distill", str(tmp_path / "t"), "--student", str(tiny_bert), "--epochs", "1", "--batch-size", "8", "--max-length", "16",
                 "--precision", "fp32", "--output", str(tmp_path / "s")]) == 0
    run = json.loads((tmp_path / "s" / "run.json").read_text())
    assert run["classes"] == ["cars", "food", "space"] and run["teacher"]["folds"] == 5 and run["teacher"]["train_accuracy"] > 0.5
    assert len((tmp_path / "s" / "predictions.jsonl").read_text().splitlines()) == json.loads((tmp_path / "s" / "metrics.json").read_text())["test"]["n"]
