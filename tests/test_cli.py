import json

import pytest

from topicfit.cli import main


def test_baseline_all_then_compare(tiny_env, tmp_path, capsys):
    assert main(["-q", "baseline", "--labels", "coarse", "--method", "all", "--output", str(tmp_path / "b"), "--validation-size", "0.25"]) == 0
    table = capsys.readouterr().out
    for method in ("random", "majority", "tfidf-logreg", "tfidf-svm", "tfidf-ridge", "tfidf-nb"):
        assert method in table
    run = tmp_path / "b" / "tfidf-logreg"
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["test"]) >= {"accuracy", "macro_f1", "weighted_f1", "loss", "n"}
    assert metrics["config"]["data_config"]["labels"] == "coarse"
    assert metrics["git_commit"] is None or len(metrics["git_commit"]) == 40
    assert {"train", "validation", "test"} <= set(metrics)
    rows = [json.loads(l) for l in (run / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == metrics["test"]["n"] and abs(sum(rows[0]["probabilities"].values()) - 1) < 1e-4
    assert set(rows[0]) == {"id", "label", "prediction", "probabilities"}
    for name in ("confusion_matrix.png", "report.md", "run.json", "model/pipeline.skops"):
        assert (run / name).exists(), name
    assert main(["compare", str(tmp_path / "b" / "random"), str(run), "--output", str(tmp_path / "cmp.md")]) == 0
    assert "tfidf-logreg" in (tmp_path / "cmp.md").read_text()


def test_train_evaluate_predict_ensemble(tiny_env, tiny_bert, tmp_path, capsys):
    run = tmp_path / "tiny"
    args = ["-q", "train", "--labels", "coarse", "--model", str(tiny_bert), "--output", str(run), "--epochs", "2",
            "--learning-rate", "5e-3", "--batch-size", "8", "--max-length", "32", "--precision", "fp32", "--validation-size", "0.25"]
    assert main(args) == 0
    assert (run / "learning_curve.png").exists() and (run / "model" / "model.safetensors").exists()
    assert not (run / "checkpoints").exists()
    run_info = json.loads((run / "run.json").read_text())
    assert run_info["kind"] == "transformer" and run_info["model_config"]["max_length"] == 32
    assert run_info["timings"]["train_samples_per_second"] > 0
    assert main(args) == 2  # refuses to overwrite a finished run
    assert "already holds a finished run" in capsys.readouterr().err
    capsys.readouterr()
    assert main(["-q", "evaluate", str(run)]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 4 * 7

    assert main(["-q", "baseline", "--labels", "coarse", "--method", "tfidf-logreg", "--output", str(tmp_path / "lr"), "--validation-size", "0.25"]) == 0
    assert main(["-q", "ensemble", str(run), str(tmp_path / "lr"), "--output", str(tmp_path / "ens")]) == 0
    ens = json.loads((tmp_path / "ens" / "run.json").read_text())
    assert ens["kind"] == "ensemble" and sum(ens["weights"]) == pytest.approx(1)
    capsys.readouterr()
    (tmp_path / "in.txt").write_text("orbit launch nasa moon\n")
    assert main(["-q", "predict", str(tmp_path / "ens"), str(tmp_path / "in.txt")]) == 0
    assert json.loads(capsys.readouterr().out)["label"] in {"alt", "comp", "misc", "rec", "sci", "soc", "talk"}


def test_evaluate_on_a_user_file(tiny_env, tmp_path, capsys):
    assert main(["-q", "baseline", "--labels", "coarse", "--method", "tfidf-svm", "--output", str(tmp_path / "svm"), "--validation-size", "0.25"]) == 0
    (tmp_path / "mine.csv").write_text("body,topic\norbit launch nasa,sci\ncar engine,rec\n")
    capsys.readouterr()
    assert main(["-q", "evaluate", str(tmp_path / "svm"), "--data", str(tmp_path / "mine.csv"), "--text-column", "body", "--label-column", "topic"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 2 and result["accuracy"] == 1.0


def test_config_file_and_clear_errors(tiny_env, tmp_path, capsys):
    (tmp_path / "cfg.yaml").write_text("labels: fine\nvalidation_size: 0.25\n")
    assert main(["-q", "baseline", "--method", "majority", "--config", str(tmp_path / "cfg.yaml"), "--output", str(tmp_path / "m")]) == 0
    assert json.loads((tmp_path / "m" / "run.json").read_text())["labels"] == "fine"
    capsys.readouterr()
    assert main(["baseline", "--method", "majority", "--dataset", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "file not found" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unknown_config_key_stops_with_the_valid_names(tiny_env, tmp_path, capsys):
    (tmp_path / "typo.yaml").write_text("labels: fine\nlearning_rat: 0.001\n")
    assert main(["-q", "train", "--config", str(tmp_path / "typo.yaml"), "--output", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    assert "unknown setting(s) 'learning_rat'" in err and "learning_rate" in err and not (tmp_path / "t").exists()


def test_config_file_fills_in_non_dataclass_options_and_flags_win(tiny_env, tmp_path, capsys):
    (tmp_path / "t.json").write_text('{"trials": 2, "validation-size": 0.25, "labels": "fine"}')
    pytest.importorskip("optuna")
    assert main(["-q", "tune", "--method", "tfidf-nb", "--config", str(tmp_path / "t.json"), "--labels", "coarse",
                 "--output", str(tmp_path / "tune")]) == 0
    summary = json.loads((tmp_path / "tune" / "tune.json").read_text())
    run = json.loads((tmp_path / "tune" / "best" / "run.json").read_text())
    assert summary["trials"] == 2 and run["labels"] == "coarse" and run["data_config"]["validation_size"] == 0.25


def test_verbose_shows_the_traceback_of_a_user_error(tiny_env, tmp_path, capsys):
    assert main(["-v", "baseline", "--method", "majority", "--dataset", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "DataError" in err and err.strip().endswith("file not found")


def test_a_bug_is_not_dressed_up_as_a_user_error(tiny_env, tmp_path, monkeypatch):
    from topicfit import cli

    def broken(args):
        raise ValueError("a bug, not a user's mistake")

    monkeypatch.setitem(cli.COMMANDS, "compare", broken)
    with pytest.raises(ValueError, match="a bug"):
        main(["compare", str(tmp_path)])


def test_user_dataset_end_to_end(tmp_path, capsys):
    rows = ["text,label"] + [f"{w} {w} story {i},{lab}" for lab, w in (("space", "rocket"), ("cars", "engine")) for i in range(12)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    assert main(["-q", "baseline", "--dataset", str(tmp_path / "d.csv"), "--method", "tfidf-logreg", "--output", str(tmp_path / "r"), "--validation-size", "0.2"]) == 0
    run = json.loads((tmp_path / "r" / "run.json").read_text())
    assert run["classes"] == ["cars", "space"] and run["labels"] == "identity"


def test_ensemble_needs_the_same_data(tiny_env, tmp_path, capsys):
    common = ["--validation-size", "0.25"]
    assert main(["-q", "baseline", "--method", "tfidf-logreg", "--output", str(tmp_path / "a"), *common]) == 0
    assert main(["-q", "baseline", "--method", "tfidf-nb", "--output", str(tmp_path / "b"), "--max-train-samples", "20", *common]) == 0
    assert main(["-q", "baseline", "--method", "tfidf-nb", "--output", str(tmp_path / "c"), "--labels", "fine", *common]) == 0
    assert main(["-q", "ensemble", str(tmp_path / "b"), str(tmp_path / "a"), "--output", str(tmp_path / "ab")]) == 0  # a capped train split is fine
    assert main(["-q", "baseline", "--method", "tfidf-nb", "--output", str(tmp_path / "d"), "--validation-size", "0.3"]) == 0
    capsys.readouterr()
    assert main(["-q", "ensemble", str(tmp_path / "a"), str(tmp_path / "d"), "--output", str(tmp_path / "ad")]) == 2
    assert "different data settings (validation_size)" in capsys.readouterr().err
    # a fine run answers in a coarse ensemble (the first run's scheme); a coarse run cannot answer the fine groups
    assert main(["-q", "ensemble", str(tmp_path / "a"), str(tmp_path / "c"), "--output", str(tmp_path / "ac")]) == 0
    assert main(["-q", "ensemble", str(tmp_path / "c"), str(tmp_path / "a"), "--output", str(tmp_path / "ca")]) == 2
    assert "cannot answer in label scheme 'fine'" in capsys.readouterr().err
