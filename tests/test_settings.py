"""The flag generator: a settings dataclass field becomes a flag with its type, help and default, and back."""

import argparse
import doctest
import json
from dataclasses import dataclass, field

import pytest

from topicfit import settings
from topicfit.data import DataConfig
from topicfit.errors import ConfigError
from topicfit.kinds.embed import EmbedConfig
from topicfit.kinds.transformer import TrainConfig
from topicfit.settings import NONE, add_settings, apply_config, read_config, settings_from_args


@dataclass(frozen=True)
class WiderEmbed(EmbedConfig):
    """EmbedConfig plus one setting, written once: the field."""

    pool_layers: int = field(default=1, metadata={"help": "last hidden layers averaged into the embedding"})


def parser_for(*classes, **options) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="t")
    for cls in classes:
        add_settings(parser, cls, **options)
    return parser


def action(parser, dest):
    return next(a for a in parser._actions if a.dest == dest)


def help_of(parser, dest) -> str:
    return parser._get_formatter()._expand_help(action(parser, dest))


def test_a_new_setting_is_one_edit():
    parser = argparse.ArgumentParser(prog="t")
    assert add_settings(parser, WiderEmbed)[-1] == "pool_layers"
    assert action(parser, "pool_layers").option_strings == ["--pool-layers"]
    assert help_of(parser, "pool_layers") == "last hidden layers averaged into the embedding (default: 1)"
    args = parser.parse_args(["--pool-layers", "3", "--max-windows", "4"])
    assert args.pool_layers == 3 and type(args.pool_layers) is int
    assert settings_from_args(args, WiderEmbed) == WiderEmbed(pool_layers=3, max_windows=4)
    assert settings_from_args(parser.parse_args([]), WiderEmbed) == WiderEmbed()  # unset: the dataclass defaults
    with pytest.raises(SystemExit):
        parser.parse_args(["--pool-layers", "two"])


def test_types_come_from_the_annotations():
    parser = parser_for(TrainConfig)
    args = parser.parse_args(["--epochs", "2", "--batch-size", "8", "--model", "mpnet", "--early-stopping-patience", "2"])
    config = settings_from_args(args, TrainConfig)
    assert (config.epochs, config.batch_size, config.model, config.early_stopping_patience) == (2.0, 8, "mpnet", 2)
    assert type(config.epochs) is float and type(config.batch_size) is int
    with pytest.raises(SystemExit):
        parser.parse_args(["--batch-size", "8.5"])
    with pytest.raises(SystemExit):  # choices from the metadata
        parser.parse_args(["--truncation", "tail"])


def test_bool_flags_unset_leave_the_default_and_no_x_is_false():
    parser = parser_for(EmbedConfig)
    assert parser.parse_args([]).whole is None and settings_from_args(parser.parse_args([]), EmbedConfig).whole is True
    assert settings_from_args(parser.parse_args(["--no-whole"]), EmbedConfig).whole is False
    assert settings_from_args(parser.parse_args(["--cut"]), EmbedConfig).whole is False  # metadata false_flags
    assert settings_from_args(parser.parse_args(["--whole"]), EmbedConfig).whole is True
    data = parser_for(DataConfig)
    assert settings_from_args(data.parse_args([]), DataConfig).keep_headers is False
    assert settings_from_args(data.parse_args(["--keep-headers"]), DataConfig).keep_headers is True
    assert help_of(data, "keep_headers").endswith("(default: --no-keep-headers)")


def test_none_is_told_apart_from_a_flag_not_given():
    parser = parser_for(TrainConfig)
    assert settings_from_args(parser.parse_args([]), TrainConfig).attention_dropout == 0.0
    for text in ("-1", "-1.0", "none"):  # metadata "none": -1
        args = parser.parse_args(["--attention-dropout", text])
        assert args.attention_dropout is NONE and settings_from_args(args, TrainConfig).attention_dropout is None
    assert settings_from_args(parser.parse_args(["--attention-dropout", "0.1"]), TrainConfig).attention_dropout == 0.1
    assert settings_from_args(parser.parse_args(["--class-weight", "none"]), TrainConfig).class_weight is None
    assert settings_from_args(parser.parse_args(["--class-weight", "balanced"]), TrainConfig).class_weight == "balanced"
    with pytest.raises(SystemExit):
        parser.parse_args(["--epochs", "none"])  # not an optional field


def test_a_shared_field_is_one_flag_that_fills_both_classes():
    parser = argparse.ArgumentParser(prog="t")
    assert "seed" in add_settings(parser, DataConfig)
    assert "seed" not in add_settings(parser, TrainConfig)
    args = parser.parse_args(["--seed", "7"])
    assert settings_from_args(args, DataConfig).seed == 7 and settings_from_args(args, TrainConfig).seed == 7


def test_only_exclude_overrides_and_cli_false():
    parser = parser_for(TrainConfig, only=("model", "teacher_calibration"), overrides={"model": {"flags": ["--student"], "help": "x"}})
    assert sorted(s for a in parser._actions for s in a.option_strings if s != "-h") == [
        "--help", "--no-teacher-calibration", "--student", "--teacher-calibration"]
    assert help_of(parser, "model") == "x (default: minilm)"
    assert not any(a.dest == "teacher" for a in parser_for(TrainConfig)._actions)  # metadata cli: False
    args = argparse.Namespace(teacher="ignored", model="m")
    assert settings_from_args(args, TrainConfig, teacher="runs/t").teacher == "runs/t"
    assert settings_from_args(args, TrainConfig).teacher is None  # a cli: False field never comes from the flags
    with pytest.raises(ValueError, match="no setting 'modle'.*model"):
        parser_for(TrainConfig, exclude=("modle",))
    with pytest.raises(ValueError, match="unknown metadata"):
        parser_for(TrainConfig, overrides={"model": {"hepl": "x"}})


def test_a_type_no_flag_holds_needs_cli_false():
    @dataclass(frozen=True)
    class Bad(settings.Settings):
        params: dict = field(default_factory=dict, metadata={"help": "overrides"})

    with pytest.raises(TypeError, match="Bad.params"):
        parser_for(Bad)


def test_a_config_file_fills_the_same_fields_and_is_checked(tmp_path):
    parser = parser_for(DataConfig, TrainConfig)
    (tmp_path / "c.yaml").write_text("attention-dropout: -1\nclass_weight: null\nepochs: 2\nkeep_headers: true\nvalidation_size: 0.25\n")
    apply_config(parser, read_config(tmp_path / "c.yaml"), source="c.yaml")
    args = parser.parse_args(["--epochs", "4"])  # a flag wins over the file
    train, data = settings_from_args(args, TrainConfig), settings_from_args(args, DataConfig)
    assert (train.attention_dropout, train.class_weight, train.epochs) == (None, None, 4.0)
    assert (data.keep_headers, data.validation_size) == (True, 0.25)
    for bad, message in ((["epochs: many"], "epochs takes a float, got 'many'"), (["keep_headers: 'yes'"], "keep_headers takes true or false"),
                         (["truncation: tail"], "truncation must be one of head, head\\+tail"),
                         (["learning_rat: 0.1"], "unknown setting\\(s\\) 'learning_rat' for `t`; valid names: .*learning_rate")):
        (tmp_path / "bad.yaml").write_text("\n".join(bad) + "\n")
        with pytest.raises(ConfigError, match=message):
            apply_config(parser_for(DataConfig, TrainConfig), read_config(tmp_path / "bad.yaml"), source="bad.yaml")
    (tmp_path / "c.json").write_text(json.dumps({"max-length": 64}))
    assert read_config(tmp_path / "c.json") == {"max_length": 64}
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(ConfigError, match="expected a mapping"):
        read_config(tmp_path / "list.json")


def test_the_module_example_runs():
    assert doctest.testmod(settings, raise_on_error=False).failed == 0
