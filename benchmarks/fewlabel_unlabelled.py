"""The few-label kind's use of unlabelled posts: which way of learning from them, chosen on a development sample.

    python benchmarks/fewlabel_unlabelled.py --labels coarse --seeds 1 2 --k 8

For each seed: k labelled training posts a class (the draw of ``few_labels.py``), an unlabelled pool (``--pool``
other training posts, labels hidden, the same draw as ``few_labels.py --unlabelled``) and a development sample
(``--dev`` further training posts, labels used only to score the variants). The encoder is tuned once per seed
(SetFit's method, the kind's defaults) and saved under ``benchmarks/runs/fewlabel-bodies/`` for reruns; every
variant is then a head on the same embeddings, so they differ only in how they use the pool:

- ``labelled only``: logistic regression on the k labelled posts (SetFit);
- ``self-training once``: the kind's former default, confident pool posts (p >= 0.9, at most 50 a class) added once;
- ``self-training, R rounds``: each round the head labels the pool and keeps the most confident share of each
  predicted class (growing to the whole pool by the last round), then refits on labelled + kept;
- ``label spreading``: scikit-learn's ``LabelSpreading`` over a k-nearest-neighbour graph of labelled + pool,
  then the head refitted on the spread labels;
- ``+ TF-IDF``: any of the above, averaged with a TF-IDF logistic regression trained on the pool's pseudo-labels
  (words the encoder's 128 tokens never read);
- ``balanced refits``: the refits on labelled + pseudo-labelled posts with balanced class weights
  (``--pool-class-weight balanced``), so a large class of the pool does not crowd out the small ones.

The test sample (``few_labels.py``'s 2,000 posts) is scored for completeness; the kind's default follows the
development sample. Writes ``benchmarks/results/fewlabel-unlabelled-SCHEME.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "src"))

from common import data_config, machine, write_result  # noqa: E402
from few_labels import sample_per_class  # noqa: E402

from topicfit.data import load_splits, sample_documents  # noqa: E402
from topicfit.kinds.fewlabel import FewLabelClassifier, FewLabelConfig, semi_supervised_head  # noqa: E402
from topicfit.metrics import compute_metrics  # noqa: E402

BODIES = ROOT / "runs" / "fewlabel-bodies"


def portable_body(arg: str) -> str:
    """A ``--body SEED=FOLDER`` outside the repository (a fit run's temporary folder) as what it was, not its path."""
    seed, sep, folder = arg.partition("=")
    if sep and seed.isdigit() and Path(folder).is_absolute() and ROOT.parent not in Path(folder).resolve().parents:
        return f"{seed}=FIT_RUN/candidates/fewlabel-minilm/model"
    return arg


def scores(y, predicted, classes) -> dict:
    m = compute_metrics(references=list(y), predictions=list(predicted), classes=classes)
    return {k: round(m[k], 4) for k in ("accuracy", "macro_f1", "weighted_f1")}


def variants(rounds_grid=(1, 3, 5)):
    yield "labelled only", {"method": "none"}
    yield "self-training once (p>=0.9, 50 a class)", {"method": "once"}
    for rounds in rounds_grid:
        yield f"self-training, {rounds} rounds", {"method": "rounds", "rounds": rounds}
    yield "label spreading (10 neighbours)", {"method": "spreading"}
    for rounds in rounds_grid:
        yield f"self-training, {rounds} rounds + TF-IDF", {"method": "rounds", "rounds": rounds, "tfidf": True}
    yield "label spreading + TF-IDF", {"method": "spreading", "tfidf": True}
    for weight in (0.3, 0.7):
        yield f"self-training, 1 round + TF-IDF at weight {weight:g}", {"method": "rounds", "rounds": 1, "tfidf": True, "words_weight": weight}
    for rounds in (2, 3, 5):
        yield f"co-training, {rounds} rounds", {"method": "cotraining", "rounds": rounds}
    # the refits on labelled + pseudo-labelled posts with balanced class weights (--pool-class-weight balanced)
    yield "co-training, 2 rounds, balanced refits", {"method": "cotraining", "rounds": 2, "pool_class_weight": "balanced"}
    yield "label spreading + TF-IDF, balanced refits", {"method": "spreading", "tfidf": True, "pool_class_weight": "balanced"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", default="coarse")
    parser.add_argument("--tag", help="a suffix for the result's name (another run of the same corpus)")
    parser.add_argument("--dataset", help="a labelled file (text, label, id) instead of 20 Newsgroups: few_labels.py --dataset's splits")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--pool", type=int, default=2000)
    parser.add_argument("--dev", type=int, default=1000)
    parser.add_argument("--test-samples", type=int, default=2000)
    parser.add_argument("--body", nargs="*", default=[], metavar="SEED=FOLDER",
                        help="a seed's already tuned few-label model folder (e.g. a fit's candidates/fewlabel-minilm/model), used as it is")
    args = parser.parse_args()
    started = time.perf_counter()
    splits = load_splits(data_config(args.dataset, args.labels))
    if args.dataset:
        args.labels = Path(args.dataset).stem  # names the result, the saved bodies and the embeddings cache
    classes = list(splits.classes)
    test = sample_documents(splits.test, args.test_samples or None, seed=0, what="few-labels test")
    rows = []
    for seed in args.seeds:
        chosen = sample_per_class(splits.train.labels, args.k, seed)
        X, y = [splits.train.texts[i] for i in chosen], [splits.train.labels[i] for i in chosen]
        rest = sorted(set(range(len(splits.train))) - set(chosen))
        pool_idx = np.random.default_rng(seed).choice(rest, args.pool, replace=False)  # few_labels.py --unlabelled's draw
        left = sorted(set(rest) - set(pool_idx.tolist()))
        dev_idx = np.random.default_rng(1000 + seed).choice(left, args.dev, replace=False)
        pool = [splits.train.texts[i] for i in pool_idx]
        dev_X, dev_y = [splits.train.texts[i] for i in dev_idx], [splits.train.labels[i] for i in dev_idx]
        given = dict(b.split("=", 1) for b in args.body)
        folder = Path(given.get(str(seed)) or BODIES / f"{args.labels}-k{args.k}-seed{seed}")
        if (folder / "fewlabel.json").exists():
            model = FewLabelClassifier.load(folder, trust=True)
        else:
            model = FewLabelClassifier(FewLabelConfig(seed=seed, unlabelled_method="none")).fit(X, y)
            model.save(folder)
        body = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:8]  # another --body: other embeddings
        cache = BODIES / f"embeddings-{args.labels}-k{args.k}-seed{seed}-pool{args.pool}-dev{args.dev}-test{len(test)}-{body}.npz"
        if cache.exists():  # a rerun with other variants: the same encoder's embeddings
            emb = dict(np.load(cache))
        else:
            emb = {name: model.embed(texts) for name, texts in (("labelled", X), ("pool", pool), ("dev", dev_X), ("test", test.texts))}
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, **emb)
        for name, options in variants():
            start = time.perf_counter()
            options = dict(options)
            config = replace(model.config, pool_class_weight=options.pop("pool_class_weight", None))  # the variant says which
            head = semi_supervised_head(emb["labelled"], y, emb["pool"], labelled_texts=X, pool_texts=pool, config=config, **options)
            seconds = time.perf_counter() - start
            row = {"seed": seed, "variant": name, "seconds": round(seconds, 1)}
            for split, (E, texts, labels) in {"dev": (emb["dev"], dev_X, dev_y), "test": (emb["test"], test.texts, test.labels)}.items():
                row[split] = scores(labels, head.predict(E, texts), classes)
            rows.append(row)
            print(row, flush=True)
    summary = []
    for name, _ in variants():
        group = [r for r in rows if r["variant"] == name]
        summary.append({"variant": name, **{f"{split}_{m}": round(float(np.mean([r[split][m] for r in group])), 4)
                                            for split in ("dev", "test") for m in ("accuracy", "macro_f1", "weighted_f1")}})
    best = max(summary, key=lambda s: (s["dev_macro_f1"], s["dev_accuracy"]))
    write_result(f"fewlabel-unlabelled-{args.labels}" + (f"-{args.tag}" if args.tag else ""), {
        "rows": rows, "summary": summary, "chosen_by_dev": best["variant"], "k": args.k, "pool": args.pool, "dev": args.dev,
        "test_posts": len(test), "seeds": args.seeds, "seconds": round(time.perf_counter() - started, 1)},
        "python benchmarks/fewlabel_unlabelled.py " + " ".join(map(portable_body, sys.argv[1:])), machine())
    for s in summary:
        print(s)
    print("chosen on the development sample:", best["variant"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
