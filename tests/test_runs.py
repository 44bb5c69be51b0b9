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
