import numpy as np
import pytest

from topicfit.data import DataConfig, load_splits
from topicfit.errors import ConfigError, ModelError
from topicfit.kinds.baseline import BASELINES, TFIDF_DEFAULTS, TUNABLE, BaselineClassifier, BaselineConfig, make_pipeline
from topicfit.workflow import evaluate


@pytest.mark.parametrize("name", list(BASELINES))
def test_every_baseline_fits_predicts_and_round_trips(name, tiny_corpus, tmp_path):
    splits = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25))
    clf = BaselineClassifier(BaselineConfig(name)).fit(splits.train.texts, splits.train.labels)
    results = evaluate(clf, splits, tmp_path)
    assert set(results) == {"train", "validation", "test"}
    if name.startswith("tfidf"):
        assert results["test"]["accuracy"] >= 0.9  # the tiny topics are separable
    clf.save(tmp_path / "model")
    again = BaselineClassifier.load(tmp_path / "model", run={"model_config": clf.config.to_dict()})
    assert again.predict(splits.test.texts) == clf.predict(splits.test.texts)
    assert again.config == clf.config and (tmp_path / "predictions.jsonl").exists()


def test_random_guessing_uses_its_own_predict_not_the_argmax(tiny_corpus):
    splits = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25))
    clf = BaselineClassifier(BaselineConfig("random")).fit(splits.train.texts, splits.train.labels)
    labels, proba = clf.predict_labels(splits.test.texts * 5)
    assert np.allclose(proba, 1 / len(splits.classes))  # uniform probabilities, yet the guesses vary
    assert len(set(labels)) > 1


def test_ridge_has_no_probabilities(tiny_corpus):
    splits = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25))
    clf = BaselineClassifier(BaselineConfig("tfidf-ridge")).fit(splits.train.texts, splits.train.labels)
    labels, proba = clf.predict_labels(splits.test.texts)
    assert proba is None and not clf.has_probabilities and len(labels) == len(splits.test)
    with pytest.raises(ModelError, match="no probabilities"):
        clf.predict_proba(splits.test.texts)


def test_unknown_baseline_lists_choices():
    with pytest.raises(ConfigError, match="tfidf-logreg"):
        BaselineConfig("bert")


def test_trial_zero_is_the_pipeline_that_runs_by_default():
    """The search's trial 0 and the default pipeline are read from the same table, so they cannot drift apart."""
    for name in TUNABLE:
        config = BaselineConfig(name)
        defaults = BaselineClassifier.default_params(config)
        tuned = make_pipeline(BaselineClassifier.with_params(config, defaults)).get_params()
        plain = make_pipeline(config).get_params()
        for key in defaults:
            assert tuned[key] == plain[key], (name, key)
    reg = BASELINES["tfidf-svm"].regulariser
    assert make_pipeline(BaselineConfig("tfidf-svm")).get_params()[reg.param] == reg.default == 0.5
    assert make_pipeline(BaselineConfig("tfidf-nb")).get_params()["tfidf__min_df"] == TFIDF_DEFAULTS["min_df"]
    assert BaselineClassifier.default_params(BaselineConfig("random")) is None and "random" not in TUNABLE


def test_svm_calibration_folds_shrink_to_the_smallest_class():
    from topicfit.errors import ModelError
    from topicfit.kinds.baseline import BaselineClassifier, BaselineConfig

    texts = ["rocket orbit launch", "orbit moon rocket", "rocket launch pad", "engine brake wheel", "wheel gear engine", "brake engine oil"]
    labels = ["space"] * 3 + ["cars"] * 3
    clf = BaselineClassifier(BaselineConfig(method="tfidf-svm")).fit(texts, labels)  # 3 a class: 3-fold calibration, not 5
    assert clf.pipeline_.named_steps["clf"].cv == 3 and clf.predict(["a rocket to orbit"]) == ["space"]
    with pytest.raises(ModelError, match="needs at least 2 training posts of every class; 'food' has 1"):
        BaselineClassifier(BaselineConfig(method="tfidf-svm")).fit(texts + ["bread"], labels + ["food"])
