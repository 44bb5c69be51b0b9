import json

import numpy as np
import pytest

from topicfit.cli import main
from topicfit.errors import RunError
from topicfit.errors import ConfigError
from topicfit.kinds.ensemble import (EnsembleClassifier, EnsembleConfig, SavedPredictions, choose_weights, compare_combiners, fit_stacker,
                                     stacker_proba, weight_grid)
from topicfit.predict import TopicClassifier
from topicfit.registry import load_run


def test_weight_grid_covers_the_simplex():
    assert weight_grid(2, 0.5) == [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]
    grid = weight_grid(3, 0.25)
    assert len(grid) == 15 and all(sum(w) == pytest.approx(1) for w in grid) and (1.0, 0.0, 0.0) in grid
    assert len(weight_grid(2)) == 21 and len(weight_grid(4)) == 286  # steps of 0.05, and 0.1 beyond three members


def test_choose_weights_by_hand():
    # document 1 is "a": right when 0.4 + 0.55 w > 0.5, i.e. w > 0.18; documents 2, 3 are "b": right when 0.2 + 0.4 w < 0.5, i.e. w < 0.75
    first = np.array([[0.95, 0.05], [0.6, 0.4], [0.6, 0.4]])
    second = np.array([[0.4, 0.6], [0.2, 0.8], [0.2, 0.8]])
    weights, table = choose_weights([first, second], ["a", "b", "b"], ["a", "b"])
    assert weights == [0.2, 0.8]  # the first weight (in grid order) that gets all three right
    assert max(r["accuracy"] for r in table) == 1.0 and table[0]["weights"] == [0.0, 1.0] and table[0]["accuracy"] == pytest.approx(2 / 3)


def test_many_members_are_weighted_by_greedy_selection():
    """Beyond five members the grid is too big; greedy selection must still find, among six, the two members
    that are each sure and right on one half of the posts and unsure and wrong on the other: together they are
    right everywhere, and the four random members get no weight."""
    from topicfit.kinds import ensemble

    rng = np.random.default_rng(0)
    classes = ["a", "b", "c"]
    y = rng.integers(0, 3, size=200)
    refs = [classes[i] for i in y]
    first_half = np.arange(200) < 100

    def member(sure):  # sure and right where `sure`, else leaning slightly to a wrong class
        p = np.full((200, 3), 0.05)
        p[np.arange(200), y] = np.where(sure, 0.9, 0.3)
        p[np.arange(200), (y + 1) % 3] = np.where(sure, 0.05, 0.65)
        return p

    noise = [rng.dirichlet(np.ones(3), size=200) for _ in range(4)]
    probabilities = [noise[0], member(first_half), noise[1], noise[2], member(~first_half), noise[3]]
    assert max((p.argmax(axis=1) == y).mean() for p in probabilities) < 0.6
    weights, table = choose_weights(probabilities, refs, classes)
    assert len(table) == ensemble.SELECTION_ROUNDS
    assert weights == [0.0, 0.5, 0.0, 0.0, 0.5, 0.0]
    assert (sum(w * p for w, p in zip(weights, probabilities)).argmax(axis=1) == y).all()


def test_saved_predictions_are_reused_and_the_rest_predicted():
    class Member:
        classes_ = np.array(["a", "b"])

        def predict_proba(self, X):
            assert X == ["new"]  # only the text without a saved row reaches the model
            return np.array([[0.3, 0.7]])

    reuse = SavedPredictions(Member(), {"seen": np.array([0.9, 0.1])})
    assert reuse.predict_proba(["seen", "new"]).tolist() == [[0.9, 0.1], [0.3, 0.7]]


@pytest.fixture()
def three_runs(tiny_env, tmp_path):
    common = ["--labels", "coarse", "--validation-size", "0.25"]
    for method in ("tfidf-logreg", "tfidf-nb", "majority"):
        assert main(["-q", "baseline", "--method", method, "--output", str(tmp_path / method), *common]) == 0
    return [str(tmp_path / m) for m in ("tfidf-logreg", "tfidf-nb", "majority")]


def test_three_members_weighted_on_validation(three_runs, tmp_path):
    out = tmp_path / "ens"
    assert main(["-q", "ensemble", *three_runs, "--combine", "weights", "--output", str(out)]) == 0
    run = json.loads((out / "run.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert run["kind"] == "ensemble" and len(run["weights"]) == 3 and sum(run["weights"]) == pytest.approx(1)
    assert [m["method"] for m in run["members"]] == ["tfidf-logreg", "tfidf-nb", "majority"]
    members = [json.loads((tmp_path / m / "metrics.json").read_text())["validation"]["macro_f1"] for m in ("tfidf-logreg", "tfidf-nb", "majority")]
    assert metrics["validation"]["macro_f1"] >= max(members)  # a weight on one member alone is in the grid
    # the saved ensemble predicts the weighted average of its members, loaded through the registry
    texts = ["orbit launch nasa", "gun law rights", "sale price offer"]
    ens = TopicClassifier.load(out)
    expected = sum(w * TopicClassifier.load(p).predict_proba(texts) for w, p in zip(run["weights"], three_runs))
    assert np.allclose(ens.predict_proba(texts), expected)
    views = ens.estimator.predict_views(texts)  # the members that weigh, for `suggest --uncertainty disagreement`
    read = [p for w, p in zip(run["weights"], three_runs) if w > 0]
    assert len(views) == len(read) and all(np.allclose(v, TopicClassifier.load(p).predict_proba(texts)) for v, p in zip(views, read))
    assert np.allclose(ens.estimator.combine_views(views), expected)  # what suggest reports beside the disagreement
    assert json.loads((out / "model" / "ensemble.json").read_text())["members"] == ["../tfidf-logreg", "../tfidf-nb", "../majority"]


def test_members_must_share_data_and_have_probabilities(three_runs, tiny_env, tmp_path):
    assert main(["-q", "baseline", "--method", "tfidf-nb", "--labels", "coarse", "--validation-size", "0.3", "--output", str(tmp_path / "other")]) == 0
    with pytest.raises(RunError, match="different data settings"):
        EnsembleClassifier.from_runs([three_runs[0], str(tmp_path / "other")], load_run=load_run)
    assert main(["-q", "baseline", "--method", "tfidf-ridge", "--labels", "coarse", "--validation-size", "0.25", "--output", str(tmp_path / "ridge")]) == 0
    with pytest.raises(RunError, match="no probabilities"):
        EnsembleClassifier.from_runs([three_runs[0], str(tmp_path / "ridge")], load_run=load_run)
    with pytest.raises(RunError, match="two or more"):
        EnsembleClassifier.from_runs(three_runs[:1], load_run=load_run)


def test_a_stacker_undoes_what_no_weighted_average_can():
    """Member 1 is confidently wrong in a systematic way (it swaps a and b), member 2 is a coin flip: every
    weighted average stays wrong, while the stacker learns to read member 1 backwards; the out-of-fold
    comparison sees it, on held-out posts only."""
    rng = np.random.default_rng(0)
    classes = ["a", "b", "c"]
    y = rng.integers(0, 3, size=300)
    swapped = np.array([1, 0, 2])[y]
    first = np.full((300, 3), 0.05)
    first[np.arange(300), swapped] = 0.9
    second = rng.dirichlet(np.ones(3), size=300)
    refs = [classes[i] for i in y]
    scores = compare_combiners([first, second], refs, classes, step=None, folds=5, seed=0)
    assert scores["stack"]["macro_f1"] == 1.0 and scores["weights"]["macro_f1"] < 0.6 and scores["stack"]["folds"] == 5
    assert scores["stack"]["gain_over_weights"] > 10 * scores["stack"]["gain_standard_error"]
    stacker = fit_stacker([first, second], y)
    assert (stacker_proba(stacker, [first, second], 3).argmax(axis=1) == y).all()
    partial = fit_stacker([first[y < 2], second[y < 2]], y[y < 2])  # class c never seen in validation
    proba = stacker_proba(partial, [first, second], 3)
    assert proba.shape == (300, 3) and (proba[:, 2] == 0).all() and np.allclose(proba.sum(axis=1), 1)
    with pytest.raises(ConfigError, match="combine must be one of"):
        EnsembleConfig(combine="vote")


def test_the_stacker_must_beat_the_weights_by_more_than_noise():
    """combine="auto" keeps the weighted average unless the stacker's out-of-fold gain exceeds one standard error
    (paired bootstrap over the posts): a clear gain passes; 20 posts mended and 18 others broken, out of 300, do not."""
    from topicfit.kinds.ensemble import gain_and_standard_error, stack_wins
    from topicfit.metrics import macro_f1_of

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=300)
    simpler = np.where(rng.random(300) < 0.7, y, (y + 1) % 3)
    from sklearn.metrics import f1_score

    assert macro_f1_of(y, simpler, 3) == pytest.approx(f1_score(y, simpler, average="macro"))
    slightly = simpler.copy()
    wrong, right = np.flatnonzero(simpler != y)[:20], np.flatnonzero(simpler == y)[:18]
    slightly[wrong], slightly[right] = y[wrong], (y[right] + 2) % 3  # a net gain of two posts, within noise
    clearly = np.where(rng.random(300) < 0.5, y, simpler)  # half of the mistakes mended
    for better, wins in ((slightly, False), (clearly, True)):
        gain, error = gain_and_standard_error(y, better, simpler, 3, seed=0)
        assert gain > 0 and error > 0 and (gain > error) is wins
        assert stack_wins({"stack": {"gain_over_weights": gain, "gain_standard_error": error}}) is wins
    assert not stack_wins({})


def test_stacked_ensemble_saves_loads_and_predicts_its_stacker(three_runs, tmp_path):
    out = tmp_path / "stack"
    assert main(["-q", "ensemble", *three_runs, "--combine", "stack", "--output", str(out)]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["method"] == "stack(tfidf-logreg+tfidf-nb+majority)" and run["combine"] == "stack"
    assert (out / "model" / "stacker.skops").exists()
    texts = ["orbit launch nasa", "gun law rights", "sale price offer"]
    members = [TopicClassifier.load(p).predict_proba(texts) for p in three_runs]
    from topicfit.kinds import load_skops

    expected = stacker_proba(load_skops(out / "model" / "stacker.skops"), members, len(run["classes"]))
    assert np.allclose(TopicClassifier.load(out).predict_proba(texts), expected)
    assert main(["-q", "ensemble", *three_runs, "--output", str(tmp_path / "auto")]) == 0  # auto: compared out of fold
    auto = json.loads((tmp_path / "auto" / "run.json").read_text())
    assert auto["combine"] in ("weights", "stack") and set(auto["combine_search"]) <= {"weights", "stack"}


def test_a_default_split_run_joins_runs_that_named_the_same_split(tiny_env, tmp_path):
    """`--validation-split auto` (the default) resolves to date on 20 Newsgroups: such a run and one made with
    `--validation-split date` share their validation posts, so they ensemble; a random-split run does not."""
    from topicfit.data import DataConfig, load_splits

    for name, split in (("auto", []), ("date", ["--validation-split", "date"]), ("random", ["--validation-split", "random"])):
        assert main(["-q", "baseline", "--method", "tfidf-nb", "--labels", "coarse", *split, "--output", str(tmp_path / name)]) == 0
    splits = load_splits(DataConfig(labels="coarse"))
    assert splits.info["validation_split"] == "date"
    ens = EnsembleClassifier.from_runs([str(tmp_path / "auto"), str(tmp_path / "date")], load_run=load_run, splits=splits)
    assert len(ens.members) == 2
    with pytest.raises(RunError, match="different data settings"):
        EnsembleClassifier.from_runs([str(tmp_path / "auto"), str(tmp_path / "random")], load_run=load_run, splits=splits)


def test_a_finer_run_answers_in_a_coarser_ensemble_on_posts_no_member_trained_on(tiny_env, tmp_path):
    """A run on the newsgroups joins an ensemble of a coarser scheme by summing its probabilities per class (the
    same way a 20-group run answers the 7 categories). The two runs split validation by different classes, so the
    ensemble chooses only on validation posts neither trained on. A coarser run cannot answer in a finer scheme."""
    from topicfit.data import DataConfig, load_splits
    from topicfit.labels import NEWSGROUPS
    from topicfit.runs import read_predictions

    mapping = {g: ("tech" if g.split(".")[0] in ("comp", "sci", "misc") else "life") for g in NEWSGROUPS}
    (tmp_path / "two.json").write_text(json.dumps(mapping))
    two = str(tmp_path / "two.json")
    common = ["--validation-split", "random", "--validation-size", "0.3"]
    assert main(["-q", "baseline", "--method", "tfidf-logreg", "--labels", two, *common, "--output", str(tmp_path / "two")]) == 0
    assert main(["-q", "baseline", "--method", "tfidf-nb", "--labels", "fine", *common, "--output", str(tmp_path / "fine")]) == 0
    out = tmp_path / "mixed"
    assert main(["-q", "ensemble", str(tmp_path / "fine"), str(tmp_path / "two"), "--labels", two, "--combine", "weights", "--output", str(out)]) == 0
    run = json.loads((out / "run.json").read_text())
    two_splits = load_splits(DataConfig(labels=two, validation_split="random", validation_size=0.3))
    assert run["classes"] == ["life", "tech"] and run["data_config"]["labels"] == two
    fine_splits = load_splits(DataConfig(labels="fine", validation_split="random", validation_size=0.3))
    held = [i for i in two_splits.validation.ids if i not in set(fine_splits.train.ids)]
    assert 0 < len(held) < len(two_splits.validation)
    assert [r["id"] for r in read_predictions(out / "predictions-validation.jsonl")] == held
    assert len(read_predictions(out / "predictions.jsonl")) == len(two_splits.test)  # the test posts are shared
    # loaded again, the fine member's probabilities are summed into its classes
    texts = ["orbit launch nasa", "gun law rights", "sale price offer"]
    fine = TopicClassifier.load(tmp_path / "fine")
    summed = np.zeros((len(texts), 2))
    for j, group in enumerate(fine.classes_):
        summed[:, run["classes"].index(mapping[str(group)])] += fine.predict_proba(texts)[:, j]
    assert np.allclose(load_run(out).members[0].predict_proba(texts), summed)
    expected = run["weights"][0] * summed + run["weights"][1] * TopicClassifier.load(tmp_path / "two").predict_proba(texts)
    assert np.allclose(TopicClassifier.load(out).predict_proba(texts), expected)
    with pytest.raises(RunError, match="cannot answer in label scheme 'fine'"):
        EnsembleClassifier.from_runs([str(tmp_path / "fine"), str(tmp_path / "two")], load_run=load_run, splits=fine_splits)
