import json

import pytest

from topicfit.cli import main
from topicfit.errors import ConfigError


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


# --- the flags are generated from the settings dataclasses ------------------------------------------------------


def _shown(default, flag):
    if isinstance(default, bool):
        return flag if default else "--no-" + flag[2:]
    return "none" if default is None else str(default)


def test_every_setting_has_a_flag_whose_help_shows_its_default():
    from dataclasses import MISSING, fields

    from topicfit.cli import DISTILL_SETTINGS, build_parser
    from topicfit.data import DataConfig
    from topicfit.kinds.embed import EmbedConfig
    from topicfit.kinds.transformer import TrainConfig
    from topicfit.topics import TopicsConfig

    _, commands = build_parser()
    for command, cls, left_out in (("train", DataConfig, ()), ("train", TrainConfig, (*DISTILL_SETTINGS, "teacher")),
                                   ("distill", TrainConfig, ("teacher",)), ("embed", EmbedConfig, ()), ("topics", TopicsConfig, ())):
        sub = commands[command]
        actions = {}
        for a in sub._actions:
            if a.option_strings:
                actions.setdefault(a.dest, a)  # a field's flag first; then aliases such as --cut
        for f in fields(cls):
            if f.name in left_out:
                assert f.name not in actions, f"{command}: {f.name} should have no flag"
                continue
            assert f.name in actions, f"{command}: no flag for {cls.__name__}.{f.name}"
            assert f.metadata.get("help"), f"{cls.__name__}.{f.name} has no help"
            default = f.default if f.default is not MISSING else f.default_factory()
            text = sub._get_formatter()._expand_help(actions[f.name])  # what --help prints
            assert text.endswith(f"(default: {_shown(default, actions[f.name].option_strings[0])})"), (command, f.name, text)
    assert [f.name for f in fields(TrainConfig) if f.metadata.get("cli") is False] == ["teacher"]  # set from distill's TEACHER


def test_help_output_shows_the_real_defaults(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exc:
        main(["train", "--help"])
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--warmup FLOAT share of the optimisation steps spent warming up the learning rate (default: 0.06)" in out
    assert "--validation-size FLOAT share of the training data held out for model selection (default: 0.1)" in out
    assert "--class-weight {balanced,none} none, or balanced: inverse class frequency in the loss (default: none)" in out
    assert "--train-eval-samples INT score a stratified sample of this many training posts; 0: all (default: 2000)" in out
    with pytest.raises(SystemExit):
        main(["embed", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--max-windows INT at most this many windows per post (default: 16)" in out and "--cut the same as --no-whole" in out


def test_old_flag_names_keep_their_meaning(tmp_path):
    from topicfit.cli import data_config, parse_args
    from topicfit.data import CorpusConfig
    from topicfit.kinds.embed import EmbedConfig
    from topicfit.kinds.ensemble import EnsembleConfig
    from topicfit.kinds.transformer import TrainConfig
    from topicfit.settings import settings_from_args

    out = ["--output", str(tmp_path / "o")]
    embed = settings_from_args(parse_args(["embed", "--cut", "--C", "4", "--max-length", "128", *out]), EmbedConfig)
    assert (embed.whole, embed.C, embed.max_length) == (False, 4.0, 128)
    args = parse_args(["distill", "runs/t", "--student", "mpnet", "--no-teacher-calibration", "--teacher-folds", "0", *out])
    distill = settings_from_args(args, TrainConfig, teacher="runs/t")
    assert (distill.model, distill.teacher_calibration, distill.teacher_folds, distill.teacher) == ("mpnet", False, 0, "runs/t")
    args = parse_args(["train", "--class-weight", "none", "--attention-dropout", "-1", "--seed", "7", *out])
    train = settings_from_args(args, TrainConfig)
    assert (train.class_weight, train.attention_dropout, train.seed, data_config(args).seed) == (None, None, 7, 7)
    assert settings_from_args(parse_args(["train", *out]), TrainConfig) == TrainConfig()
    assert data_config(parse_args(["baseline", "--method", "majority", "--dataset", "mine.csv", *out])).labels == "identity"
    assert data_config(parse_args(["baseline", "--method", "all", "--dataset", "mine.csv", "--labels", "m.yaml", *out])).labels == "m.yaml"
    assert data_config(parse_args(["baseline", "--method", "majority", "--keep-headers", *out])).keep_headers is True
    args = parse_args(["ensemble", "a", "b", "--combine", "stack", "--labels", "fine", *out])
    assert settings_from_args(args, EnsembleConfig).combine == "stack" and args.labels == "fine"
    assert settings_from_args(parse_args(["topics", "--labels", "none", *out]), CorpusConfig).labels is None
    assert settings_from_args(parse_args(["topics", *out]), CorpusConfig).labels == "fine"


def test_a_config_file_unset_flags_keep_its_values(tmp_path):
    from topicfit.cli import parse_args
    from topicfit.kinds.transformer import TrainConfig
    from topicfit.settings import settings_from_args

    (tmp_path / "d.yaml").write_text("teacher_calibration: false\nattention_dropout: -1\nstudent_typo: 1\n")
    with pytest.raises(ConfigError, match="'student_typo'"):
        parse_args(["distill", "runs/t", "-o", "x", "--config", str(tmp_path / "d.yaml")])
    (tmp_path / "d.yaml").write_text("teacher_calibration: false\nattention_dropout: -1\nmodel: mpnet\n")
    config = settings_from_args(parse_args(["distill", "runs/t", "-o", "x", "--config", str(tmp_path / "d.yaml")]), TrainConfig)
    assert (config.teacher_calibration, config.attention_dropout, config.model) == (False, None, "mpnet")
    config = settings_from_args(parse_args(["distill", "runs/t", "-o", "x", "--config", str(tmp_path / "d.yaml"),
                                            "--teacher-calibration", "--student", "minilm"]), TrainConfig)
    assert (config.teacher_calibration, config.model) == (True, "minilm")  # flags win


def test_topics_reads_every_post_of_train_and_test(tiny_env):
    from topicfit.data import CorpusConfig, load_corpus, load_newsgroups

    docs = load_corpus(CorpusConfig(labels="coarse"))
    train, test = load_newsgroups(subset="train"), load_newsgroups(subset="test")
    assert docs.ids == train.ids + test.ids and docs.texts == train.texts + test.texts
    assert docs.labels[0] == train.labels[0].split(".")[0] and set(docs.labels) == {"alt", "comp", "misc", "rec", "sci", "soc", "talk"}
    assert set(load_corpus(CorpusConfig(labels=None)).labels) == {""}


def test_the_training_posts_scored_are_a_sample_only_for_a_slow_kind(tiny_env, tmp_path):
    import inspect

    from topicfit.data import DataConfig
    from topicfit.kinds.baseline import BaselineClassifier, BaselineConfig
    from topicfit.workflow import TRAIN_EVAL_SAMPLES, fit_run

    assert inspect.signature(fit_run).parameters["train_sample"].default == TRAIN_EVAL_SAMPLES == 2000
    config = DataConfig(labels="coarse", validation_size=0.25)
    _, run, metrics = fit_run(BaselineClassifier(BaselineConfig("tfidf-nb")), config, tmp_path / "nb", train_sample=10)
    assert metrics["train"]["n"] == run["data"]["n"]["train"] == 42  # cheap to score: every training post

    class Slow(BaselineClassifier):
        sample_train_eval = True

    _, _, metrics = fit_run(Slow(BaselineConfig("tfidf-nb")), config, tmp_path / "slow", train_sample=10)
    assert metrics["train"]["n"] == 10
    _, _, metrics = fit_run(Slow(BaselineConfig("tfidf-nb")), config, tmp_path / "all", train_sample=0)
    assert metrics["train"]["n"] == 42


def test_one_default_backend_for_the_library_and_the_command_line():
    import inspect

    from topicfit.backends import DEFAULT_BACKEND
    from topicfit.cli import build_parser
    from topicfit.predict import TopicClassifier
    from topicfit.registry import load_run

    _, commands = build_parser()
    defaults = {command: next(a.default for a in commands[command]._actions if a.dest == "backend") for command in ("evaluate", "predict", "serve")}
    assert DEFAULT_BACKEND == "auto" and set(defaults.values()) == {DEFAULT_BACKEND}
    assert inspect.signature(load_run).parameters["backend"].default == DEFAULT_BACKEND
    assert inspect.signature(TopicClassifier.load).parameters["backend"].default == DEFAULT_BACKEND
