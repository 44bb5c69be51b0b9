"""What ``topicfit.suggest`` picks: how learnable its posts are, against random picks and the pool.

    python benchmarks/suggest_picks.py --labels coarse fine --seeds 1 2 3 4 5

A question behind benchmarks/active_learning.py's bar (active selection reaching random's accuracy at 64 a class
with half the labels). Each seed starts as a curve of that loop does: 8 random labelled training posts a class, the
loop's model (``--model``) fitted on them and the rest of the training split (the pool). Then, on the pool:

- ``learnable``: the share of posts that the same kind of model gets right with every training label, out of fold
  (5-fold cross-validated predictions of the frozen MiniLM with logistic regression, C=4, on the whole training
  split): a post it gets wrong even then (off-topic, near-empty, or like another class's posts) teaches the loop's
  model little, however uncertain it is;
- ``right``: the share that the loop's model (8 labels a class) gets right;
- for suggest's first round of picks (``8 x classes`` posts, its default settings), the same number drawn at random,
  the whole pool, and the pool in bands of the model's margin uncertainty (the most uncertain ``n``, then up to
  ``5n``, up to ``20n`` (suggest's candidates), and the rest);
- the picks' spread over the true classes (the fewest and most picks a class) and their median length in words.

Writes ``benchmarks/results/suggest-picks.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from active_learning import C, MODELS, POOL_ROUNDS, START, fit_model, make_model, sample_per_class  # noqa: E402
from common import machine, write_result  # noqa: E402

from topicfit.data import DataConfig, load_splits  # noqa: E402
from topicfit.suggest import SuggestConfig, suggest, uncertainty  # noqa: E402

BANDS = (("the most uncertain n", 0, 1), ("n to 5n", 1, 5), ("5n to 20n", 5, 20), ("the rest", 20, None))  # in n, by margin


def learnable(splits, seed: int = 42) -> np.ndarray:
    """Per training post: does a logistic regression on the frozen MiniLM embeddings of every other fold's posts
    (5-fold, stratified) predict its label?"""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    embeddings = make_model("embed", seed).embed(splits.train.texts)
    y = np.asarray(splits.train.labels)
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    return cross_val_predict(LogisticRegression(C=C, max_iter=3000), embeddings, y, cv=folds) == y


def first_round(splits, seed: int, model_name: str, learn: np.ndarray) -> dict:
    train = splits.train
    y, words = np.asarray(train.labels), np.array([len(t.split()) for t in train.texts])
    labelled = sample_per_class(train.labels, START, seed)
    taken = set(labelled)
    pool = np.array([i for i in range(len(train)) if i not in taken])
    pool_texts = [train.texts[i] for i in pool]
    model = make_model(model_name, seed)
    fit_model(model, [train.texts[i] for i in labelled], [train.labels[i] for i in labelled], pool_texts)
    proba = np.asarray(model.predict_proba(pool_texts))
    right = np.asarray(model.classes_)[proba.argmax(axis=1)] == y[pool]
    n = START * len(splits.classes)
    picks = np.array([p["index"] for p in suggest(model, pool_texts, n=n, seed=seed, config=SuggestConfig())])
    drawn = np.random.default_rng(1000 + seed).choice(len(pool), n, replace=False)  # as the loop's random strategy draws

    def share(rows) -> dict:
        return {"posts": int(len(rows)), "learnable": round(float(learn[pool[rows]].mean()), 4), "right": round(float(right[rows].mean()), 4),
                "median_words": float(np.median(words[pool[rows]]))}

    order = np.argsort(-uncertainty(proba, "margin"), kind="stable")
    per_class = np.unique(y[pool[picks]], return_counts=True)[1]
    return {"seed": seed, "suggest": share(picks), "random": share(drawn), "pool": share(np.arange(len(pool))),
            "bands": {name: share(order[a * n: None if b is None else b * n]) for name, a, b in BANDS},
            "picks_a_class": {"fewest": int(0 if len(per_class) < len(splits.classes) else per_class.min()), "most": int(per_class.max())}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", nargs="+", default=["coarse", "fine"], choices=("coarse", "fine"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--model", default="embed+pool-rounds", choices=tuple(MODELS), help="the loop's model (active_learning.py --model)")
    args = parser.parse_args()
    info, started = machine(), time.perf_counter()
    result = {"model": MODELS[args.model].format(rounds=POOL_ROUNDS), "start": START, "suggest": SuggestConfig().to_dict(), "schemes": {}}
    for scheme in args.labels:
        splits = load_splits(DataConfig(labels=scheme))
        learn = learnable(splits)
        rows = [first_round(splits, seed, args.model, learn) for seed in args.seeds]
        result["schemes"][scheme] = {"classes": len(splits.classes), "learnable_train": round(float(learn.mean()), 4), "rows": rows}
        print(scheme, [(r["seed"], r["suggest"]["learnable"], r["random"]["learnable"]) for r in rows], flush=True)
    result["seconds"] = round(time.perf_counter() - started, 1)
    write_result("suggest-picks", result, "python benchmarks/suggest_picks.py " + " ".join(sys.argv[1:]), info)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
