"""The few-label kind (SetFit's method) on 3 classes x 8 posts with the tiny random BERT: the workflow's round trip,
save/load, contrastive tuning of the encoder, co-training on unlabelled posts (and the other ways), the head's cross-validation on the
labelled posts only, and the pieces (pairs, pseudo-label picks) worked out by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from topicfit import registry
from topicfit.data import DataConfig, load_splits
from topicfit.encoders import load_encoder
from topicfit.kinds.fewlabel import (FewLabelClassifier, FewLabelConfig, contrastive_pairs, cross_validate_head, make_head,
                                     pseudo_labels, semi_supervised_head)
from topicfit.predict import TopicClassifier
from topicfit.runs import read_run
from topicfit.workflow import fit_run

WORDS = {"space": "orbit launch nasa shuttle moon rocket", "cars": "car engine drive wheel dealer brake",
         "food": "bread cheese bake flour oven butter"}


def post(label: str, i: int) -> str:
    words = WORDS[label].split()
    return " ".join(words[(i + k) % len(words)] for k in range(8)) + f" note {i}"


def corpus(per_class: int = 8, start: int = 0) -> tuple[list[str], list[str]]:
    pairs = [(post(label, i), label) for label in WORDS for i in range(start, start + per_class)]
    return [t for t, _ in pairs], [y for _, y in pairs]


def config(tiny_bert, **changes) -> FewLabelConfig:
    settings = {"model": str(tiny_bert), "pair_iterations": 2, "batch_size": 8, "max_length": 32, "learning_rate": 1e-3}
    return FewLabelConfig(**{**settings, **changes})


def test_the_kind_is_registered_and_every_setting_has_help():
    from dataclasses import fields

    assert registry.get_kind("fewlabel") is FewLabelClassifier
    assert all(f.metadata.get("help") for f in fields(FewLabelConfig))
    assert FewLabelConfig().pair_iterations == 20 and FewLabelConfig().model == "minilm"


def test_fit_run_writes_a_run_that_topic_classifier_loads(tiny_bert, tmp_path):
    texts, labels = corpus(8)
    test_texts, test_labels = corpus(3, start=20)
    for name, (t, y) in (("train.csv", (texts, labels)), ("test.csv", (test_texts, test_labels))):
        (tmp_path / name).write_text("text,label\n" + "".join(f"{a},{b}\n" for a, b in zip(t, y)))
    data = DataConfig(dataset=str(tmp_path / "train.csv"), test_file=str(tmp_path / "test.csv"), labels="identity", validation_size=0.25)
    model = FewLabelClassifier(config(tiny_bert))
    run_dir, run, metrics = fit_run(model, data, tmp_path / "run")
    saved, _ = read_run(run_dir)
    assert saved["kind"] == "fewlabel" and saved["method"] == f"fewlabel-{tiny_bert.name}"
    assert saved["cross_validation"]["n"] == 18 and saved["cross_validation"]["folds"] == 5  # 24 posts less 6 for validation
    assert saved["contrastive"]["pairs"] == 2 * 2 * 18 and saved["contrastive"]["steps"] == 9  # 72 pairs, 8 a step
    assert set(metrics) >= {"train", "validation", "test"} and metrics["test"]["n"] == 9
    loaded = TopicClassifier.load(run_dir)
    assert np.allclose(loaded.predict_proba(test_texts), model.predict_proba(test_texts), atol=1e-6)
    written = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert [r["prediction"] for r in written] == loaded.predict(load_splits(data).test.texts)


def test_save_and_load_give_identical_probabilities_temperature_included(tiny_bert, tmp_path):
    texts, labels = corpus(8)
    val_texts, val_labels = corpus(2, start=10)
    clf = FewLabelClassifier(config(tiny_bert)).fit(texts, labels, X_val=val_texts, y_val=val_labels, classes=sorted(WORDS))
    assert clf.temperature_ != 1.0  # fitted on validation, so the saved temperature matters
    new = corpus(2, start=30)[0]
    before = clf.predict_proba(new)
    clf.save(tmp_path / "m")
    again = FewLabelClassifier.load(tmp_path / "m")
    assert again.temperature_ == clf.temperature_ and list(again.classes_) == sorted(WORDS)
    assert np.array_equal(again.predict_proba(new), before)


def test_contrastive_training_changes_the_encoder_and_pulls_classes_apart(tiny_bert):
    texts, labels = corpus(8)
    _, fresh = load_encoder(str(tiny_bert))
    untouched = FewLabelClassifier(config(tiny_bert, pair_iterations=0)).fit(texts, labels)
    tuned = FewLabelClassifier(config(tiny_bert, pair_iterations=4)).fit(texts, labels)
    name = "encoder.layer.0.attention.self.query.weight"
    before, after = fresh.state_dict()[name], tuned.encoder_.state_dict()[name]
    assert untouched.contrastive_["steps"] == 0 and np.array_equal(untouched.encoder_.state_dict()[name].numpy(), before.numpy())
    assert not np.allclose(after.numpy(), before.numpy())
    assert tuned.contrastive_["loss_last"] < tuned.contrastive_["loss_first"]
    capped = FewLabelClassifier(config(tiny_bert, pair_iterations=4, epochs=2, max_steps=3)).fit(texts, labels)
    assert capped.contrastive_["pairs"] == 4 * 2 * 24 and capped.contrastive_["steps"] == 3  # 24 steps an epoch, stopped at 3

    def gap(clf) -> float:  # mean cosine of same-class pairs minus that of different-class pairs
        E = clf.embed(texts)
        same = np.equal.outer(labels, labels) & ~np.eye(len(labels), dtype=bool)
        sims = E @ E.T
        return sims[same].mean() - sims[~np.equal.outer(labels, labels)].mean()

    assert gap(tuned) > gap(untouched) + 0.1


def test_co_training_labels_the_pool_and_a_tfidf_head_joins_the_embedding_head(tiny_bert, tmp_path):
    texts, labels = corpus(8)
    unlabelled, truth = corpus(4, start=40)
    cfg = config(tiny_bert, pair_iterations=4)
    plain = FewLabelClassifier(cfg).fit(texts, labels)
    clf = FewLabelClassifier(cfg).fit(texts, labels, X_unlabelled=unlabelled)
    info = clf.run_info()["unlabelled"]
    assert info["method"] == "cotraining" and info["posts"] == 12 and info["pseudo_labels"] == 12 and info["rounds"] == 2
    assert plain.run_info()["unlabelled"] is None and plain.words_ is None
    assert clf.words_ is not None and clf.words_weight_ == 0.5
    assert clf.words_.predict(unlabelled).tolist() == truth  # the TF-IDF head learnt the pool's (right) pseudo-labels
    E = clf.embed(unlabelled)
    both = 0.5 * clf.head_.predict_proba(E) + 0.5 * clf.words_.predict_proba(unlabelled)
    assert np.allclose(clf.predict_proba(unlabelled), both)  # the two heads' average, in the same class order
    views = clf.predict_views(unlabelled)  # what `suggest --uncertainty disagreement` compares
    assert len(views) == 2 and np.allclose(views[0], clf.head_.predict_proba(E)) and np.allclose(views[1], clf.words_.predict_proba(unlabelled))
    assert len(plain.predict_views(unlabelled)) == 1
    assert not np.allclose(clf.head_.coef_, plain.head_.coef_)  # the embedding head was refitted on the pseudo-labels
    clf.save(tmp_path / "m")
    again = FewLabelClassifier.load(tmp_path / "m")
    assert (tmp_path / "m" / "words.skops").exists() and np.array_equal(again.predict_proba(unlabelled), clf.predict_proba(unlabelled))


def test_the_other_ways_to_use_unlabelled_posts(tiny_bert):
    texts, labels = corpus(8)
    unlabelled, _ = corpus(4, start=40)
    plain = FewLabelClassifier(config(tiny_bert, pair_iterations=4)).fit(texts, labels)
    once = FewLabelClassifier(config(tiny_bert, pair_iterations=4, unlabelled_method="once", pseudo_threshold=0.0, pseudo_per_class=2)).fit(
        texts, labels, X_unlabelled=unlabelled)
    assert once.unlabelled_["pseudo_labels"] == 6 and once.words_ is not None  # 2 a class, and a TF-IDF head on them
    no_words = FewLabelClassifier(config(tiny_bert, pair_iterations=4, unlabelled_method="spreading", words_weight=0.0)).fit(
        texts, labels, X_unlabelled=unlabelled)
    assert no_words.words_ is None and no_words.unlabelled_["pseudo_labels"] == 12
    none = FewLabelClassifier(config(tiny_bert, pair_iterations=4, unlabelled_method="none")).fit(texts, labels, X_unlabelled=unlabelled)
    assert none.unlabelled_ is None and np.allclose(none.head_.coef_, plain.head_.coef_)
    capped = FewLabelClassifier(config(tiny_bert, pair_iterations=4, unlabelled_method="spreading", max_unlabelled=5)).fit(
        texts, labels, X_unlabelled=unlabelled)
    assert capped.unlabelled_["posts"] == 5 and capped.unlabelled_["pseudo_labels"] == 5
    with pytest.raises(Exception, match="unlabelled_method must be one of"):
        FewLabelConfig(unlabelled_method="magic")


def test_cross_validation_scores_the_labelled_posts_only(tiny_bert):
    texts, labels = corpus(8)
    unlabelled, _ = corpus(4, start=40)
    cfg = config(tiny_bert)
    clf = FewLabelClassifier(cfg).fit(texts, labels, X_unlabelled=unlabelled)
    assert clf.unlabelled_["pseudo_labels"] == 12
    E, y = clf.embed(texts), np.asarray(labels)  # by hand: 5 stratified folds of the 24 labelled posts
    predicted = np.empty(len(y), dtype=object)
    for train, held in StratifiedKFold(n_splits=5, shuffle=True, random_state=cfg.seed).split(E, y):
        predicted[held] = make_head(cfg).fit(E[train], y[train]).predict(E[held])
    expected = round(f1_score(y, predicted.astype(str), average="macro"), 4)
    assert clf.cross_validation_ == {"folds": 5, "n": 24, "macro_f1": expected, "accuracy": round(float((predicted == y).mean()), 4)}
    assert clf.validation_macro_f1_ == expected


def test_folds_follow_the_smallest_class():
    rng = np.random.default_rng(0)
    E = rng.normal(size=(11, 4))
    labels = ["a"] * 5 + ["b"] * 3 + ["c"] * 3
    assert cross_validate_head(E, labels, lambda: make_head(FewLabelConfig()))["folds"] == 3
    assert cross_validate_head(E, ["a"] * 5 + ["b"] * 4 + ["d"] * 2, lambda: make_head(FewLabelConfig()))["folds"] == 2
    assert cross_validate_head(E, labels[:-1] + ["d"], lambda: make_head(FewLabelConfig())) is None  # a class of one post


def test_pairs_are_setfits_one_positive_and_one_negative_per_post_per_iteration():
    labels = ["a", "a", "b", "b", "b"]
    pairs = contrastive_pairs(labels, 3, seed=1)
    assert len(pairs) == 3 * 2 * 5
    for i, j, target in pairs:
        assert i != j and (labels[int(i)] == labels[int(j)]) == (target == 1.0)
    assert np.array_equal(pairs[:, 0], np.tile(np.repeat(np.arange(5), 2), 3))


def test_pseudo_labels_by_hand():
    proba = np.array([[0.95, 0.05], [0.91, 0.09], [0.97, 0.03], [0.2, 0.8], [0.05, 0.95], [0.5, 0.5]])
    rows, labels = pseudo_labels(proba, ["x", "y"], threshold=0.9, per_class=2)
    assert rows.tolist() == [0, 2, 4] and labels == ["x", "x", "y"]  # row 1 is the third most confident x; row 3 is below 0.9
    rows, labels = pseudo_labels(proba, ["x", "y"], threshold=0.5, per_class=5)
    assert rows.tolist() == [0, 1, 2, 3, 4, 5] and labels == ["x", "x", "x", "y", "y", "x"]  # a tie goes to the first column


def test_the_honest_cross_validation_tunes_each_folds_encoder_without_its_held_out_posts(tiny_bert, monkeypatch):
    from topicfit.kinds import fewlabel

    seen = []
    real = fewlabel.tune_body

    def spy(tokenizer, encoder, texts, labels, config):
        seen.append(list(texts))
        return real(tokenizer, encoder, texts, labels, config)

    monkeypatch.setattr(fewlabel, "tune_body", spy)
    texts, labels = corpus(4)  # 4 posts a class: 4 folds of 3 held-out posts
    cfg = config(tiny_bert, pair_iterations=1)
    result = fewlabel.cross_validate(texts, labels, cfg)
    assert result["folds"] == 4 and result["n"] == 12 and len(seen) == 4
    held_out = [sorted(set(texts) - set(s)) for s in seen]
    assert all(len(h) == 3 and len(s) == 9 for h, s in zip(held_out, seen))  # each encoder saw the other 9 posts only
    assert sorted(t for h in held_out for t in h) == sorted(texts)  # and every post was held out once


def test_the_fewlabel_command_learns_from_the_rows_without_a_label(tiny_bert, tmp_path):
    from topicfit.cli import main

    texts, labels = corpus(8)
    pool, _ = corpus(3, start=40)
    rows = [(t, y) for t, y in zip(texts, labels)] + [(t, "") for t in pool]  # an empty label: an unlabelled post
    (tmp_path / "d.csv").write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows))
    assert main(["-q", "fewlabel", "--dataset", str(tmp_path / "d.csv"), "--labels", "identity", "--model", str(tiny_bert),
                 "--pair-iterations", "2", "--batch-size", "8", "--max-length", "32", "--output", str(tmp_path / "run")]) == 0
    run, _ = read_run(tmp_path / "run")
    assert run["kind"] == "fewlabel" and run["unlabelled"]["posts"] == len(pool) and run["unlabelled"]["method"] == "cotraining"
    assert (tmp_path / "run" / "model" / "words.skops").exists()
    assert TopicClassifier.load(tmp_path / "run").predict(pool[:2])  # loads, and predicts with both heads


def test_train_kind_fewlabel_takes_none_labels_as_unlabelled_posts(tiny_bert):
    import topicfit

    texts, labels = corpus(8)
    pool, _ = corpus(3, start=40)
    clf = topicfit.train(texts + pool, labels + [None] * len(pool), kind="fewlabel", model=str(tiny_bert), pair_iterations=2,
                         batch_size=8, max_length=32, test_size=0.2)
    assert clf.estimator.unlabelled_["posts"] == len(pool) and clf.estimator.words_ is not None


def test_a_labelled_post_weighs_labelled_weight_pseudo_labelled_ones():
    from topicfit.kinds.fewlabel import WORDS_WEIGHT_PARAM, co_training, pseudo_label_head, self_training_rounds, words_head

    rng = np.random.default_rng(0)
    labelled, y = rng.normal(size=(6, 5)), ["a", "b", "a", "b", "a", "b"]
    pool = rng.normal(size=(20, 5))
    cfg = FewLabelConfig(C=1.0, labelled_weight=3.0, pool_class_weight=None)  # unweighted classes: weight 3 is then three copies
    head, rows, pseudo = self_training_rounds(labelled, y, pool, cfg, rounds=1)  # one round: the whole pool, labelled by the first head
    assert rows.tolist() == list(range(20)) and pseudo == make_head(cfg).fit(labelled, y).predict(pool).tolist()
    copies = pseudo_label_head(cfg).fit(np.concatenate([labelled, labelled, labelled, pool]), y * 3 + pseudo)  # weight 3 = three copies
    assert np.allclose(head.coef_, copies.coef_, atol=1e-4) and np.allclose(head.intercept_, copies.intercept_, atol=1e-4)
    plain, _, _ = self_training_rounds(labelled, y, pool, FewLabelConfig(C=1.0, pool_class_weight=None), rounds=1)
    assert not np.allclose(plain.coef_, head.coef_, atol=1e-3)

    texts = [f"word{i % 2} filler{i}" for i in range(6)]
    pool_texts = [f"word{i % 2} other{i}" for i in range(20)]
    both = co_training(labelled, y, pool, texts, pool_texts, cfg, rounds=1)
    labels = make_head(cfg).fit(labelled, y).predict(pool).tolist()
    weights = np.r_[np.full(6, 3.0), np.ones(20)]
    words = words_head(cfg.seed).fit(texts + pool_texts, y + labels, **{WORDS_WEIGHT_PARAM: weights})  # the TF-IDF head is weighted too
    assert np.allclose(both.words[-1].coef_, words[-1].coef_)
    assert np.allclose(both.embedding_head.coef_, copies.coef_, atol=1e-4)
    with pytest.raises(Exception, match="labelled_weight must be positive"):
        FewLabelConfig(labelled_weight=0)


def test_pool_class_weight_balances_both_readers_refits_on_the_pseudo_labels():
    from sklearn.linear_model import LogisticRegression

    from topicfit.kinds.fewlabel import co_training

    rng = np.random.default_rng(1)
    labelled, y = rng.normal(size=(6, 5)), ["a", "b", "a", "b", "a", "b"]
    pool = rng.normal(size=(30, 5)) + np.r_[1.0, 0, 0, 0, 0]  # shifted: the first head calls most of the pool one class
    texts = [f"word{i % 2} filler{i}" for i in range(6)]
    pool_texts = [f"word{i % 3 == 0} other{i}" for i in range(30)]
    plain_cfg, cfg = FewLabelConfig(C=1.0, pool_class_weight=None), FewLabelConfig(C=1.0)  # balanced is the default
    assert cfg.pool_class_weight == "balanced"
    pseudo = make_head(cfg).fit(labelled, y).predict(pool).tolist()
    assert len(set(pseudo)) == 2 and max(pseudo.count("a"), pseudo.count("b")) > 20  # a pool dominated by one class
    balanced, plain = co_training(labelled, y, pool, texts, pool_texts, cfg, rounds=1), co_training(labelled, y, pool, texts, pool_texts, plain_cfg, rounds=1)
    by_hand = LogisticRegression(C=1.0, class_weight="balanced", max_iter=3000, random_state=cfg.seed).fit(np.concatenate([labelled, pool]), y + pseudo)
    assert np.allclose(balanced.embedding_head.coef_, by_hand.coef_, atol=1e-4)
    assert not np.allclose(plain.embedding_head.coef_, by_hand.coef_, atol=1e-3)
    assert balanced.words[-1].class_weight == "balanced" and plain.words[-1].class_weight is None
    with pytest.raises(Exception, match="pool_class_weight must be 'balanced' or None"):
        FewLabelConfig(pool_class_weight="inverse")


def test_self_training_once_refits_with_the_pool_class_weight_too():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    labelled, y = rng.normal(size=(6, 5)), ["a", "b", "a", "b", "a", "b"]
    pool = rng.normal(size=(30, 5)) + np.r_[1.0, 0, 0, 0, 0]
    cfg = FewLabelConfig(C=1.0, pool_class_weight=None, pseudo_threshold=0.0)  # every pool post pseudo-labelled, refit unweighted
    once = semi_supervised_head(labelled, y, pool, config=cfg, method="once")
    pseudo = make_head(cfg).fit(labelled, y).predict(pool).tolist()
    by_hand = LogisticRegression(C=1.0, max_iter=3000, random_state=cfg.seed).fit(np.concatenate([labelled, pool]), y + pseudo)
    assert len(set(pseudo)) == 2 and np.allclose(once.embedding_head.coef_, by_hand.coef_, atol=1e-4)
