import pytest

from topicfit.runs import RUN_FILE, RunError, environment, finish_run, read_run, start_run, write_json


def test_run_folder_lifecycle(tmp_path):
    run = start_run(tmp_path / "r")
    (run / "partial.txt").write_text("x")
    with pytest.raises(RunError, match="not a finished topicfit run"):
        read_run(run)
    with pytest.raises(RunError, match="--resume"):
        start_run(run)
    assert start_run(run, resume=True) == run
    write_json(run / "metrics.json", {"test": {"accuracy": 1.0}})
    finish_run(run, {"kind": "baseline"})
    assert read_run(run) == ({"kind": "baseline"}, {"test": {"accuracy": 1.0}})
    with pytest.raises(RunError, match="--overwrite"):
        start_run(run)
    with pytest.raises(RunError, match="nothing to resume"):
        start_run(run, resume=True)
    fresh = start_run(run, overwrite=True)
    assert not (fresh / RUN_FILE).exists()


def test_environment_records_how_results_were_made():
    env = environment()
    assert env["machine"]["cores"] >= 1 and "torch" in env["versions"] and env["created"]
    assert isinstance(env["machine"]["cpu_flags"], list)


def test_model_card_has_hub_metadata(tiny_env, tmp_path):
    import yaml

    from topicfit.cli import main

    assert main(["-q", "baseline", "--method", "tfidf-logreg", "--output", str(tmp_path / "r"), "--validation-size", "0.25"]) == 0
    card = (tmp_path / "r" / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["pipeline_tag"] == "text-classification" and meta["datasets"] == ["SetFit/20_newsgroups"]
    values = {m["name"]: m["value"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    assert set(values) >= {"accuracy", "macro-F1", "weighted-F1"}
    assert "leak" in card and (tmp_path / "r" / "model" / "README.md").read_text() == card
    assert meta["library_name"] == "sklearn"


def test_predictions_file_round_trips(tmp_path):
    import numpy as np

    from topicfit.runs import predictions_path, read_predictions, saved_probabilities, write_predictions

    proba = np.array([[0.2, 0.8], [0.9, 0.1]])
    path = predictions_path(tmp_path, "test")
    write_predictions(path, ids=["x", "y"], references=["b", "b"], predictions=["b", "a"], probabilities=proba, classes=["a", "b"])
    rows = read_predictions(path)
    assert rows[0] == {"id": "x", "label": "b", "prediction": "b", "probabilities": {"a": 0.2, "b": 0.8}}
    assert rows[1]["prediction"] == "a" and predictions_path(tmp_path, "validation").name == "predictions-validation.jsonl"
    # read back in another order of documents and classes
    assert saved_probabilities(tmp_path, "test", ["y", "x"], ["b", "a"]).tolist() == [[0.1, 0.9], [0.8, 0.2]]
    with pytest.raises(RunError, match="lacks 1 documents"):
        saved_probabilities(tmp_path, "test", ["z"], ["a", "b"])


def test_git_commit_is_a_hash_or_none(tmp_path):
    import subprocess

    from topicfit.runs import git_commit

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert git_commit(tmp_path) is None  # a repository without commits: no "HEAD" placeholder
    commit = git_commit()
    assert commit is None or (len(commit) == 40 and int(commit, 16) >= 0)
