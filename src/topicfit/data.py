"""Data loading: the 20 Newsgroups "bydate" corpus and users' own labelled files.

Where the corpus comes from is one setting: ``--data`` or else the environment variable
``TOPICFIT_DATA``, the path of a ``20news-bydate.tar.gz`` archive or of a folder holding
``20news-bydate-train/`` and ``20news-bydate-test/``. With neither set, scikit-learn's
``fetch_20newsgroups`` is used (it downloads when online).

Cleaning matches scikit-learn's ``remove=("headers", "footers", "quotes")``, the form published as
``SetFit/20_newsgroups`` and used by the report; ``tests/test_data.py`` proves it text for text.
Keeping the headers leaks metadata (the ``Newsgroups:`` line names the answer), so it is opt-in.

Every document has a stable id: its path in the archive, e.g. ``20news-bydate-test/sci.space/61242``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import os
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, DataError
from .settings import Settings
from .labels import UNMAPPED_CHOICES, LabelScheme, get_scheme

logger = logging.getLogger(__name__)

DATA_ENV = "TOPICFIT_DATA"
SPLIT_DIRS = {"train": "20news-bydate-train", "test": "20news-bydate-test"}
REMOVE_ALL = ("headers", "footers", "quotes")
USER_FORMATS = (".csv", ".jsonl", ".json", ".parquet")
VALIDATION_SPLITS = ("auto", "random", "date")




# --- cleaning (the same rules as sklearn.datasets.fetch_20newsgroups) -------------------------

_QUOTE_RE = re.compile(r"(writes in|writes:|wrote:|says:|said:|^In article|^Quoted from|^\||^>)")


def strip_newsgroup_header(text: str) -> str:
    """Drop everything before the first blank line (the message headers)."""
    _before, _blank, after = text.partition("\n\n")
    return after


def strip_newsgroup_quoting(text: str) -> str:
    """Drop lines that quote another post ("> ...", "In article ... writes:")."""
    return "\n".join(line for line in text.split("\n") if not _QUOTE_RE.search(line))


def strip_newsgroup_footer(text: str) -> str:
    """Drop a signature block: everything after the last line made only of dashes or blanks."""
    lines = text.strip().split("\n")
    line_num = 0
    for line_num in range(len(lines) - 1, -1, -1):
        if lines[line_num].strip().strip("-") == "":
            break
    if line_num > 0:
        return "\n".join(lines[:line_num])
    return text


def clean_text(text: str, remove: tuple[str, ...] = REMOVE_ALL) -> str:
    """Apply the chosen removals in scikit-learn's order: headers, footers, quotes."""
    unknown = set(remove) - set(REMOVE_ALL)
    if unknown:
        raise ConfigError(f"remove may contain {REMOVE_ALL}, got {sorted(unknown)}")
    if "headers" in remove:
        text = strip_newsgroup_header(text)
    if "footers" in remove:
        text = strip_newsgroup_footer(text)
    if "quotes" in remove:
        text = strip_newsgroup_quoting(text)
    return text


_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")  # <br>, </b>, <a href="...">, <p class=x/>
_BARE_ENTITY_RE = re.compile(r"(?<![&\w])(quot|amp|lt|gt|apos|nbsp|#\d{1,6}|#x[0-9a-fA-F]{1,6});")  # "&" lost: AG News' "Fed #39;s"


def clean_markup(text: str) -> str:
    """Decode HTML entities and drop markup tags, keeping the words between them.

    Entities are decoded until none is left (``&amp;lt;b&amp;gt;`` is ``<b>``), as are the remains of entities
    that lost their ``&`` (``#39;``, ``quot;``); tags such as ``<br>`` or ``<a href="...">`` become a space.
    A ``<`` that opens no tag (``a < b``) stays. Applied to users' tables and, for every corpus, to the text
    topic words are counted in; 20 Newsgroups' classification texts keep scikit-learn's cleaning exactly.

    >>> clean_markup("Fed&amp;#39;s rate &lt;b&gt;cut&lt;/b&gt;<br>now")
    "Fed's rate  cut  now"
    """
    import html

    for repair in (False, True):  # decode; then decode the remains that lost their "&"
        if repair:
            text = _BARE_ENTITY_RE.sub(r"&\1;", text)
        for _ in range(5):  # each pass undoes one level of escaping
            decoded = html.unescape(text)
            if decoded == text:
                break
            text = decoded
    return _TAG_RE.sub(" ", text)


# --- documents -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Documents:
    """Parallel lists of ids, texts and labels (source labels until a scheme is applied)."""

    ids: list[str]
    texts: list[str]
    labels: list[str]
    dates: list[float | None] | None = None  # a time order for the date-ordered validation split: POSIX seconds
    # (--date-column), or for 20 Newsgroups the article's position in its group (see article_order)

    def __post_init__(self) -> None:
        assert len(self.ids) == len(self.texts) == len(self.labels)
        assert self.dates is None or len(self.dates) == len(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def select(self, indices) -> "Documents":
        indices = list(indices)
        return Documents([self.ids[i] for i in indices], [self.texts[i] for i in indices], [self.labels[i] for i in indices],
                         None if self.dates is None else [self.dates[i] for i in indices])

    def n_empty(self) -> int:
        """Documents whose text is exactly empty."""
        return sum(1 for t in self.texts if t == "")

    def n_blank(self) -> int:
        """Documents with no visible text (empty or white space only)."""
        return sum(1 for t in self.texts if not t.strip())


def article_order(ids: list[str]) -> list[float]:
    """Each message's position in time within its group, from 0 (oldest) to 1 (latest).

    Usenet servers number a group's articles as they arrive, so the file name (the article number) orders a
    group's posts in time; the bydate corpus keeps a ``Date:`` header in only 78 of 18,846 posts. (Across the
    bydate split, most of each group's test posts have numbers above 90% of its training posts'.)
    """
    by_group: dict[str, list[int]] = {}
    for i, doc_id in enumerate(ids):
        by_group.setdefault(doc_id.split("/")[-2], []).append(i)
    order = [0.0] * len(ids)
    for members in by_group.values():
        members.sort(key=lambda i: int(ids[i].split("/")[-1]) if ids[i].split("/")[-1].isdigit() else 0)
        for rank, i in enumerate(members):
            order[i] = rank / max(1, len(members) - 1)
    return order


# --- the 20 Newsgroups corpus --------------------------------------------------------------------


def resolve_newsgroups_source(data: str | os.PathLike | None = None) -> Path | None:
    """The corpus location from ``data`` or ``$TOPICFIT_DATA``; ``None`` means scikit-learn's fetcher."""
    value = data if data not in (None, "") else os.environ.get(DATA_ENV) or None
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.exists():
        raise DataError(
            f"20 Newsgroups data not found at {path} (from {'--data' if data else '$' + DATA_ENV}); "
            "expected a 20news-bydate.tar.gz archive or a folder holding 20news-bydate-train/ and 20news-bydate-test/"
        )
    return path


@functools.lru_cache(maxsize=2)
def _read_raw(source: Path | None) -> dict[str, list[tuple[str, str, str]]]:
    """Read every message once: ``{split: [(id, group, raw text), ...]}``, sorted by id."""
    out: dict[str, list[tuple[str, str, str]]] = {"train": [], "test": []}
    by_dir = {d: s for s, d in SPLIT_DIRS.items()}

    def add(relpath: str, raw: bytes) -> None:
        parts = relpath.strip("/").split("/")
        if len(parts) >= 3 and parts[-3] in by_dir:
            split_dir, group, name = parts[-3:]
            # the corpus is latin-1, as scikit-learn reads it; 6 files keep CRLF line ends
            out[by_dir[split_dir]].append((f"{split_dir}/{group}/{name}", group, raw.decode("latin-1")))

    if source is None:
        _fetch_with_sklearn(add)
    elif source.is_dir():
        for split_dir in SPLIT_DIRS.values():
            root = source / split_dir
            if not root.is_dir():
                raise DataError(f"{source} has no {split_dir}/ folder; expected the 20news-bydate layout")
            for f in root.glob("*/*"):
                if f.is_file():
                    add(f"{split_dir}/{f.parent.name}/{f.name}", f.read_bytes())
    else:
        try:
            with tarfile.open(source, "r:*") as tar:
                for member in tar:
                    if member.isfile():
                        add(member.name, tar.extractfile(member).read())
        except tarfile.TarError as exc:
            raise DataError(f"{source} is not a readable tar archive ({exc}); expected 20news-bydate.tar.gz") from exc
    for split, docs in out.items():
        if not docs:
            raise DataError(f"no {SPLIT_DIRS[split]}/<group>/<id> files found in {source or 'the scikit-learn cache'}")
        docs.sort(key=lambda d: d[0])
    logger.info("read 20 Newsgroups from %s: %d train, %d test", source or "scikit-learn", len(out["train"]), len(out["test"]))
    return out


def _fetch_with_sklearn(add) -> None:
    from sklearn.datasets import fetch_20newsgroups

    try:
        bunch = fetch_20newsgroups(subset="all", remove=(), shuffle=False)
    except Exception as exc:  # network errors come in many types
        raise DataError(
            f"could not get the 20 Newsgroups corpus: {exc}. Offline, point the setting {DATA_ENV} "
            f"(or --data) at a 20news-bydate.tar.gz archive or its extracted folder, e.g. "
            f"export {DATA_ENV}=../shared/data/20news-bydate.tar.gz"
        ) from exc
    for filename, text in zip(bunch.filenames, bunch.data):
        add(str(filename).replace(os.sep, "/"), text.encode("latin-1"))


def load_newsgroups(*, data: str | os.PathLike | None = None, subset: str = "train", remove: tuple[str, ...] = REMOVE_ALL) -> Documents:
    """Load one split of 20 Newsgroups "bydate", cleaned, with the group names as labels.

    Args:
        data (str | None, default None): archive or folder; ``None`` reads ``$TOPICFIT_DATA`` or falls back
            to scikit-learn's fetcher.
        subset (str, default "train"): ``"train"`` or ``"test"``.
        remove (tuple[str, ...], default all three): which of headers, footers, quotes to strip.

    >>> docs = load_newsgroups(subset="test")  # doctest: +SKIP
    >>> len(docs), docs.ids[0]                 # doctest: +SKIP
    (7532, '20news-bydate-test/alt.atheism/53068')
    """
    if subset not in SPLIT_DIRS:
        raise ConfigError(f"subset must be one of {tuple(SPLIT_DIRS)}, got {subset!r}")
    raw = _read_raw(resolve_newsgroups_source(data))[subset]
    return Documents([d[0] for d in raw], [clean_text(d[2], tuple(remove)) for d in raw], [d[1] for d in raw], article_order([d[0] for d in raw]))


# --- users' own files -----------------------------------------------------------------------------


def _row_of_offset(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def read_records(path: str | os.PathLike) -> list[dict]:
    """Read a CSV, JSONL (or JSON list) or Parquet file into a list of row dicts, with clear errors."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in USER_FORMATS:
        raise DataError(f"{path}: unsupported file type {suffix!r}; expected one of {USER_FORMATS}")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if suffix == ".parquet":
        import pandas as pd

        try:
            frame = pd.read_parquet(path)
        except Exception as exc:
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from exc
        return frame.to_dict(orient="records")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}, line {_row_of_offset(raw, exc.start)}: not valid UTF-8 (byte {raw[exc.start]:#04x} at offset "
            f"{exc.start}); expected a UTF-8 text file: re-save it as UTF-8"
        ) from exc
    if suffix == ".csv":
        import csv

        reader = csv.DictReader(io.StringIO(text, newline=""))
        if reader.fieldnames is None:
            raise DataError(f"{path}: empty CSV file; expected a header row and data rows")
        return [dict(row) for row in reader]
    stripped = text.lstrip()
    if suffix == ".json" and stripped.startswith("["):
        records = json.loads(text)
    else:
        records = []
        for lineno, line in enumerate(text.split("\n"), 1):  # JSON Lines end at "\n" only: a text may hold U+2028 and the like
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}, line {lineno}: not valid JSON ({exc.msg}); expected one JSON object per line") from exc
    for i, rec in enumerate(records, 1):
        if not isinstance(rec, dict):
            raise DataError(f"{path}, record {i}: expected a JSON object, got {type(rec).__name__}")
    return records


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def load_table(path: str | os.PathLike, *, text_column: str = "text", label_column: str | None = "label", id_column: str | None = None,
               date_column: str | None = None, unlabelled: list[str] | None = None) -> Documents:
    """Load a labelled CSV/JSONL/Parquet file. Rows are numbered from 1, not counting a CSV header.
    With ``label_column=None`` the file needs no labels (topic discovery): every label is ``""``.
    With a list as ``unlabelled``, the texts of rows with an empty label go there instead of stopping the load
    (posts the few-label kind learns from); at least one row must still have a label.

    Raises:
        DataError: a missing column, a missing text, an empty label (unless ``unlabelled``), no labelled row,
            duplicate ids, or bad encoding.
    """
    path = Path(path)
    records = read_records(path)
    if not records:
        expected = f"columns {text_column!r} and {label_column!r}" if label_column else f"a column {text_column!r}"
        raise DataError(f"{path}: no rows; expected {expected}")
    columns = list(records[0].keys())
    for col in filter(None, (text_column, label_column, id_column, date_column)):
        if all(col not in r for r in records):
            flag = {text_column: "--text-column", label_column: "--label-column", date_column: "--date-column"}.get(col, "--id-column")
            raise DataError(f"{path}: no column {col!r} (set {flag}); found columns: {', '.join(map(str, columns))}")
    ids, texts, labels = [], [], []
    for row, rec in enumerate(records, 1):
        text, label = rec.get(text_column), (rec.get(label_column) if label_column else "")
        if _is_missing(text):
            raise DataError(f"{path}, row {row}: missing text in column {text_column!r}; expected a string (it may be empty)")
        if label_column and (_is_missing(label) or str(label).strip() == ""):
            if unlabelled is not None:
                unlabelled.append(clean_markup(str(text)))
                continue
            raise DataError(f"{path}, row {row}: empty label in column {label_column!r}; every row needs a label")
        texts.append(clean_markup(str(text)))  # entities and tags from web sources
        labels.append(str(label).strip())
        ids.append(str(rec[id_column]) if id_column and not _is_missing(rec.get(id_column)) else f"{path.name}:{row}")
    if label_column and not texts:
        raise DataError(f"{path}: no row has a label in column {label_column!r}; expected labels for at least two classes "
                        "(`topicfit topics` finds topics in posts without labels)")
    seen: set[str] = set()
    for row, i in enumerate(ids, 1):
        if i in seen:
            raise DataError(f"{path}, row {row}: duplicate id {i!r} in column {id_column!r}; ids must be unique")
        seen.add(i)
    dates = None
    if date_column:
        import pandas as pd

        dates = []
        for row, rec in enumerate(records, 1):
            value = rec.get(date_column)
            try:
                dates.append(None if _is_missing(value) or str(value).strip() == "" else pd.Timestamp(value).timestamp())
            except (ValueError, TypeError) as exc:
                raise DataError(f"{path}, row {row}: cannot read {value!r} in column {date_column!r} as a date ({exc}); "
                                "expected e.g. 2024-05-01 or 2024-05-01T12:00:00") from None
    return Documents(ids, texts, labels, dates)


# --- configured splits ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DataConfig(Settings):
    """Which data a run uses and how it is split. Round-trips through ``to_dict``/``from_dict``."""

    dataset: str = field(default="20newsgroups", metadata={"help": "'20newsgroups' or the path of a labelled CSV/JSONL/Parquet file"})
    data: str | None = field(default=None, metadata={
        "help": f"20 Newsgroups archive (20news-bydate.tar.gz) or folder; overrides ${DATA_ENV}"})
    labels: str = field(default="coarse", metadata={
        "help": "label scheme: fine | coarse | identity | a JSON/YAML mapping file; the command line gives user files identity"})
    unmapped: str = field(default="error", metadata={"help": "mapping files: what to do with labels the mapping leaves out",
                                                     "choices": UNMAPPED_CHOICES})
    keep_headers: bool = field(default=False, metadata={
        "help": "keep message headers: LEAKS the label via metadata such as the Newsgroups: line"})
    drop_empty_train: bool = field(default=False, metadata={
        "help": "drop documents with no text after cleaning (empty or blank) from train/validation"})
    validation_size: float = field(default=0.1, metadata={"help": "share of the training data held out for model selection"})
    validation_split: str = field(default="auto", metadata={
        "help": "date: each class's latest posts (by date / article order); random: stratified, seeded; auto: date where the "
                "documents have dates (20 Newsgroups, --date-column), else random (BENCHMARKS.md: date predicts test better)",
        "choices": VALIDATION_SPLITS})
    seed: int = field(default=42, metadata={"help": "random seed for splits and training"})
    test_file: str | None = field(default=None, metadata={"help": "user data: a separate labelled test file"})
    test_size: float = field(default=0.2, metadata={"help": "user data without --test-file: stratified share held out for test"})
    text_column: str = field(default="text", metadata={"help": "user data: column holding the text"})
    label_column: str = field(default="label", metadata={"help": "user data: column holding the label"})
    id_column: str | None = field(default=None, metadata={"help": "user data: optional column holding a document id"})
    date_column: str | None = field(default=None, metadata={"help": "user data: a column of dates (for --validation-split date)"})
    unlabelled: str | None = field(default=None, metadata={
        "help": "posts without labels, for the kinds that learn from them (few labels: co-training): a CSV/JSONL/Parquet file "
                "(its --text-column). Rows of a user's data file with an empty label are unlabelled posts too"})
    max_train_samples: int | None = field(default=None, metadata={"help": "debug: cap the training split (stratified)"})
    max_eval_samples: int | None = field(default=None, metadata={"help": "debug: cap the validation and test splits (stratified)"})

    def __post_init__(self) -> None:
        if self.validation_split not in VALIDATION_SPLITS:
            raise ConfigError(f"validation_split must be one of {VALIDATION_SPLITS}, got {self.validation_split!r}")
        if not 0 < self.validation_size < 0.5:
            raise ConfigError(f"validation_size must be in (0, 0.5), got {self.validation_size}")
        if not 0 < self.test_size < 0.9:
            raise ConfigError(f"test_size must be in (0, 0.9), got {self.test_size}")

    @classmethod
    def from_dict(cls, d: dict) -> "DataConfig":
        """Read a saved configuration; one saved before ``validation_split`` existed used the random split."""
        return super().from_dict({"validation_split": "random", **d})

    @property
    def is_newsgroups(self) -> bool:
        return self.dataset == "20newsgroups"



@dataclass
class Splits:
    """Train, validation and test documents with class labels, plus what was decided on the way."""

    train: Documents
    validation: Documents
    test: Documents
    classes: tuple[str, ...]
    scheme: LabelScheme
    info: dict = field(default_factory=dict)
    unlabelled: list[str] = field(default_factory=list)  # posts without labels (DataConfig.unlabelled, empty-label rows)

    def items(self):
        return (("train", self.train), ("validation", self.validation), ("test", self.test))


def _apply_scheme(docs: Documents, scheme: LabelScheme) -> tuple[Documents, int]:
    mapped = [scheme.map_label(label) for label in docs.labels]
    keep = [i for i, m in enumerate(mapped) if m is not None]
    out = Documents([docs.ids[i] for i in keep], [docs.texts[i] for i in keep], [mapped[i] for i in keep],
                    None if docs.dates is None else [docs.dates[i] for i in keep])
    return out, len(docs) - len(keep)


def _stratified_split(docs: Documents, size: float | int, seed: int, what: str) -> tuple[Documents, Documents]:
    from sklearn.model_selection import train_test_split

    idx = list(range(len(docs)))
    try:
        rest, held = train_test_split(idx, test_size=size, random_state=seed, stratify=docs.labels)
    except ValueError:  # a class too small to stratify: fall back to a plain seeded split
        logger.warning("cannot stratify the %s split (a class has too few documents); splitting at random", what)
        rest, held = train_test_split(idx, test_size=size, random_state=seed)
    return docs.select(sorted(rest)), docs.select(sorted(held))


def _date_split(docs: Documents, size: float, source: str) -> tuple[Documents, Documents]:
    """Hold out each class's latest ``size`` share of documents by date (undated ones count as the oldest).
    For 20 Newsgroups the dates are each group's article order, so a coarse class holds out the latest posts of
    each of its groups.

    A random split puts replies to the same thread on both sides; holding out the latest posts mimics the
    later test period instead, so validation scores predict test scores (BENCHMARKS.md measures both).
    """
    if docs.dates is None:
        raise DataError(f"{source}: a date-ordered validation split needs dates; give --date-column (user data) "
                        "or use --validation-split random")
    held = []
    for label in sorted(set(docs.labels)):
        members = [i for i, y in enumerate(docs.labels) if y == label]
        members.sort(key=lambda i: (docs.dates[i] is not None, docs.dates[i] or 0.0, docs.ids[i]))
        k = min(len(members) - 1, max(1, round(size * len(members)))) if len(members) > 1 else 0
        held += members[len(members) - k :] if k else []
    held_set = set(held)
    return docs.select([i for i in range(len(docs)) if i not in held_set]), docs.select(sorted(held))


def sample_documents(docs: Documents, n: int | None, seed: int = 42, what: str = "sample") -> Documents:
    """A stratified, seeded sample of ``n`` documents (all of them when ``n`` is ``None`` or not smaller)."""
    return _cap(docs, n, seed, what)


def _cap(docs: Documents, n: int | None, seed: int, what: str) -> Documents:
    if n is None or n >= len(docs):
        return docs
    if n < len(set(docs.labels)):
        return docs.select(range(n))
    return _stratified_split(docs, n, seed, what)[1]


def fingerprint(splits: Splits) -> str:
    """A short sha256 over every (split, id, label, text): two runs with equal fingerprints saw the same data."""
    h = hashlib.sha256()
    for name, docs in splits.items():
        for i, t, y in zip(docs.ids, docs.texts, docs.labels):
            h.update(f"{name}\0{i}\0{y}\0{t}\0".encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:16]


def load_splits(config: DataConfig) -> Splits:
    """Load, clean, relabel and split the data a run needs.

    The validation split is carved, stratified and seeded, from the training data; the test split is
    only for final reports.
    """
    scheme = get_scheme(config.labels, unmapped=config.unmapped)
    unlabelled: list[str] = []
    if config.is_newsgroups:
        if scheme.name == "identity":
            scheme = get_scheme("fine")
        remove = ("footers", "quotes") if config.keep_headers else REMOVE_ALL
        if config.keep_headers:
            logger.warning("keeping message headers: they leak metadata (the Newsgroups: line names the label)")
        train = load_newsgroups(data=config.data, subset="train", remove=remove)
        test = load_newsgroups(data=config.data, subset="test", remove=remove)
    else:
        columns = dict(text_column=config.text_column, label_column=config.label_column, id_column=config.id_column, date_column=config.date_column)
        train = load_table(config.dataset, **columns, unlabelled=unlabelled)
        if unlabelled:
            logger.info("data: %d rows of %s have no label: unlabelled posts (the few-label kind learns from them)",
                        len(unlabelled), config.dataset)
        if config.test_file:
            test = load_table(config.test_file, **columns)
        else:
            train, test = _stratified_split(train, config.test_size, config.seed, "test")
    train, dropped_train = _apply_scheme(train, scheme)
    test, dropped_test = _apply_scheme(test, scheme)
    info = {
        "n_source": {"train": len(train) + dropped_train, "test": len(test) + dropped_test},
        "dropped_unmapped": {"train": dropped_train, "test": dropped_test},
        "empty_after_cleaning": {"train": train.n_empty(), "test": test.n_empty()},
        "blank_after_cleaning": {"train": train.n_blank(), "test": test.n_blank()},
    }
    if config.drop_empty_train:
        train = train.select([i for i, t in enumerate(train.texts) if t.strip()])
        info["dropped_empty_train"] = info["blank_after_cleaning"]["train"]
    classes = tuple(sorted(set(train.labels)))
    absent = sorted(set(scheme.classes or ()) - set(classes))
    if absent:
        logger.warning("label scheme %s: classes %s have no training documents and are left out", scheme.name, absent)
    if len(set(train.labels)) < 2:
        raise DataError(
            f"{config.dataset}: the training data has {len(set(train.labels))} class(es) ({sorted(set(train.labels))}); "
            "a classifier needs at least 2 classes"
        )
    unseen = sorted(set(test.labels) - set(classes))
    if unseen:
        raise DataError(f"{config.test_file or config.dataset}: test labels {unseen[:10]} never occur in training; classes are {list(classes)}")
    split = config.validation_split if config.validation_split != "auto" else ("date" if train.dates is not None else "random")
    info["validation_split"] = split
    if split == "date":
        train, validation = _date_split(train, config.validation_size, config.date_column or config.dataset)
    else:
        train, validation = _stratified_split(train, config.validation_size, config.seed, "validation")
    train = _cap(train, config.max_train_samples, config.seed, "train")
    validation = _cap(validation, config.max_eval_samples, config.seed, "validation")
    test = _cap(test, config.max_eval_samples, config.seed, "test")
    if config.unlabelled:
        unlabelled += load_table(config.unlabelled, text_column=config.text_column, label_column=None).texts
    splits = Splits(train, validation, test, tuple(classes), scheme, info, unlabelled)
    info["n"] = {name: len(docs) for name, docs in splits.items()}
    if unlabelled:
        info["n_unlabelled"] = len(unlabelled)
    info["fingerprint"] = fingerprint(splits)
    logger.info(
        "data: %s, labels %s (%d classes); train %d, validation %d, test %d; empty after cleaning: train %d, test %d",
        config.dataset, scheme.name, len(classes), len(train), len(validation), len(test),
        info["empty_after_cleaning"]["train"], info["empty_after_cleaning"]["test"],
    )
    return splits


# --- a whole corpus, for topic discovery ---------------------------------------------------------


@dataclass(frozen=True)
class CorpusConfig(Settings):
    """Which texts topic discovery reads: every post of 20 Newsgroups (train and test), or a user's file."""

    dataset: str = field(default="20newsgroups", metadata={
        "help": "'20newsgroups' (its train and test posts, all of them) or a CSV/JSONL/Parquet file"})
    data: str | None = field(default=None, metadata={"help": f"20 Newsgroups archive or folder; overrides ${DATA_ENV}"})
    labels: str | None = field(default="fine", metadata={"help": "20 Newsgroups: the reference labels for NMI/ARI; none: no labels",
                                                         "choices": ("fine", "coarse")})
    text_column: str = field(default="text", metadata={"help": "user data: column holding the text"})
    label_column: str | None = field(default=None, metadata={"help": "user data: optional column of reference labels"})
    id_column: str | None = field(default=None, metadata={"help": "user data: optional column holding a document id"})
    date_column: str | None = field(default=None, metadata={
        "help": "user data: optional column of dates (topics over time); 20 Newsgroups: each post's article order"})


def load_corpus(config: CorpusConfig | None = None) -> Documents:
    """Every document of a corpus: 20 Newsgroups' train and test posts together, labelled by the ``labels``
    scheme (empty labels with ``labels=None``), or every row of a user's file (labels from ``label_column``).
    Dates: a user's ``date_column``; for 20 Newsgroups, each post's article order in its group (train and test
    together, :func:`article_order`).

    >>> docs = load_corpus(CorpusConfig(labels="coarse"))  # doctest: +SKIP
    >>> len(docs), docs.labels[0]                          # doctest: +SKIP
    (18846, 'alt')
    """
    config = config if config is not None else CorpusConfig()
    if config.dataset != "20newsgroups":
        return load_table(config.dataset, text_column=config.text_column, label_column=config.label_column, id_column=config.id_column,
                          date_column=config.date_column)
    scheme = get_scheme(config.labels) if config.labels else None
    parts = [load_newsgroups(data=config.data, subset=subset) for subset in ("train", "test")]
    ids = [i for d in parts for i in d.ids]
    return Documents(ids, [t for d in parts for t in d.texts], [scheme.map_label(y) if scheme else "" for d in parts for y in d.labels],
                     article_order(ids))
