import json

import pytest

pytest.importorskip("optuna")

from topicfit.cli import main  # noqa: E402


def test_tune_baseline_resumes_and_retrains_the_best(tiny_env, tmp_path, capsys):
    out = tmp_path / "tune"
    args = ["-q", "tune", "--method", "tfidf-logreg", "--trials", "3", "--output", str(out), "--validation-size", "0.25"]
    assert main(args) == 0
    summary = json.loads((out / "tune.json").read_text())
    assert summary["completed"] == 3 and (out / "best" / "run.json").exists()
    # trial 0 is the baseline as it runs by default: the same settings, and the same validation score as a plain run
    from topicfit.kinds.baseline import BaselineClassifier, BaselineConfig

    assert summary["default_params"] == BaselineClassifier.default_params(BaselineConfig("tfidf-logreg"))
    assert main(["-q", "baseline", "--method", "tfidf-logreg", "--output", str(tmp_path / "plain"), "--validation-size", "0.25"]) == 0
    plain = json.loads((tmp_path / "plain" / "metrics.json").read_text())["validation"]["macro_f1"]
    assert summary["default_validation_macro_f1"] == pytest.approx(plain)
    assert summary["gain_over_defaults"] == pytest.approx(summary["best_validation_macro_f1"] - plain)
    assert (out / "optimization_history.png").exists() and (out / "study.db").exists()
    # an interrupted or extended search continues from the SQLite study instead of starting over
    assert main(args) == 2
    assert "--resume" in capsys.readouterr().err
    more = ["-q", "tune", "--method", "tfidf-logreg", "--trials", "5", "--output", str(out), "--validation-size", "0.25", "--resume"]
    assert main(more) == 0
    assert json.loads((out / "tune.json").read_text())["trials"] == 5


def test_tune_transformer_quick(tiny_env, tiny_bert, tmp_path):
    out = tmp_path / "tune-tiny"
    assert main(["-q", "tune", "--model", str(tiny_bert), "--trials", "4", "--quick", "--quick-samples", "28", "--output", str(out),
                 "--validation-size", "0.25", "--precision", "fp32", "--max-length", "32"]) == 0
    summary = json.loads((out / "tune.json").read_text())
    assert summary["trials"] == 4 and summary["best_test"]["n"] == 28
    # each epoch is reported at "percent of the schedule done", so pruning compares like with like
    import optuna

    study = optuna.load_study(study_name="topicfit", storage=f"sqlite:///{out / 'study.db'}")
    for trial in study.trials:
        epochs = trial.params["epochs"]
        expected = [round(100 * e / epochs) for e in range(1, epochs + 1)]
        assert sorted(trial.intermediate_values) == expected[: len(trial.intermediate_values)] and trial.intermediate_values
    run = json.loads((out / "best" / "run.json").read_text())
    assert run["kind"] == "transformer" and run["model_config"]["learning_rate"] == summary["best_params"]["learning_rate"]
    # quick trials keep the user's max length: 1,000 posts cannot tell what longer inputs are worth
    assert "max_length" not in summary["best_params"] and run["model_config"]["max_length"] == 32


def test_a_trial_still_training_at_the_timeout_is_stopped_and_pruned():
    import time

    import optuna

    from topicfit.kinds.transformer import pruning_callback as _pruning_callback

    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    running = _pruning_callback(trial, epochs=3, deadline=time.monotonic() + 3600)
    running.on_step_end(None, type("State", (), {"global_step": 5})(), None)  # before the deadline: goes on
    late = _pruning_callback(trial, epochs=3, deadline=time.monotonic() - 1)
    with pytest.raises(optuna.TrialPruned, match="timeout"):
        late.on_step_end(None, type("State", (), {"global_step": 6})(), None)
