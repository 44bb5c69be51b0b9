"""Label schemes: how source labels (e.g. the 20 newsgroup names) become the classes a model learns.

Three kinds, defined here and nowhere else:

* ``fine``: the 20 newsgroups, unchanged.
* ``coarse``: the 7 top-level categories of the report (alt, comp, misc, rec, sci, soc, talk),
  i.e. the part of the group name before the first dot.
* a custom mapping read from a JSON or YAML file ``{source label: label}``. Source labels the
  file does not mention are an error (``unmapped="error"``) or are dropped (``unmapped="drop"``).

For a user's own dataset the default scheme is ``identity``: the labels in the file are the classes.

>>> get_scheme("coarse").map_label("sci.space")
'sci'
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, DataError

logger = logging.getLogger(__name__)

NEWSGROUPS: tuple[str, ...] = (
    "alt.atheism",
    "comp.graphics",
    "comp.os.ms-windows.misc",
    "comp.sys.ibm.pc.hardware",
    "comp.sys.mac.hardware",
    "comp.windows.x",
    "misc.forsale",
    "rec.autos",
    "rec.motorcycles",
    "rec.sport.baseball",
    "rec.sport.hockey",
    "sci.crypt",
    "sci.electronics",
    "sci.med",
    "sci.space",
    "soc.religion.christian",
    "talk.politics.guns",
    "talk.politics.mideast",
    "talk.politics.misc",
    "talk.religion.misc",
)

BUILTIN_SCHEMES = ("fine", "coarse", "identity")
UNMAPPED_CHOICES = ("error", "drop")


@dataclass(frozen=True)
class LabelScheme:
    """A named mapping from source labels to class labels.

    Args:
        name (str): ``fine``, ``coarse``, ``identity`` or the path of a mapping file.
        mapping (dict[str, str] | None): source label -> class label; ``None`` maps every label to itself.
        unmapped (str, default "error"): what to do with a source label missing from ``mapping``:
            ``"error"`` raises, ``"drop"`` drops the document.
    """

    name: str
    mapping: dict[str, str] | None = field(default=None, compare=False)
    unmapped: str = "error"

    def __post_init__(self) -> None:
        if self.unmapped not in UNMAPPED_CHOICES:
            raise ConfigError(f"unmapped must be one of {UNMAPPED_CHOICES}, got {self.unmapped!r}")

    @property
    def classes(self) -> tuple[str, ...] | None:
        """The ordered class names the scheme can produce, or ``None`` when the data decide (identity)."""
        if self.mapping is None:
            return None
        return tuple(sorted(set(self.mapping.values())))

    def map_label(self, source: str) -> str | None:
        """Return the class of one source label, ``None`` if it is to be dropped."""
        if self.mapping is None:
            return source
        if source in self.mapping:
            return self.mapping[source]
        if self.unmapped == "drop":
            return None
        known = ", ".join(sorted(self.mapping)[:25])
        raise DataError(
            f"label scheme {self.name!r} does not map the label {source!r}; "
            f"it maps: {known}{' …' if len(self.mapping) > 25 else ''}. "
            "Add it to the mapping file or choose --unmapped drop."
        )

    def class_map(self, source_classes, classes) -> dict[str, str]:
        """How a model trained on finer ``source_classes`` answers in this scheme's ``classes``: the class of each
        of its classes (its probabilities are then summed per class). A model trained on the 20 groups thus
        answers the 7 categories.

        >>> get_scheme("coarse").class_map(["rec.autos", "sci.med", "sci.space"], ["rec", "sci"])
        {'rec.autos': 'rec', 'sci.med': 'sci', 'sci.space': 'sci'}
        """
        source_classes, classes = [str(c) for c in source_classes], [str(c) for c in classes]
        if source_classes == classes:
            return {c: c for c in classes}
        out = {}
        for c in source_classes:
            target = self.mapping.get(c) if self.mapping is not None else c
            if target not in classes:
                raise ConfigError(
                    f"a model with classes {source_classes[:8]}{' …' if len(source_classes) > 8 else ''} cannot answer in label "
                    f"scheme {self.name!r} (classes {classes[:8]}{' …' if len(classes) > 8 else ''}): its class {c!r} is not "
                    "a source label the scheme maps to one of them. A finer scheme can answer a coarser one "
                    "(fine -> coarse), not the other way round."
                )
            out[c] = target
        return out

    def to_dict(self) -> dict:
        return {"name": self.name, "mapping": self.mapping, "unmapped": self.unmapped}

    @classmethod
    def from_dict(cls, d: dict) -> "LabelScheme":
        return cls(name=d["name"], mapping=d.get("mapping"), unmapped=d.get("unmapped", "error"))


def coarse_label(group: str) -> str:
    """The top-level category of a newsgroup name: ``"comp.sys.mac.hardware"`` -> ``"comp"``."""
    return group.split(".", 1)[0]


def get_scheme(name: str, *, unmapped: str = "error") -> LabelScheme:
    """Resolve ``--labels``: a built-in scheme name or a JSON/YAML mapping file.

    Args:
        name (str): ``fine``, ``coarse``, ``identity``, or a path ending in .json, .yaml or .yml.
        unmapped (str, default "error"): for mapping files, ``"error"`` or ``"drop"``.
    """
    if name == "fine":
        return LabelScheme("fine", {g: g for g in NEWSGROUPS})
    if name == "coarse":
        return LabelScheme("coarse", {g: coarse_label(g) for g in NEWSGROUPS})
    if name == "identity":
        return LabelScheme("identity", None)
    path = Path(name)
    if path.suffix.lower() not in (".json", ".yaml", ".yml"):
        raise ConfigError(
            f"unknown label scheme {name!r}: expected one of {BUILTIN_SCHEMES} "
            "or the path of a .json/.yaml mapping file {source label: label}"
        )
    if not path.is_file():
        raise ConfigError(f"label mapping file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        mapping = json.loads(text)
    else:
        import yaml

        mapping = yaml.safe_load(text)
    if not isinstance(mapping, dict) or not mapping:
        raise ConfigError(f"{path}: expected a non-empty mapping {{source label: label}}, got {type(mapping).__name__}")
    bad = [k for k, v in mapping.items() if not isinstance(v, str | int) or str(v).strip() == ""]
    if bad:
        raise ConfigError(f"{path}: every source label needs a non-empty string label; check {bad[:5]}")
    mapping = {str(k): str(v) for k, v in mapping.items()}
    logger.info("label mapping %s: %d source labels -> %d classes", path, len(mapping), len(set(mapping.values())))
    return LabelScheme(str(path), mapping, unmapped=unmapped)
