"""Ensembles of any number of finished runs, combined on the validation split only (the test split is scored
once, afterwards): a weighted average of their probabilities (the weights searched on a grid), or a stacker
(a logistic regression on their log-probabilities, which also learns how far to trust each member's
confidence). With ``combine="auto"`` (the default) both are scored by cross-validation inside the validation
split, out of fold, and the better one is fitted on all of it.

A fine-tuned transformer and TF-IDF make different mistakes, so their average beats both. Members are
loaded through the registry (the caller passes its ``load_run``), and the probabilities a member saved when
its own run was evaluated are reused for the texts it has already scored, so building an ensemble costs
seconds, not another pass of a transformer over the training posts.

Members may be trained under a finer label scheme than the ensemble's: a run on the 20 groups answers the 7
categories by summing its probabilities per category (:meth:`topicfit.labels.LabelScheme.class_map`). Their
validation splits may then differ, so the ensemble chooses its combination only on the posts that no member
trained on (:func:`ensemble_splits`).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..data import DataConfig, Splits, fingerprint, load_splits
from ..errors import ConfigError, RunError
from ..settings import Settings
from ..metrics import compute_metrics, macro_f1_of
from ..runs import ENSEMBLE_FILE, SPLITS, STACKER_FILE, predictions_path, read_run, saved_probabilities, saved_rows
from . import Classifier, load_skops, save_skops

logger = logging.getLogger(__name__)

SPEED_SAMPLE = 500  # texts timed through the real members (not the reused probabilities) for docs/s


COMBINES = ("auto", "weights", "stack")


@dataclass(frozen=True)
class EnsembleConfig(Settings):
    """How the members are combined."""

    weight_step: float | None = field(default=None, metadata={
        "help": "grid step on the simplex of weights; none: 0.05 for up to 3 members, else 0.1 (beyond GRID_MEMBERS members the "
                "grid is too big: greedy ensemble selection, SELECTION_ROUNDS picks)"})
    combine: str = field(default="auto", metadata={
        "help": "weights: a weighted average; stack: logistic regression on the members' log-probabilities; auto: stack only if its "
                "out-of-fold macro-F1 gain on validation exceeds one standard error", "choices": COMBINES})
    folds: int = field(default=5, metadata={"help": "cross-validation folds inside the validation split, for --combine auto"})
    seed: int = field(default=42, metadata={"help": "random seed"})

    def __post_init__(self):
        if self.combine not in COMBINES:
            raise ConfigError(f"combine must be one of {COMBINES}, got {self.combine!r}")


GRID_MEMBERS = 5  # up to this many members the weights are searched on a grid (1,001 points for 5 at step 0.1)
SELECTION_ROUNDS = 20  # beyond it, greedy selection with replacement: weights in multiples of 1/20
BOOTSTRAP_RESAMPLES = 1000  # for the standard error of the stacker's gain over the weights (stack_wins)
STACKER_CS = (0.01, 0.1, 1.0, 10.0)  # the stacker's inverse regularisation strengths, chosen by cross-validation


def stack_features(probabilities: list[np.ndarray]) -> np.ndarray:
    """The stacker's input: every member's log-probabilities side by side."""
    return np.hstack([np.log(np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1.0)) for p in probabilities])


def fit_stacker(probabilities: list[np.ndarray], y: np.ndarray, seed: int = 42):
    """A multinomial logistic regression from the members' log-probabilities to the class index, its
    regularisation chosen by cross-validated log-loss on the same posts (:data:`STACKER_CS`)."""
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    X = np.asarray(stack_features(probabilities))
    counts = np.bincount(y)
    folds = int(min(5, counts[counts > 0].min()))
    if folds < 2:
        return LogisticRegression(C=1.0, max_iter=2000, random_state=seed).fit(X, y)
    return LogisticRegressionCV(Cs=STACKER_CS, l1_ratios=(0.0,), cv=folds, scoring="neg_log_loss", max_iter=2000, random_state=seed,
                                use_legacy_attributes=False).fit(X, y)


def stacker_proba(stacker, probabilities: list[np.ndarray], n_classes: int) -> np.ndarray:
    """The stacker's probabilities over all ``n_classes`` (a class it never saw in validation gets 0)."""
    out = np.zeros((len(probabilities[0]), n_classes))
    out[:, stacker.classes_] = stacker.predict_proba(stack_features(probabilities))
    return out


def compare_combiners(probabilities: list[np.ndarray], references: list[str], classes: list[str], *, step: float | None,
                      folds: int, seed: int) -> dict[str, dict]:
    """Out-of-fold validation scores of the weighted average (weights searched on the other folds) and of the
    stacker (fitted on the other folds): the honest comparison ``combine="auto"`` decides by."""
    from sklearn.model_selection import StratifiedKFold

    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[r] for r in references])
    counts = np.bincount(y, minlength=len(classes))
    folds = int(min(folds, counts[counts > 0].min()))
    if folds < 2:
        return {}
    oof = {"weights": np.zeros(len(y), dtype=int), "stack": np.zeros(len(y), dtype=int)}
    for train, held in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        part = [p[train] for p in probabilities]
        weights, _ = choose_weights(part, [references[i] for i in train], classes, step=step, log=False)
        oof["weights"][held] = sum(w * p[held] for w, p in zip(weights, probabilities)).argmax(axis=1)
        stacker = fit_stacker(part, y[train], seed)
        oof["stack"][held] = stacker_proba(stacker, [p[held] for p in probabilities], len(classes)).argmax(axis=1)
    scores = {}
    for name, pred in oof.items():
        m = compute_metrics(references=references, predictions=[classes[i] for i in pred], classes=classes)
        scores[name] = {"macro_f1": round(m["macro_f1"], 4), "accuracy": round(m["accuracy"], 4), "folds": folds}
    gain, error = gain_and_standard_error(y, oof["stack"], oof["weights"], len(classes), seed=seed)
    scores["stack"].update(gain_over_weights=round(gain, 4), gain_standard_error=round(error, 4))
    return scores


def gain_and_standard_error(y: np.ndarray, better: np.ndarray, simpler: np.ndarray, n_classes: int, *,
                            resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 42) -> tuple[float, float]:
    """Macro-F1 of ``better`` minus that of ``simpler`` on the same posts, and its standard error by a paired
    bootstrap over the posts (both predictions resampled together)."""
    gain = macro_f1_of(y, better, n_classes) - macro_f1_of(y, simpler, n_classes)
    rng = np.random.default_rng(seed)
    draws = [macro_f1_of(y[i], better[i], n_classes) - macro_f1_of(y[i], simpler[i], n_classes)
             for i in (rng.integers(0, len(y), len(y)) for _ in range(resamples))]
    return gain, float(np.std(draws))


def stack_wins(scores: dict) -> bool:
    """The stacker (hundreds of coefficients fitted on the validation posts) replaces the weighted average (one
    weight per member) only when its out-of-fold macro-F1 gain exceeds one standard error of that gain: the
    one-standard-error rule, which keeps the simpler combiner where the two are within noise."""
    stack = scores.get("stack", {})
    return bool(stack) and stack["gain_over_weights"] > stack["gain_standard_error"]


def weight_grid(n_members: int, step: float | None = None) -> list[tuple[float, ...]]:
    """Every way to split 1 among ``n_members`` weights in multiples of ``step``, first weight ascending.

    >>> weight_grid(2, 0.5)
    [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]
    """
    step = step or (0.05 if n_members <= 3 else 0.1)
    units = int(round(1 / step))
    grid = [c + (units - sum(c),) for c in itertools.product(range(units + 1), repeat=n_members - 1) if sum(c) <= units]
    return [tuple(round(u / units, 4) for u in c) for c in grid]


def choose_weights(probabilities: list[np.ndarray], references: list[str], classes: list[str], *,
                   step: float | None = None, log: bool = True) -> tuple[list[float], list[dict]]:
    """The member weights with the best validation macro-F1 (ties: accuracy, then the first found): every
    point of a grid for up to :data:`GRID_MEMBERS` members, greedy selection (:func:`select_weights`) beyond."""
    if len(probabilities) > GRID_MEMBERS:
        candidates = select_weights(probabilities, references, classes)
    else:
        candidates = (list(w) for w in weight_grid(len(probabilities), step))
    table = []
    for weights in candidates:
        proba = sum(w * p for w, p in zip(weights, probabilities))
        m = compute_metrics(references=references, predictions=[classes[i] for i in proba.argmax(axis=1)], classes=classes)
        table.append({"weights": list(weights), "macro_f1": m["macro_f1"], "accuracy": m["accuracy"]})
    best = max(table, key=lambda r: (r["macro_f1"], r["accuracy"]))
    if log:
        logger.info("ensemble weights %s: validation macro-F1 %.4f, accuracy %.4f", best["weights"], best["macro_f1"], best["accuracy"])
    return best["weights"], table


def select_weights(probabilities: list[np.ndarray], references: list[str], classes: list[str], rounds: int = SELECTION_ROUNDS):
    """Greedy ensemble selection with replacement (Caruana et al., 2004): start from nothing and, ``rounds``
    times, add the member whose extra vote most improves validation macro-F1 (ties: accuracy, then the first
    member). Yields the weights after each round (vote counts / round), for :func:`choose_weights` to pick from.
    It costs rounds x members scorings where the grid grows combinatorially, and a member can be picked
    several times, so the weights are multiples of 1 / ``rounds``."""
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[r] for r in references])
    counts = np.zeros(len(probabilities))
    total = np.zeros_like(np.asarray(probabilities[0], dtype=np.float64))
    for _ in range(rounds):
        best = None
        for j, p in enumerate(probabilities):
            pred = (total + p).argmax(axis=1)
            m = compute_metrics(references=y, predictions=pred, classes=list(range(len(classes))))
            if best is None or (m["macro_f1"], m["accuracy"]) > best[0]:
                best = ((m["macro_f1"], m["accuracy"]), j)
        counts[best[1]] += 1
        total = total + probabilities[best[1]]
        yield [round(float(c), 4) for c in counts / counts.sum()]


class SavedPredictions:
    """A member that answers from its run's saved probabilities for texts it has scored, and predicts the rest."""

    def __init__(self, model: Classifier, rows: dict[str, np.ndarray]):
        self.model, self.rows, self.classes_ = model, rows, model.classes_

    def predict_proba(self, X) -> np.ndarray:
        X = list(X)
        out = np.zeros((len(X), len(self.classes_)), dtype=np.float64)
        todo = [i for i, t in enumerate(X) if t not in self.rows]
        for i, t in enumerate(X):
            if t in self.rows:
                out[i] = self.rows[t]
        if todo:
            out[todo] = self.model.predict_proba([X[i] for i in todo])
        return out

    def live(self):
        """The member without its saved rows (every text predicted), e.g. to time it."""
        return live(self.model)


class Relabelled:
    """A member trained on a finer label scheme, answering in the ensemble's classes: each of its classes'
    probability goes to the class ``class_map`` names (e.g. the 20 groups summed into the 7 categories)."""

    def __init__(self, member, class_map: dict[str, str], classes):
        self.member, self.class_map, self.classes_ = member, dict(class_map), np.asarray([str(c) for c in classes])
        index = {c: i for i, c in enumerate(self.classes_)}
        self.matrix = np.zeros((len(member.classes_), len(self.classes_)))
        for i, c in enumerate(member.classes_):
            self.matrix[i, index[class_map[str(c)]]] = 1.0

    def predict_proba(self, X) -> np.ndarray:
        return np.asarray(self.member.predict_proba(X), dtype=np.float64) @ self.matrix

    def live(self):
        return Relabelled(live(self.member), self.class_map, self.classes_)


def live(member):
    """``member`` with every saved-probability shortcut removed."""
    return member.live() if hasattr(member, "live") else member


def ensemble_splits(runs: list[dict], labels: str | None = None) -> tuple[DataConfig, Splits]:
    """The data an ensemble is fitted and scored on: the first run's data settings under the ensemble's label
    scheme (``labels``; default: the first run's). A member trained under another scheme split its validation
    posts by its own classes, so the ensemble's validation keeps only the posts that no member trained on."""
    config = DataConfig.from_dict({**runs[0]["data_config"], **({"labels": labels} if labels else {})})
    splits = load_splits(config)
    trained: set[str] = set()
    distinct = {json.dumps(r["data_config"], sort_keys=True): r["data_config"] for r in runs}
    for settings in distinct.values():
        member_config = DataConfig.from_dict(settings)
        if member_config.labels != config.labels:
            trained.update(load_splits(member_config).train.ids)
    if not trained:
        return config, splits
    keep = [i for i, doc_id in enumerate(splits.validation.ids) if doc_id not in trained]
    if not keep:
        raise RunError("no validation post is held out from every member (each was trained on by some member); "
                       "train the members with the same --validation-split")
    validation = splits.validation.select(keep)
    info = {**splits.info, "validation_held_out_by_all": len(keep), "validation_dropped_trained_on": len(splits.validation) - len(keep)}
    out = dataclasses.replace(splits, validation=validation, info=info)
    info["n"] = {name: len(docs) for name, docs in out.items()}
    info["fingerprint"] = fingerprint(out)
    logger.info("ensemble: %d of %d validation posts are held out by every member (the others trained on %d)",
                len(keep), len(splits.validation), len(splits.validation) - len(keep))
    return config, out


def _saved_rows_by_text(run_path, splits: Splits, classes: list[str]) -> dict[str, np.ndarray]:
    """Whatever a run scored among ``splits``' posts, by text (a run under another scheme split the data differently)."""
    text_of = {i: t for _, docs in splits.items() for i, t in zip(docs.ids, docs.texts)}
    rows = {}
    for name in SPLITS:
        if predictions_path(run_path, name).exists():
            rows.update((text_of[i], p) for i, p in saved_rows(run_path, name, classes).items() if i in text_of and p is not None)
    return rows


class EnsembleClassifier(Classifier):
    """Members' ``predict_proba`` combined by weights or a stacker.

    Build one from finished runs with :meth:`from_runs`; ``fit`` then chooses how to combine them on validation.
    """

    kind = "ensemble"
    config_class = EnsembleConfig

    def __init__(self, config: EnsembleConfig | None = None, *, members: list | None = None, paths: list[str] | None = None,
                 methods: list[str] | None = None, weights: list[float] | None = None, stacker=None, splits: tuple[str, ...] = SPLITS,
                 class_maps: list[dict | None] | None = None):
        super().__init__(config)
        self.members, self.paths, self.methods = list(members or []), list(paths or []), list(methods or [])
        self.class_maps = list(class_maps) if class_maps is not None else [None] * len(self.members)
        self.weights_ = list(weights) if weights is not None else None
        self.stacker_ = stacker
        self.splits = splits  # the splits every member has saved predictions for
        if self.members:
            classes = [[str(c) for c in m.classes_] for m in self.members]
            if any(c != classes[0] for c in classes):
                raise RunError(f"ensemble members disagree on the classes: {classes}")
            self.classes_ = np.asarray(classes[0])

    @classmethod
    def from_runs(cls, run_paths: list[str], *, load_run: Callable, splits=None, config: EnsembleConfig | None = None, **options):
        """Members from finished runs trained on the same data (under the same label scheme as ``splits``, or a
        finer one, see :func:`ensemble_splits`). With ``splits`` (the data they share), each member's saved
        probabilities are reused for the texts of those splits."""
        if len(run_paths) < 2:
            raise RunError(f"an ensemble takes two or more runs, got {len(run_paths)}")
        runs = [read_run(r)[0] for r in run_paths]
        resolved = (splits.info.get("validation_split") if splits is not None else None) or "auto"

        def settings(run: dict) -> dict:  # a capped train split is fine; "auto" is the split it resolved to on this data
            d = {k: v for k, v in run["data_config"].items() if k not in ("max_train_samples", "labels")}
            if d.get("validation_split") == "auto":
                d["validation_split"] = resolved
            return d

        same = [settings(r) for r in runs]
        for path, other in zip(run_paths[1:], same[1:]):
            if other != same[0]:
                diff = sorted(k for k in set(same[0]) | set(other) if same[0].get(k) != other.get(k))
                raise RunError(f"{run_paths[0]} and {path} were trained on different data settings ({', '.join(diff)})")
        classes = [str(c) for c in (splits.classes if splits is not None else runs[0]["classes"])]
        class_maps = []
        for path, run in zip(run_paths, runs):
            if [str(c) for c in run["classes"]] == classes:
                class_maps.append(None)
            elif splits is None:
                raise RunError(f"the runs have different classes: {[r['classes'] for r in runs]}")
            else:
                try:
                    class_maps.append(splits.scheme.class_map(run["classes"], classes))
                except ConfigError as exc:
                    raise RunError(f"{path}: {exc}") from exc
        members, covered = [], set(SPLITS)
        for path, run, class_map in zip(run_paths, runs, class_maps):
            model = load_run(path, **options)
            if not model.has_probabilities:
                raise RunError(f"{path} has no probabilities (method without predict_proba); it cannot join an ensemble")
            rows = {}
            if class_map is not None:  # another scheme, other splits: reuse what it scored, predict the rest
                rows = _saved_rows_by_text(path, splits, [str(c) for c in run["classes"]])
                if any(t not in rows for t in splits.train.texts):
                    covered.discard("train")
            elif splits is not None:
                for name, docs in splits.items():
                    try:
                        proba = saved_probabilities(path, name, docs.ids, list(splits.classes))
                    except RunError as exc:
                        if name != "train":
                            raise RunError(f"cannot ensemble {path} on {name}: {exc}") from exc
                        logger.info("ensemble: no train scores (%s)", exc)
                        covered.discard(name)
                        continue
                    rows.update(zip(docs.texts, proba))
            member = SavedPredictions(model, rows) if rows else model
            members.append(Relabelled(member, class_map, classes) if class_map is not None else member)
        # a member of another scheme is named with it: "distill-minilm@fine"
        methods = [r["method"] + (f"@{Path(r['data_config']['labels']).stem}" if c else "") for r, c in zip(runs, class_maps)]
        return cls(config, members=members, paths=[str(Path(p).resolve()) for p in run_paths], methods=methods,
                   splits=tuple(s for s in SPLITS if s in covered), class_maps=class_maps)

    @property
    def method(self) -> str:
        if self.stacker_ is not None:
            return "stack(" + "+".join(self.methods) + ")"
        return "ensemble(" + "+".join(f"{m}*{w:.2f}" for m, w in zip(self.methods, self.weights_ or [])) + ")"

    def fit(self, X, y, *, X_val=None, y_val=None, classes=None, workdir=None, resume=False) -> "EnsembleClassifier":
        """Choose the weights on ``(X_val, y_val)``; ``X`` and ``y`` are not used (the members are trained)."""
        if X_val is None or not len(X_val):
            raise RunError("an ensemble needs a validation split to choose its weights")
        classes = [str(c) for c in self.classes_]
        references = [str(v) for v in y_val]
        probs = [np.asarray(m.predict_proba(X_val)) for m in self.members]
        self.weights_, self.weight_search_ = choose_weights(probs, references, classes, step=self.config.weight_step)
        combine = self.config.combine
        self.combine_search_ = {}
        if combine == "auto":
            self.combine_search_ = compare_combiners(probs, references, classes, step=self.config.weight_step,
                                                     folds=self.config.folds, seed=self.config.seed)
            s = self.combine_search_
            combine = "stack" if stack_wins(s) else "weights"
            logger.info("ensemble: %s (out-of-fold validation macro-F1: %s)", combine,
                        f"weights {s['weights']['macro_f1']:.4f}, stack {s['stack']['macro_f1']:.4f}, gain "
                        f"{s['stack']['gain_over_weights']:+.4f} ± {s['stack']['gain_standard_error']:.4f}" if s else "too few posts per class to compare")
        if combine == "stack":
            index = {c: i for i, c in enumerate(classes)}
            self.stacker_ = fit_stacker(probs, np.array([index[r] for r in references]), self.config.seed)
        # speed through the real members, not the reused probabilities
        sample = list(X_val)[:SPEED_SAMPLE]
        start = time.perf_counter()
        self._average([live(m) for m in self.members], sample)
        seconds = time.perf_counter() - start
        train_seconds = [read_run(p)[0].get("timings", {}).get("train_seconds") or 0 for p in self.paths]
        self.timings_ = {"train_seconds": round(sum(train_seconds), 1),
                         "test_docs_per_second": round(len(sample) / seconds, 1) if seconds > 0 else None}
        return self

    def combine(self, probabilities: list[np.ndarray]) -> np.ndarray:
        """The ensemble's probabilities from its members' (in member order, columns in the ensemble's classes;
        a member that :meth:`used` says is not read may be ``None``)."""
        if self.stacker_ is not None:
            return stacker_proba(self.stacker_, [np.asarray(p) for p in probabilities], len(self.classes_))
        return sum(w * np.asarray(p) for p, w in zip(probabilities, self.weights_) if w > 0)

    def used(self) -> list[bool]:
        """Per member, whether ``combine`` reads it (a stacker reads all; weights of 0 read nothing)."""
        return [self.stacker_ is not None or w > 0 for w in self.weights_]

    def class_matrices(self) -> list[np.ndarray | None]:
        """Per member, the 0/1 matrix that sums its classes into the ensemble's (``None``: the same classes)."""
        return [m.matrix if isinstance(m, Relabelled) else None for m in self.members]

    def _average(self, members, X) -> np.ndarray:
        X = list(X)
        return self.combine([np.asarray(m.predict_proba(X)) if used else None for m, used in zip(members, self.used())])

    def predict_proba(self, X) -> np.ndarray:
        return self._average(self.members, X)

    def predict_views(self, X) -> list[np.ndarray]:
        """The probabilities of each member that :meth:`combine` reads, columns in ``classes_`` (``topicfit suggest
        --uncertainty disagreement``); :meth:`combine_views` makes them :meth:`predict_proba`."""
        X = list(X)
        return [np.asarray(m.predict_proba(X)) for m, used in zip(self.members, self.used()) if used]

    def combine_views(self, views: list[np.ndarray]) -> np.ndarray:
        read = iter(views)
        return self.combine([next(read) if used else None for used in self.used()])

    def save(self, folder: str | Path) -> None:
        """``ensemble.json``: member run folders relative to this run's folder, their methods and weights."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        run_dir = folder.parent.resolve()
        self.relative_paths_ = [os.path.relpath(p, run_dir) for p in self.paths]
        combine = "stack" if self.stacker_ is not None else "weights"
        if self.stacker_ is not None:
            save_skops(self.stacker_, folder / STACKER_FILE)
        (folder / ENSEMBLE_FILE).write_text(json.dumps({"members": self.relative_paths_, "methods": self.methods, "weights": self.weights_,
                                                        "combine": combine, "classes": self.classes_.tolist(),
                                                        "class_maps": self.class_maps}, indent=2))

    def run_info(self) -> dict:
        members = [{"path": p, "method": m, **({"classes_summed_into_ours": len(c)} if c else {})}
                   for p, m, c in zip(self.relative_paths_, self.methods, self.class_maps)]
        return {"members": members, "weights": self.weights_, "combine": "stack" if self.stacker_ is not None else "weights",
                "combine_search": self.combine_search_, "weight_search": self.weight_search_}

    @classmethod
    def load(cls, folder: str | Path, *, run: dict | None = None, load_member: Callable | None = None, **options) -> "EnsembleClassifier":
        """Load the members through ``load_member`` (the registry's ``load_run``) with the same ``options``."""
        folder = Path(folder)
        run_dir = folder.parent
        if (folder / ENSEMBLE_FILE).exists():
            saved = json.loads((folder / ENSEMBLE_FILE).read_text())
            paths, methods, weights = saved["members"], saved["methods"], saved["weights"]
            stacker = load_skops(folder / STACKER_FILE) if saved.get("combine") == "stack" else None
            classes, class_maps = saved["classes"], saved.get("class_maps") or [None] * len(paths)
        else:  # runs written before ensemble.json existed keep their members in run.json
            paths, methods, weights = [m["path"] for m in run["members"]], [m["method"] for m in run["members"]], run["weights"]
            stacker, classes, class_maps = None, None, [None] * len(paths)
        members = [load_member(run_dir / p, **options) for p in paths]
        members = [Relabelled(m, c, classes) if c else m for m, c in zip(members, class_maps)]
        return cls(members=members, paths=[str((run_dir / p).resolve()) for p in paths], methods=methods, weights=weights, stacker=stacker,
                   class_maps=class_maps)
