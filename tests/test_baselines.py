import pytest

from topicfit.baselines import BASELINES, load_baseline, make_baseline, save_baseline
from topicfit.data import DataConfig, load_splits
from topicfit.evaluate import evaluate_splits


@pytest.mark.parametrize("name", list(BASELINES))
def test_every_baseline_fits_predicts_and_round_trips(name, tiny_corpus, tmp_path):
    splits = load_splits(DataConfig(data=str(tiny_corpus), validation_size=0.25))
    clf = make_baseline(name).fit(splits.train.texts, splits.train.labels)
    results = evaluate_splits(clf, splits, tmp_path)
    assert set(results) == {"train", "validation", "test"}
    if name.startswith("tfidf"):
        assert results["test"]["accuracy"] >= 0.9  # the tiny topics are separable
    save_baseline(clf, tmp_path / "model")
    again = load_baseline(tmp_path / "model")
    assert list(again.predict(splits.test.texts)) == list(clf.predict(splits.test.texts))
    assert (tmp_path / "predictions.jsonl").exists()


def test_unknown_baseline_lists_choices():
    with pytest.raises(KeyError, match="tfidf-logreg"):
        make_baseline("bert")
