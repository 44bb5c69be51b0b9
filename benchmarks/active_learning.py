"""Active against random selection: which posts to label next, chosen by ``topicfit.suggest`` or at random.

    python benchmarks/active_learning.py --labels coarse fine --seeds 1 2 3 4 5

Each seed starts from the same 8 random labelled training posts a class (drawn with the labels; ``--start topics``:
active starts instead from ``suggest``'s cold start, a topics run's picks, as a user with no labels would). Each round adds ``--step`` posts a class (8;
``step x classes`` posts): ``suggest`` (uncertainty + diversity, :mod:`topicfit.suggest`) picks them from the
rest of the training split, or they are drawn at random; the oracle labels them and the model is fitted again,
up to 64 a class; each round is scored on the whole test split and on the validation split (what a setting is
chosen on). The model in the loop (``--model``, the same for both strategies) refits in seconds on cached
embeddings, so 8 rounds x 5 seeds x 2 strategies fit in minutes:

- ``embed``: the frozen MiniLM kind with a logistic-regression head (C=4: no validation split to choose on at a
  few labels);
- ``embed+tfidf``: that head's probabilities averaged with a TF-IDF logistic regression's;
- ``embed+pool-rounds``: that head learning from the rest of the training split, unlabelled, by the few-label
  kind's self-training (``--pool-rounds``), as ``topicfit fit`` learns from a file's unlabelled rows;
- ``embed+tfidf+pool``: ``embed+tfidf`` with that self-trained head;
- ``embed+pool-cotraining``: the few-label kind's default use of the pool, co-training (``--pool-rounds`` rounds):
  the MiniLM head and a TF-IDF head on the whole training split label the pool for each other, and their
  probabilities are averaged. With ``--class-weight balanced --pool-class-weight balanced`` (the few-label kind's
  defaults; the loop's are none, as its earlier files ran) it is ``topicfit fit``'s few-label head without the
  encoder's tuning. With a TF-IDF fit on the whole split in every round a curve takes many minutes (the result's
  ``seconds``; ``--jobs 2`` runs two at once).

The issue's bar: active selection reaches random selection's accuracy at 64 a class with at most half the
labels (32 a class). ``summary`` gives, per scheme, the mean test accuracy and macro-F1 per round of each strategy
and the fewest labels at which active's mean accuracy reaches random's at 64 a class.
``--dataset FILE`` runs the loop on an outside corpus instead (``benchmarks/outside_data.py``).
Writes ``benchmarks/results/active-learning.json``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "src"))

from common import data_config, machine, write_result  # noqa: E402

from topicfit.api import discover  # noqa: E402
from topicfit.data import load_splits  # noqa: E402
from topicfit.kinds.baseline import BaselineClassifier, BaselineConfig  # noqa: E402
from topicfit.kinds.embed import EmbedClassifier, EmbedConfig  # noqa: E402
from topicfit.kinds.fewlabel import FewLabelConfig, semi_supervised_head  # noqa: E402
from topicfit.metrics import compute_metrics  # noqa: E402
from topicfit.suggest import SuggestConfig, suggest  # noqa: E402

START, STEP, STOP = 8, 8, 64  # labelled posts a class
C = 4.0


def sample_per_class(labels: list[str], k: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    y = np.asarray(labels)
    return sorted(int(i) for c in sorted(set(labels)) for i in rng.choice(np.flatnonzero(y == c), k, replace=False))


def fit_model(model, X, y, unlabelled):
    """Fit a model of the loop; the ones that learn from the unlabelled pool (``uses_pool``) get it."""
    return model.fit(X, y, unlabelled) if getattr(model, "uses_pool", False) else model.fit(X, y)


class LoopModel:
    """What the loop's own models share: their readers' probabilities (``predict_views``) combined
    (``combine_views``) are theirs, and a label is the most probable class."""

    has_probabilities = True

    def predict_proba(self, X) -> np.ndarray:
        return self.combine_views(self.predict_views(X))

    def predict(self, X) -> list[str]:
        return [str(self.classes_[j]) for j in self.predict_proba(X).argmax(axis=1)]


class EmbeddingsAndPool(LoopModel):
    """``--model embed+pool-rounds``: the frozen MiniLM embeddings, and the few-label kind's head learning from the
    unlabelled pool by self-training (:func:`topicfit.kinds.fewlabel.semi_supervised_head`, ``--pool-rounds``
    rounds): what ``topicfit fit`` does with a file's unlabelled rows, without tuning the encoder (minutes a fit).
    ``--model embed+pool-cotraining`` (``method="cotraining"``): the kind's default use of the pool instead, co-training
    with a TF-IDF head on the whole pool, whose probabilities it averages with the embedding head's."""

    uses_pool = True

    def __init__(self, seed: int, rounds: int, method: str = "rounds", labelled_weight: float = 1.0, encoder: str = "minilm",
                 class_weight: str | None = None, select_head: str = "final", pool_class_weight: str | None = None):
        self.embed = make_model("embed", seed, encoder=encoder)
        self.config = FewLabelConfig(C=C, class_weight=class_weight, pool_class_weight=pool_class_weight, seed=seed,
                                     unlabelled_rounds=rounds, labelled_weight=labelled_weight)
        self.pool_method, self.method, self.select_head = method, f"embed+pool-{method}", select_head

    def fit(self, X, y, unlabelled=()):
        pool = self.embed.embed(unlabelled) if len(unlabelled) else np.zeros((0, 1))
        labelled = self.embed.embed(X)
        self.head = semi_supervised_head(labelled, y, pool, config=self.config, method=self.pool_method,
                                         rounds=self.config.unlabelled_rounds, labelled_texts=list(X), pool_texts=list(unlabelled),
                                         words_weight=self.config.words_weight)
        self.classes_ = self.head.classes_
        if self.select_head != "final" and len(unlabelled):
            self.selector = Selector(self, labelled, [str(v) for v in y], pool, list(unlabelled))
        return self

    def selection_model(self):
        """What ``suggest`` scores the pool with (``--select-head``): this model, or a :class:`Selector`."""
        return getattr(self, "selector", self)

    def predict_views(self, X) -> list[np.ndarray]:
        X = list(X)
        return self.head.views(self.embed.embed(X), X)

    def combine_views(self, views: list[np.ndarray]) -> np.ndarray:
        return self.head.combine(views)


class Selector(LoopModel):
    """``--select-head labelled|held-out``: the probabilities that ``suggest`` scores the pool by, from a head that did not
    learn the pool posts' own pseudo-labels. The self-trained head's last round refits on every pool post with its
    pseudo-label, so its margin on a pool post is measured on its own training data: only posts it cannot fit stay
    uncertain. ``labelled``: the head's first fit, on the labelled posts alone; ``held-out``: cross-fitting, two heads
    each refitted on the labelled posts and half the pool's pseudo-labels (the final head's), each scoring the other half."""

    def __init__(self, model: "EmbeddingsAndPool", labelled: np.ndarray, y: list[str], pool: np.ndarray, texts: list[str]):
        from topicfit.kinds.fewlabel import fit_with_pseudo_labels, make_head, pseudo_label_head

        config, classes = model.config, [str(c) for c in model.classes_]
        self.classes_, self.method, self.embed = model.classes_, f"{model.method}, scored by its {model.select_head} head", model.embed
        if model.select_head == "labelled":  # every post scored by the first head; none known in advance
            first = make_head(config).fit(labelled, y)
            assert [str(c) for c in first.classes_] == classes
            self.score, self.known = (lambda embeddings, texts: first.predict_proba(embeddings)), {}
            return
        proba = np.zeros((len(pool), len(classes)))
        pseudo = [classes[k] for k in model.head.predict_proba(pool, texts).argmax(axis=1)]
        half = np.random.default_rng(config.seed).permutation(len(pool)) % 2
        for h in (0, 1):
            rows = np.flatnonzero(half == h)
            head = fit_with_pseudo_labels(pseudo_label_head(config), np.concatenate([labelled, pool[rows]]),
                                          y + [pseudo[i] for i in rows], len(y), config)
            assert [str(c) for c in head.classes_] == classes
            proba[half != h] = head.predict_proba(pool[half != h])
        self.score, self.known = model.head.predict_proba, dict(zip(texts, proba))  # a post outside the pool: the final head

    def predict_views(self, X) -> list[np.ndarray]:
        X = list(X)
        unknown = [x for x in X if x not in self.known]
        other = dict(zip(unknown, self.score(self.embed.embed(unknown), unknown))) if unknown else {}
        return [np.asarray([self.known[x] if x in self.known else other[x] for x in X])]

    def combine_views(self, views: list[np.ndarray]) -> np.ndarray:
        return views[0]


class CommitteeAndPool(EmbeddingsAndPool):
    """``--committee K`` (with ``--model embed+pool-rounds``): the same self-trained head, and beside it a committee
    of ``K`` logistic regressions (C=4), each on a per-class bootstrap resample of the labelled posts (query by
    committee by bagging, Abe & Mamitsuka 1998): its readers (``predict_views``) are the self-trained head and the
    committee, so ``--uncertainty disagreement`` picks where they disagree (what more labels could settle, not a
    post that is ambiguous to any head). Its probabilities are still the self-trained head's."""

    def __init__(self, seed: int, rounds: int, committee: int, labelled_weight: float = 1.0, encoder: str = "minilm",
                 class_weight: str | None = None):
        super().__init__(seed, rounds, "rounds", labelled_weight, encoder, class_weight)
        self.committee = committee

    def fit(self, X, y, unlabelled=()):
        from sklearn.linear_model import LogisticRegression

        super().fit(X, y, unlabelled)
        L, y, rng = self.embed.embed(X), np.asarray([str(v) for v in y]), np.random.default_rng(self.config.seed)
        self.members = []
        for _ in range(self.committee):
            rows = np.concatenate([rng.choice(np.flatnonzero(y == c), int((y == c).sum())) for c in self.classes_])
            self.members.append(LogisticRegression(C=C, max_iter=3000, random_state=self.config.seed).fit(L[rows], y[rows]))
        return self

    def predict_views(self, X) -> list[np.ndarray]:
        X = list(X)
        E = self.embed.embed(X)
        return [self.head.predict_proba(E, X)] + [m.predict_proba(E) for m in self.members]

    def combine_views(self, views: list[np.ndarray]) -> np.ndarray:
        return views[0]  # the self-trained head's


class WordsAndEmbeddings(LoopModel):
    """``--model embed+tfidf``: the frozen MiniLM head's and a TF-IDF logistic regression's probabilities, averaged
    (both refit in seconds; the TF-IDF half keeps learning where the frozen encoder's head has flattened).
    ``--model embed+tfidf+pool`` (``pool_rounds``): the MiniLM half is ``embed+pool-rounds``; the TF-IDF half learns
    from the labelled posts only (on the whole pool it would cost far more a fit here)."""

    def __init__(self, seed: int, pool_rounds: int | None = None, labelled_weight: float = 1.0, encoder: str = "minilm",
                 class_weight: str | None = None):
        self.embed = (make_model("embed", seed, encoder=encoder) if pool_rounds is None
                      else EmbeddingsAndPool(seed, pool_rounds, labelled_weight=labelled_weight, encoder=encoder, class_weight=class_weight))
        self.words = BaselineClassifier(BaselineConfig(method="tfidf-logreg", seed=seed))
        self.uses_pool = pool_rounds is not None
        self.method = "embed+tfidf" + ("+pool" if self.uses_pool else "")

    def fit(self, X, y, unlabelled=()):
        fit_model(self.embed, X, y, unlabelled)
        self.words.fit(X, y)
        assert [str(c) for c in self.embed.classes_] == [str(c) for c in self.words.classes_]
        self.classes_ = self.embed.classes_
        return self

    def predict_views(self, X) -> list[np.ndarray]:
        return [np.asarray(self.embed.predict_proba(X)), np.asarray(self.words.predict_proba(X))]

    def combine_views(self, views: list[np.ndarray]) -> np.ndarray:
        return np.mean(views, axis=0)


POOL_ROUNDS = 3  # --pool-rounds: self-training's rounds in the +pool models (the few-label kind's default is 2)


def make_model(name: str, seed: int, pool_rounds: int = POOL_ROUNDS, labelled_weight: float = 1.0, committee: int = 0, *,
               encoder: str = "minilm", class_weight: str | None = None, select_head: str = "final",
               pool_class_weight: str | None = None):
    """``labelled_weight``: the +pool models' :attr:`FewLabelConfig.labelled_weight` (a labelled post's weight against a
    pseudo-labelled one's in the refits); ``committee``: :class:`CommitteeAndPool`'s size (``embed+pool-rounds`` only);
    ``encoder``: the frozen encoder (``minilm``, or ``mpnet`` where installed, as ``topicfit fit`` tries both);
    ``class_weight``: the +pool models' first head (:attr:`FewLabelConfig.class_weight`: ``balanced`` or ``None``);
    ``pool_class_weight``: their refits on labelled and pseudo-labelled posts (:attr:`FewLabelConfig.pool_class_weight`;
    ``embed+pool-rounds`` and ``embed+pool-cotraining`` only);
    ``select_head``: what ``suggest`` scores the pool by (``embed+pool-rounds`` only; :class:`Selector`)."""
    if select_head != "final" and (name != "embed+pool-rounds" or committee):
        raise SystemExit(f"--select-head {select_head} goes with --model embed+pool-rounds (no committee), not {name}")
    if committee:
        if name != "embed+pool-rounds":
            raise SystemExit(f"--committee goes with --model embed+pool-rounds, not {name}")
        return CommitteeAndPool(seed, pool_rounds, committee, labelled_weight, encoder, class_weight)
    if name == "embed":
        return EmbedClassifier(EmbedConfig(model=encoder, head="logreg", C=C, seed=seed))
    if pool_class_weight and name not in ("embed+pool-rounds", "embed+pool-cotraining"):
        raise SystemExit(f"--pool-class-weight goes with --model embed+pool-rounds or embed+pool-cotraining, not {name}")
    if name in ("embed+pool-rounds", "embed+pool-cotraining"):
        return EmbeddingsAndPool(seed, pool_rounds, name.removeprefix("embed+pool-"), labelled_weight, encoder, class_weight, select_head,
                                 pool_class_weight)
    return WordsAndEmbeddings(seed, pool_rounds if name == "embed+tfidf+pool" else None, labelled_weight, encoder, class_weight)


MODELS = {"embed": f"embed-minilm, logistic regression C={C}",  # ``{rounds}``: --pool-rounds
          "embed+pool-rounds": f"embed-minilm, logistic regression C={C}, self-trained on the unlabelled pool ({{rounds}} rounds)",
          "embed+pool-cotraining": f"embed-minilm (logistic regression C={C}) co-trained with tfidf-logreg on the unlabelled pool "
                                   "({rounds} rounds), probabilities averaged",
          "embed+tfidf": f"embed-minilm (logistic regression C={C}) and tfidf-logreg, probabilities averaged",
          "embed+tfidf+pool": f"embed-minilm (logistic regression C={C}, self-trained on the unlabelled pool ({{rounds}} rounds)) "
                              "and tfidf-logreg, probabilities averaged"}


def cold_start(texts: list[str], n: int, seed: int) -> list[int]:
    """The first ``n`` posts to label with no labels yet, as a user gets them: a ``topicfit topics`` run of the
    posts (its default settings, this seed), then ``suggest``'s picks from it."""
    with tempfile.TemporaryDirectory() as folder:
        topics = discover(texts, seed=seed, output=Path(folder) / "topics")
        return sorted(p["index"] for p in suggest(topics, texts, n=n, seed=seed))


def curve(splits, strategy: str, seed: int, config: SuggestConfig | None = None, step: int = STEP, model_name: str = "embed",
          start: str = "random", model_options: dict | None = None, random_share: float = 0.0, cold: int = START) -> list[dict]:
    """One seed's curve of one strategy; ``model_options``: :func:`make_model`'s settings past the name and seed;
    ``random_share``: the share of each active round's picks drawn at random from the pool instead (the rest: suggest's);
    ``cold``: with ``start="topics"``, how many posts a class the cold start picks (its first round)."""
    train, test = splits.train, splits.test
    n_classes = len(splits.classes)
    labelled = (cold_start(train.texts, cold * n_classes, seed) if strategy == "active" and start == "topics"
                else sample_per_class(train.labels, START, seed))
    rng = np.random.default_rng(1000 + seed)
    rows = []
    while True:
        model = make_model(model_name, seed, **(model_options or {}))
        taken = set(labelled)
        pool = [i for i in range(len(train)) if i not in taken]
        X, y = [train.texts[i] for i in labelled], [train.labels[i] for i in labelled]
        fit_model(model, X, y, [train.texts[i] for i in pool])
        m = compute_metrics(references=test.labels, predictions=list(model.predict(test.texts)), classes=list(splits.classes))
        dev = compute_metrics(references=splits.validation.labels, predictions=list(model.predict(splits.validation.texts)),
                              classes=list(splits.classes))  # the validation split: not in the pool, what settings are chosen on
        rows.append({"strategy": strategy, "seed": seed, "labelled": len(labelled), "per_class": len(labelled) / n_classes,
                     "accuracy": round(m["accuracy"], 4), "macro_f1": round(m["macro_f1"], 4), "weighted_f1": round(m["weighted_f1"], 4),
                     "dev_accuracy": round(dev["accuracy"], 4), "dev_macro_f1": round(dev["macro_f1"], 4)})
        if len(labelled) >= STOP * n_classes:
            return rows
        n = step * n_classes
        if strategy == "active":
            known = X if config is not None and (config.uncertainty == "contrastive" or config.coverage > 0) else None  # CAL, coverage
            scorer = model.selection_model() if hasattr(model, "selection_model") else model
            drawn = int(round(random_share * n))
            picks = suggest(scorer, [train.texts[i] for i in pool], n=n - drawn, seed=seed, config=config, labelled=known)
            new = [pool[p["index"]] for p in picks]
            if drawn:
                rest = sorted(set(pool) - set(new))
                new += [rest[i] for i in rng.choice(len(rest), drawn, replace=False)]
        else:
            new = [pool[i] for i in rng.choice(len(pool), n, replace=False)]
        labelled = sorted(taken | set(new))


def summarise(rows: list[dict], n_classes: int) -> dict:
    out = {}
    for strategy in ("active", "random"):
        group = [r for r in rows if r["strategy"] == strategy]
        out[strategy] = [{"labelled": n, "per_class": round(n / n_classes, 1), "seeds": len(g),
                          **{f"{k}_mean": round(float(np.mean([r[k] for r in g])), 4) for k in ("accuracy", "macro_f1", "weighted_f1")
                             if all(k in r for r in g)},
                          **{f"{k}_mean": round(float(np.mean([r[k] for r in g])), 4) for k in ("dev_accuracy", "dev_macro_f1")
                             if all(k in r for r in g)},
                          **{f"{k}_std": round(float(np.std([r[k] for r in g])), 4) for k in ("accuracy", "macro_f1")}}
                         for n in sorted({r["labelled"] for r in group}) for g in [[r for r in group if r["labelled"] == n]]]
    target = next((p["accuracy_mean"] for p in out["random"] if p["per_class"] >= STOP), None)
    reached = next((p for p in out["active"] if target is not None and p["accuracy_mean"] >= target), None)
    out["random_accuracy_at_64"] = target
    out["active_labels_to_reach_it"] = reached and reached["labelled"]
    out["active_per_class_to_reach_it"] = reached and reached["per_class"]
    out["at_most_half"] = bool(reached and reached["per_class"] <= STOP / 2)
    # the same question on the validation split (what a setting of suggest is chosen on): active's mean accuracy over
    # the rounds up to half the labels, against random's
    half = [p for p in out["active"] if p["per_class"] <= STOP / 2 and "dev_accuracy_mean" in p]
    if half:
        out["dev_active_mean_accuracy_to_half"] = round(float(np.mean([p["dev_accuracy_mean"] for p in half])), 4)
        dev_target = next((p.get("dev_accuracy_mean") for p in out["random"] if p["per_class"] >= STOP), None)
        dev_reached = next((p for p in out["active"] if dev_target is not None and p.get("dev_accuracy_mean", -1) >= dev_target), None)
        out["dev_random_accuracy_at_64"], out["dev_active_per_class_to_reach_it"] = dev_target, dev_reached and dev_reached["per_class"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", nargs="+", default=["coarse"], choices=("coarse", "fine"))
    parser.add_argument("--dataset", help="a labelled file (text, label, id) instead of 20 Newsgroups (--labels is then ignored): its "
                                          "own labels, 20%% held out as the test split, a random tenth of the rest as validation; "
                                          "an outside corpus, benchmarks/outside_data.py")
    parser.add_argument("--pool-size", type=int, help="with --dataset: the training split (the pool) capped at this many posts, "
                                                      "stratified (20 Newsgroups' is 10,184), so a curve fits in minutes")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--uncertainty", default=SuggestConfig.uncertainty, help="as `topicfit suggest --uncertainty`")
    parser.add_argument("--pool-factor", type=int, default=SuggestConfig.pool_factor, help="as `topicfit suggest --pool-factor`")
    parser.add_argument("--density", type=float, default=SuggestConfig.density, help="as `topicfit suggest --density`")
    parser.add_argument("--spread", default=SuggestConfig.spread, help="as `topicfit suggest --spread`")
    parser.add_argument("--coverage", type=float, default=SuggestConfig.coverage, help="as `topicfit suggest --coverage`")
    parser.add_argument("--balance", action="store_true", help="as `topicfit suggest --balance`")
    parser.add_argument("--step", type=int, default=STEP, help="labelled posts a class added per round (suggest's n: this x classes)")
    parser.add_argument("--model", default="embed", choices=tuple(MODELS), help="the model in the loop (both strategies)")
    parser.add_argument("--pool-rounds", type=int, default=POOL_ROUNDS, help="--model embed+pool-rounds and embed+tfidf+pool: self-training's rounds")
    parser.add_argument("--labelled-weight", type=float, default=1.0,
                        help="the +pool models: a labelled post's weight against a pseudo-labelled one's (as `topicfit fit --labelled-weight`)")
    parser.add_argument("--start", default="random", choices=("random", "topics"),
                        help="active's first 8 a class: random (the same posts as random's) or topics: suggest's cold start from a "
                             "topics run of the training split (no labels needed; random keeps its start, 8 a class drawn with the labels)")
    parser.add_argument("--committee", type=int, default=0,
                        help="with --model embed+pool-rounds and --uncertainty disagreement: K heads on bootstrap resamples of the "
                             "labelled posts beside the self-trained head, whose disagreement picks (query by committee by bagging)")
    parser.add_argument("--encoder", default="minilm", choices=("minilm", "mpnet"),
                        help="the loop's frozen encoder (both strategies; mpnet: scripts/setup.sh --mpnet); suggest spreads its picks "
                             "with its own default encoder, as `topicfit suggest` does")
    parser.add_argument("--class-weight", default="none", choices=("none", "balanced"),
                        help="the +pool models' first head, fitted on the labelled posts alone (as `topicfit fewlabel --class-weight`; "
                             "the loop's default: none)")
    parser.add_argument("--pool-class-weight", default="none", choices=("none", "balanced"),
                        help="with --model embed+pool-rounds or embed+pool-cotraining: the refits on labelled and pseudo-labelled "
                             "posts (as `topicfit fewlabel --pool-class-weight`, whose default is balanced since 2026-12-07; the "
                             "loop's default: none, as every earlier file ran)")
    parser.add_argument("--select-head", default="final", choices=("final", "labelled", "held-out"),
                        help="with --model embed+pool-rounds: the head whose probabilities suggest scores the pool by: final (the "
                             "self-trained head, whose last round learnt every pool post's pseudo-label), labelled (its first fit, on the "
                             "labelled posts alone) or held-out (two heads, each refitted on half the pool's pseudo-labels, scoring the other half)")
    parser.add_argument("--cold-start", type=int, default=START,
                        help="with --start topics: the posts a class of active's first round, the cold start's picks (typical posts "
                             "before uncertain ones, as Hacohen et al. 2022 advise at low budgets); random still starts at 8")
    parser.add_argument("--random-share", type=float, default=0.0,
                        help="the share of each active round's picks drawn at random from the pool instead of by suggest (0: none)")
    parser.add_argument("--jobs", type=int, default=1, help="curves fitted at once, in as many processes (the rows are the same)")
    parser.add_argument("--tag", help="a suffix for the result's name (another suggest setting)")
    args = parser.parse_args()
    config = SuggestConfig(uncertainty=args.uncertainty, pool_factor=args.pool_factor, density=args.density, spread=args.spread,
                           balance=args.balance, coverage=args.coverage)
    class_weight = None if args.class_weight == "none" else args.class_weight
    pool_class_weight = None if args.pool_class_weight == "none" else args.pool_class_weight
    model_options = {"pool_rounds": args.pool_rounds, "labelled_weight": args.labelled_weight, "committee": args.committee,
                     "encoder": args.encoder, "class_weight": class_weight, "select_head": args.select_head,
                     "pool_class_weight": pool_class_weight}
    info = machine()
    model = MODELS[args.model].format(rounds=args.pool_rounds).replace("embed-minilm", f"embed-{args.encoder}")
    if args.labelled_weight != 1.0 and "pool" in args.model:
        model += f", each labelled post weighing {args.labelled_weight:g} pseudo-labelled ones"
    if class_weight and "pool" in args.model:
        model += f", its first head's classes weighted {class_weight}"
    if pool_class_weight:
        model += f", its refits on the pool weighted {pool_class_weight}"
    if args.select_head != "final":
        model += f"; suggest scores the pool by its {args.select_head} head"
    if args.cold_start != START:
        model += f"; active's cold start picks {args.cold_start} a class"
    if args.random_share:
        model += f"; {args.random_share:g} of each active round's picks at random"
    if args.committee:
        model += f"; readers: it and {args.committee} heads on bootstrap resamples of the labelled posts"
    result = {**({"dataset": Path(args.dataset).name} if args.dataset else {}), "model": model, "start": START, "step": args.step, "stop": STOP, **({"cold_start": args.start} if args.start != "random" else {}),
              "suggest": config.to_dict(), "schemes": {}}
    started = time.perf_counter()
    name = "active-learning" + (f"-{args.tag}" if args.tag else "")
    command = "python benchmarks/active_learning.py " + " ".join(sys.argv[1:])
    for scheme in ([Path(args.dataset).stem] if args.dataset else args.labels):
        splits = load_splits(replace(data_config(args.dataset, scheme), max_train_samples=args.pool_size))
        rows = []
        with ProcessPoolExecutor(args.jobs) as workers:
            curves = {(seed, strategy): workers.submit(curve, splits, strategy, seed, config, args.step, args.model, args.start,
                                                          model_options, args.random_share, args.cold_start)
                      for seed in args.seeds for strategy in ("active", "random")}
            for seed in args.seeds:
                for strategy in ("active", "random"):
                    rows += curves[seed, strategy].result()
                    print(scheme, strategy, seed, [(r["labelled"], r["accuracy"]) for r in rows if r["strategy"] == strategy and r["seed"] == seed], flush=True)
                result["schemes"][scheme] = {"classes": len(splits.classes), "test_posts": len(splits.test), "seeds": sorted({r["seed"] for r in rows}),
                                             "rows": rows, "summary": summarise(rows, len(splits.classes))}
                result["seconds"] = round(time.perf_counter() - started, 1)
                write_result(name, result, command, info)  # after each seed: a killed run keeps the seeds it finished (``seeds``)
    return 0


if __name__ == "__main__":
    sys.exit(main())
