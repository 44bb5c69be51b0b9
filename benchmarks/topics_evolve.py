"""Topics after the fit on 20 Newsgroups, with the MiniLM embeddings of the shared cache: an update, a reduction
along the hierarchy, and seed words.

    python benchmarks/topics_evolve.py            # -> benchmarks/results/topics-evolve-minilm.json

1. ``update``: 20 topics fitted on the training posts (11,314), then ``update_topics_run`` with the test posts
   (7,532; their embeddings given, so nothing is embedded): how far the topics moved, how many earlier posts
   changed topic, and NMI of every post's topic against the 20 groups after the update, beside a fresh fit on all
   18,846 posts (``fresh``).
2. ``reduce``: that fresh fit's 20 topics merged along its tree to 7 (``reduce_topics_run``): NMI against the 7
   coarse groups, beside a fresh 7-topic fit.
3. ``seeded``: the 20-topic fit with three seed topics (``SEEDS``): where each seed went, and the seeded topics'
   words, NPMI, diversity and NMI beside the unseeded fit's.

Every assignment is checked against the saved model's ``transform`` (``transform_equals_fit``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from common import RESULTS, RUNS, machine, save_result  # noqa: E402  (common puts src/ on sys.path)

SEEDS = {"space": ["space", "nasa", "orbit", "launch"], "hockey": ["hockey", "nhl", "goalie", "puck"],
         "guns": ["gun", "firearms", "weapons"]}
EMBED_SETTINGS = {"max_length": 256, "whole": True, "max_windows": 16}  # the embed kind's: one cache with benchmarks/topics.py


def assignments(run_dir) -> list[int]:
    return [json.loads(line)["topic"] for line in (run_dir / "assignments.jsonl").read_text().splitlines()]


def transform_equals_fit(run_dir, X) -> bool:
    from topicfit.topics import TopicClustering

    return TopicClustering.load(run_dir / "model").transform(X)[0].tolist() == assignments(run_dir)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--output", default=None, help="default: benchmarks/results/topics-evolve-<model>.json")
    args = parser.parse_args()

    from topicfit.data import Documents, load_newsgroups
    from topicfit.embeddings import embed_texts
    from topicfit.labels import get_scheme
    from topicfit.runs import read_json
    from topicfit.topics import TopicsConfig, fit_topics_run, label_metrics
    from topicfit.topics_evolve import reduce_topics_run, update_topics_run

    info = machine()
    train, test = load_newsgroups(subset="train"), load_newsgroups(subset="test")
    docs = Documents(train.ids + test.ids, train.texts + test.texts, train.labels + test.labels)
    X = embed_texts(docs.texts, model=args.model, **EMBED_SETTINGS)
    n_train, out = len(train), {}
    coarse = get_scheme("coarse")
    config = TopicsConfig(model=args.model, n_topics=20)
    folder = RUNS / "topics-evolve" / args.model

    # 1. fit on train, update with test; a fresh fit on all
    start = time.perf_counter()
    old_run, _ = fit_topics_run(train, folder / "train-20", config, embeddings=X[:n_train], overwrite=True)
    updated = folder / "updated-20"
    run_dir, entry = update_topics_run(old_run, Documents(test.ids, test.texts, [""] * len(test)), output=updated, overwrite=True,
                                       embeddings=X[n_train:])
    update_seconds = round(time.perf_counter() - start, 1)
    fresh, fresh_metrics = fit_topics_run(docs, folder / "fresh-20", config, embeddings=X, overwrite=True)
    out["update"] = {**{k: v for k, v in entry.items() if k != "topics"}, "seconds_fit_and_update": update_seconds,
                     "nmi_after_update": label_metrics(references=docs.labels, topics=assignments(run_dir))["nmi"],
                     "npmi_after_update": read_json(run_dir / "metrics.json")["npmi"], "transform_equals_fit": transform_equals_fit(run_dir, X),
                     "per_topic": [{k: r[k] for k in ("id", "label", "new_posts", "centroid_shift", "word_overlap")} for r in entry["topics"]]}
    out["fresh"] = {k: fresh_metrics[k] for k in ("npmi", "diversity", "nmi", "n_topics")}
    print(json.dumps({k: v for k, v in out["update"].items() if k != "per_topic"}), flush=True)

    # 2. the fresh fit's 20 topics merged along its tree to 7, against a fresh 7-topic fit, by the 7 coarse groups
    coarse_labels = [coarse.map_label(y) for y in docs.labels]
    reduced, reduced_metrics = reduce_topics_run(fresh, 7, output=folder / "reduced-7", overwrite=True)
    seven, _ = fit_topics_run(docs, folder / "fresh-7", TopicsConfig(model=args.model, n_topics=7), embeddings=X, overwrite=True)
    out["reduce"] = {"nmi_coarse_reduced": label_metrics(references=coarse_labels, topics=assignments(reduced))["nmi"],
                     "nmi_coarse_fresh_7": label_metrics(references=coarse_labels, topics=assignments(seven))["nmi"],
                     "npmi_reduced": reduced_metrics["npmi"], "transform_equals_fit": transform_equals_fit(reduced, X),
                     "merged": read_json(reduced / "run.json")["reduced_from"]["merged"],
                     "labels": [t["label"] for t in read_json(reduced / "topics.json")]}
    print(json.dumps({k: v for k, v in out["reduce"].items() if k not in ("merged", "labels")}), flush=True)

    # 3. seeds
    seeds_file = folder / "seeds.json"
    seeds_file.write_text(json.dumps(SEEDS))
    seeded, seeded_metrics = fit_topics_run(docs, folder / "seeded-20", TopicsConfig(model=args.model, n_topics=20, seed_topics=str(seeds_file)),
                                            embeddings=X, overwrite=True)
    topics = read_json(seeded / "topics.json")
    out["seeded"] = {**{k: seeded_metrics[k] for k in ("npmi", "diversity", "nmi")}, "seeds": SEEDS,
                     "seed_topics": {name: next({"id": t["id"], "label": t["label"], "size": t["size"], "words": t["words"]}
                                                for t in topics if name in t["seeds"]) for name in SEEDS},
                     "transform_equals_fit": transform_equals_fit(seeded, X)}
    print(json.dumps({k: v for k, v in out["seeded"].items() if k != "seeds"}), flush=True)

    result = {"task": "topics after the fit (update, reduction along the hierarchy, seed words), 20 Newsgroups, MiniLM",
              "command": shlex.join(["python", "benchmarks/topics_evolve.py", *sys.argv[1:]]), "n_documents": len(docs), "model": args.model,
              "machine": {k: info[k] for k in ("cpu", "cores")}, "git_commit": info["git_commit"],
              "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **out}
    path = save_result(Path(args.output) if args.output else RESULTS / f"topics-evolve-{args.model}.json", result)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
