"""The JSON round trip every settings dataclass shares (``DataConfig``, ``TrainConfig``, each kind's config)."""

from __future__ import annotations

from dataclasses import asdict, fields


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
