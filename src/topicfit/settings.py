"""Settings: the frozen dataclasses every part of topicfit is configured by, and the command line made from them.

Each setting is written once, as a field with its help in the field's metadata (as transformers'
``HfArgumentParser`` reads them); the flags, their help and a ``--config`` file's keys all come from there::

    @dataclass(frozen=True)
    class EmbedConfig(Settings):
        max_windows: int = field(default=16, metadata={"help": "at most this many windows per post"})

:func:`add_settings` turns every field into a flag (``--max-windows MAX_WINDOWS``, help "at most this many
windows per post (default: 16)"); :func:`settings_from_args` builds the dataclass back from the parsed flags.
Adding a setting is one edit: the new field. The help never states a default: :func:`add_settings` appends
"(default: X)" from the field itself, so the two cannot disagree.

The flag: ``--`` plus the field's name with dashes for underscores, of the annotation's type (``int``,
``float``, ``str``; ``X | None`` is ``X``, and the word ``none`` stands for ``None``). A ``bool`` field is a
pair, ``--x`` / ``--no-x``. Every flag's argparse default is ``None``, "not given", so a flag left out never
overrides a ``--config`` file's value nor the dataclass default; an explicit ``none`` is told apart from it
(:data:`NONE`). Keys of the field's ``metadata``, all optional:

- ``help`` (str): what the setting does (never its default);
- ``choices`` (tuple): the values allowed (with ``none`` too for an ``X | None`` field);
- ``flags`` (list[str]): the option strings to use instead of ``--field-name``, for a flag whose name differs
  from the field's; a command can rename one flag with ``overrides`` (``topicfit distill``'s ``--student`` is
  ``TrainConfig.model``);
- ``false_flags`` (list[str]): a ``bool`` field's further option strings that set it False (``--cut`` for
  ``EmbedConfig.whole``), beside ``--no-x``;
- ``none``: a value that means ``None`` as well as ``none`` (``-1`` for ``TrainConfig.attention_dropout``);
- ``cli`` (bool): ``False`` keeps the field off the command line (a value the code sets, or a ``dict``).

A field that two dataclasses of one command share (``seed`` of ``DataConfig`` and of ``TrainConfig``) is one
flag, made by the first :func:`add_settings` call, and fills both.

>>> import argparse
>>> from dataclasses import dataclass, field
>>> @dataclass(frozen=True)
... class Demo(Settings):
...     rounds: int = field(default=3, metadata={"help": "boosting rounds"})
...     shuffle: bool = field(default=True, metadata={"help": "shuffle the posts"})
>>> parser = argparse.ArgumentParser()
>>> add_settings(parser, Demo)
['rounds', 'shuffle']
>>> settings_from_args(parser.parse_args(["--rounds", "5", "--no-shuffle"]), Demo)
Demo(rounds=5, shuffle=False)
>>> settings_from_args(parser.parse_args([]), Demo)
Demo(rounds=3, shuffle=True)
"""

from __future__ import annotations

import argparse
import json
import types
import typing
from dataclasses import MISSING, Field, asdict, fields
from pathlib import Path

from .errors import ConfigError

METADATA_KEYS = ("help", "choices", "flags", "false_flags", "none", "cli", "required")  # "required": in overrides only


class Settings:
    """Mixin for frozen dataclasses of settings: ``to_dict`` for run.json, ``from_dict`` to read it back.

    ``from_dict`` ignores keys the class does not know, so a run written by a newer topicfit still loads.
    """

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


# --- the command line, generated from the fields --------------------------------------------------------------


class _NoneValue:
    """What ``none`` parses to: an explicit ``None``, told apart from a flag not given (``None``)."""

    def __repr__(self) -> str:  # argparse lists repr(choices) in "invalid choice" and str(choices) in the usage
        return "'none'"

    def __str__(self) -> str:
        return "none"


NONE = _NoneValue()


def _flag_type(hint) -> tuple[type, bool]:
    """``(base type, optional)`` of an annotation: ``int | None`` is ``(int, True)``."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0], True
    return hint, False


def _parser(base: type, optional: bool, none_value):
    """The ``type=`` of a flag: ``base``, with ``none`` (and ``none_value``) parsed to :data:`NONE`."""
    if not optional:
        return None if base is str else base

    def parse(text: str):
        if text.strip().lower() == "none":
            return NONE
        value = base(text)
        return NONE if none_value is not None and value == base(none_value) else value

    parse.__name__ = base.__name__  # argparse's message: "invalid float value: 'x'"
    return parse


def _default_of(f: Field):
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else MISSING


def _shown(default, flags: list[str]) -> str:
    """The default as a user would type it: ``none``, ``--whole`` / ``--no-whole``, else the value."""
    if isinstance(default, bool):
        return flags[0] if default else f"--no-{flags[0][2:]}"
    return "none" if default is None else str(default)


def add_settings(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type, *, only=None, exclude=(),
                 overrides: dict[str, dict] | None = None) -> list[str]:
    """Add a flag for each field of the settings dataclass ``cls`` to ``parser`` (or an argument group of it).

    Args:
        parser (ArgumentParser | argument group): where the flags go.
        cls (type): a dataclass whose fields carry ``metadata`` as the module's docstring describes.
        only (iterable of str | None, default None): add only these fields.
        exclude (iterable of str, default ()): leave these fields out.
        overrides (dict[str, dict] | None, default None): per field, metadata that replaces the field's for this
            parser, plus ``required``: e.g. ``{"model": {"flags": ["--student"], "help": "the student encoder"}}``.

    Returns:
        list[str]: the fields that got a flag (not those left out, nor those whose flag the parser already has).

    Raises ``ValueError`` for a name in ``only``, ``exclude`` or ``overrides`` that is not a field (listing the
    fields), or for an unknown metadata key; ``TypeError`` for a field of a type no flag can hold (give it
    ``metadata={"cli": False}``).
    """
    names = [f.name for f in fields(cls)]
    overrides = overrides or {}
    for name in (*(only or ()), *exclude, *overrides):
        if name not in names:
            raise ValueError(f"{cls.__name__} has no setting {name!r}; its settings: {', '.join(names)}")
    hints = typing.get_type_hints(cls)
    added = []
    for f in fields(cls):
        meta = {**f.metadata, **overrides.get(f.name, {})}
        unknown = sorted(set(meta) - set(METADATA_KEYS))
        if unknown:
            raise ValueError(f"{cls.__name__}.{f.name}: unknown metadata {unknown}; known keys: {', '.join(METADATA_KEYS)}")
        if (only is not None and f.name not in only) or f.name in exclude or meta.get("cli", True) is False:
            continue
        flags = list(meta.get("flags") or [f"--{f.name.replace('_', '-')}"])
        if any(flag in parser._option_string_actions for flag in flags):
            continue  # shared with a class added before (e.g. seed): that one flag fills both
        base, optional = _flag_type(hints[f.name])
        default = _default_of(f)
        help_text = meta.get("help", "")
        if default is not MISSING and not meta.get("required"):
            help_text = f"{help_text} (default: {_shown(default, flags)})".lstrip()
        common = {"dest": f.name, "default": None, "help": help_text.replace("%", "%%"), "required": meta.get("required", False)}
        if base is bool and not optional:
            parser.add_argument(*flags, action=argparse.BooleanOptionalAction, **common)
            if meta.get("false_flags"):
                parser.add_argument(*meta["false_flags"], dest=f.name, action="store_const", const=False, default=None,
                                    help=f"the same as --no-{flags[0][2:]}")
        elif base in (int, float, str):
            if meta.get("none") is not None and not optional:
                raise ValueError(f"{cls.__name__}.{f.name}: metadata 'none' needs an optional field (X | None)")
            choices = meta.get("choices")
            if choices is not None:
                choices = [*choices, *([NONE] if optional else [])]
            metavar = None if choices is not None or base is str else base.__name__.upper()  # --max-length INT
            action = parser.add_argument(*flags, type=_parser(base, optional, meta.get("none")), choices=choices, metavar=metavar,
                                         **common)
            action.accepts_none = optional
        else:
            raise TypeError(f"{cls.__name__}.{f.name}: no flag holds a {hints[f.name]}; "
                            "use int, float, str, bool or X | None, or metadata={'cli': False}")
        added.append(f.name)
    return added


def settings_from_args(args: argparse.Namespace, cls: type, **values):
    """The dataclass ``cls`` from parsed flags: each field from its flag (or the ``--config`` file), else its
    default; ``values`` win over both. Fields marked ``metadata={"cli": False}`` come from ``values`` only.

    >>> settings_from_args(argparse.Namespace(max_windows=4, whole=None), EmbedConfig).max_windows  # doctest: +SKIP
    4
    """
    names = [f.name for f in fields(cls)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ValueError(f"{cls.__name__} has no setting(s) {unknown}; its settings: {', '.join(names)}")
    given = {}
    for f in fields(cls):
        value = getattr(args, f.name, None)
        if value is not None and f.metadata.get("cli", True) is not False:
            given[f.name] = None if value is NONE else value
    return cls(**{**given, **values})


# --- a --config file: the same settings as the flags ------------------------------------------------------------


def read_config(path: str | Path) -> dict:
    """The settings in a JSON or YAML file (``.yaml``/``.yml``), keys as flag names with underscores."""
    path = Path(path)
    is_yaml = path.suffix.lower() in (".yaml", ".yml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from None
    if is_yaml:
        import yaml

        errors: tuple[type[Exception], ...] = (yaml.YAMLError,)
    else:
        errors = (json.JSONDecodeError,)
    try:
        cfg = (yaml.safe_load(text) if is_yaml else json.loads(text)) or {}
    except errors as exc:
        raise ConfigError(f"{path} is not valid {'YAML' if is_yaml else 'JSON'}: {exc}") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(cfg).__name__}")
    return {str(k).replace("-", "_"): v for k, v in cfg.items()}


def _config_value(action: argparse.Action, key: str, value, source: str):
    """A file's ``value`` for ``action``, parsed as the flag parses its text (so ``-1`` and ``none`` mean the same)."""
    if value is None:
        return NONE if getattr(action, "accepts_none", False) else None
    if action.nargs == 0:
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: {key} takes true or false, got {value!r}")
        return value
    if action.type is not None and not isinstance(value, (list, dict)):
        try:
            value = action.type(str(value))
        except (ValueError, TypeError, argparse.ArgumentTypeError):
            raise ConfigError(f"{source}: {key} takes a {getattr(action.type, '__name__', 'value')}, got {value!r}") from None
    if action.choices is not None and value not in action.choices:
        raise ConfigError(f"{source}: {key} must be one of {', '.join(map(str, action.choices))}, got {value!r}")
    return value


def apply_config(parser: argparse.ArgumentParser, config: dict, *, source: str,
                 ignore=("help", "config", "output", "overwrite")) -> None:
    """Make ``config`` (from :func:`read_config`) the defaults of ``parser``'s flags, so flags given still win.

    A key that names no flag (or one in ``ignore``) stops with a :class:`ConfigError` listing the valid names,
    so a typo is never silently ignored; values are checked and parsed as the flags' text is.
    """
    actions: dict[str, argparse.Action] = {}
    for action in parser._actions:
        if action.option_strings and action.dest not in ignore:
            actions.setdefault(action.dest, action)
    unknown = sorted(set(config) - set(actions))
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(map(repr, unknown))} for `{parser.prog}`; "
                          f"valid names: {', '.join(sorted(actions))}")
    parser.set_defaults(**{key: _config_value(actions[key], key, value, source) for key, value in config.items()})
