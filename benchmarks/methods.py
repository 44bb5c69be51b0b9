"""Every method side by side on both label schemes (issue 10): the frozen-encoder kind with MiniLM and mpnet,
ensembles of any members with weights chosen on validation, and a MiniLM student distilled from the best
ensemble, with the time each took.

    python benchmarks/methods.py --schemes fine coarse                 # embed minilm + mpnet, ensembles, distill
    python benchmarks/methods.py --schemes coarse --skip-distill
    python benchmarks/methods.py --schemes fine --distill-only --tag oof    # a new student beside the earlier one
    python benchmarks/methods.py --schemes fine --distill-only --prior --tag prior   # a student over a TF-IDF prior
    python benchmarks/methods.py --schemes coarse --all-members-only --with-fine   # + the 20-group runs, summed per category

It expects the TF-IDF baselines of ``python benchmarks/accuracy.py --skip-transformer`` (same validation split)
and writes ``benchmarks/results/<scheme>-<method>.json`` like accuracy.py. Model selection (ensemble weights,
the embed head's C, which TF-IDF joins) uses the validation split only; the test split is scored once per run.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from common import REPO, RESULTS, RUNS, best_tfidf, machine, record, relative, save_result, topicfit, validation_f1

# the student's recipe: two epochs keep the MiniLM run under 30 minutes on 2 cores (three took 37)
DISTILL_FLAGS = ["--epochs", "2", "--learning-rate", "1e-4", "--batch-size", "16", "--max-length", "256"]


def keep_embedding_cost(run_dir: Path, model: str) -> None:
    """Before a run is redone from cached embeddings, keep what the cold run spent embedding (its run.json timings)."""
    if not (run_dir / "run.json").exists():
        return
    run = json.loads((run_dir / "run.json").read_text())
    timings = run["timings"]
    if not timings.get("texts_embedded"):
        return
    cost = {"model": model, "texts_embedded": timings["texts_embedded"], "embed_seconds": timings["embed_seconds"],
            "texts_per_second": round(timings["texts_embedded"] / timings["embed_seconds"], 1), "settings": run["model_config"],
            "machine": {"cpu": run["machine"]["cpu"], "cores": run["machine"]["cores"], "cpu_flags": run["machine"].get("cpu_flags")},
            "run": relative(run_dir), "created": run["created"], "git_commit": run["git_commit"]}
    save_result(RESULTS / f"embed-cost-{model}.json", cost)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schemes", nargs="+", default=["fine", "coarse"], choices=["coarse", "fine"])
    parser.add_argument("--embed", nargs="*", default=["minilm", "mpnet"])
    parser.add_argument("--skip-distill", action="store_true")
    parser.add_argument("--distill-only", action="store_true", help="distill from the best ensemble already built")
    parser.add_argument("--student-only", action="store_true", help="with --distill-only: the student, not its ensemble with its teacher's members")
    parser.add_argument("--final-ensemble-only", action="store_true", help="only the ensemble of the student and its teacher's members")
    parser.add_argument("--all-members-only", action="store_true",
                        help="only the ensemble of every finished run on the student's data (student, embed runs, fine-tuned runs, best TF-IDF)")
    parser.add_argument("--with-fine", action="store_true",
                        help="with --all-members-only on coarse: the 20-group runs join too, their probabilities summed per category")
    parser.add_argument("--extra", default="", help="extra flags for `topicfit distill`, e.g. '--max-train-samples 500'")
    parser.add_argument("--prior", action="store_true",
                        help="the student learns over a bag-of-words prior: the TF-IDF baseline with the best validation macro-F1 "
                             "(topicfit distill --prior; one model)")
    parser.add_argument("--tag", help="the student's run is distill-minilm-TAG and its results are tagged (keeps an earlier student)")
    parser.add_argument("--validation-split", choices=["random", "date"], help="for the embed runs (default: topicfit's)")
    args = parser.parse_args()
    split = ["--validation-split", args.validation_split] if args.validation_split else []
    info = machine()
    for scheme in args.schemes:
        scheme_dir = RUNS / scheme
        if not args.distill_only and not args.final_ensemble_only and not args.all_members_only:
            embed_dirs = []
            for model in args.embed:
                run_dir = scheme_dir / f"embed-{model}"
                keep_embedding_cost(run_dir, model)
                cmd, seconds = topicfit("-q", "embed", "--labels", scheme, *split, "--model", model, "--output", str(run_dir), "--overwrite")
                record(scheme, run_dir, cmd, seconds, info)
                embed_dirs.append(run_dir)
            tfidf = best_tfidf(scheme_dir / "baselines")  # the TF-IDF baseline with the best validation macro-F1
            groups = [[tfidf, embed_dirs[-1]], [tfidf, *embed_dirs]] if tfidf and embed_dirs else []
            groups = [g for k, g in enumerate(groups) if g not in groups[:k]]
            for group in groups:
                ens_dir = scheme_dir / ("ensemble-" + "+".join(p.name for p in group))
                cmd, seconds = topicfit("-q", "ensemble", *map(str, group), "--output", str(ens_dir), "--overwrite")
                record(scheme, ens_dir, cmd, seconds, info)
        student = scheme_dir / ("distill-minilm" + (f"-{args.tag}" if args.tag else ""))
        if not args.skip_distill and not args.final_ensemble_only and not args.all_members_only:
            teacher = max(cheap_ensembles(scheme_dir), key=validation_f1)  # chosen on validation
            prior = ["--prior", str(best_tfidf(scheme_dir / "baselines"))] if args.prior else []
            cmd, seconds = topicfit("distill", str(teacher), "--student", "minilm", *DISTILL_FLAGS, *prior, *shlex.split(args.extra),
                                    "--output", str(student), "--overwrite")
            record(scheme, student, cmd, seconds, info, tag=args.tag)
        if (student / "run.json").exists() and not args.skip_distill and not args.all_members_only and not args.student_only:
            # the best system: the student joins its teacher's members, weights again chosen on validation
            teacher = REPO / json.loads((student / "run.json").read_text())["model_config"]["teacher"]  # relative to the repo root
            members = [(teacher / m["path"]).resolve() for m in json.loads((teacher / "run.json").read_text())["members"]]
            ens_dir = scheme_dir / ("ensemble-distill" + (f"-{args.tag}" if args.tag else "") + "+teacher")
            cmd, seconds = topicfit("-q", "ensemble", str(student), *map(str, members), "--output", str(ens_dir), "--overwrite")
            record(scheme, ens_dir, cmd, seconds, info, tag=args.tag)
        if args.all_members_only:
            members = all_members(scheme_dir, student)
            ens_dir = scheme_dir / "ensemble-all"
            labels = []
            if args.with_fine and scheme == "coarse":  # runs of the finer scheme answer the 7 categories too
                members += all_members(RUNS / "fine", student)
                ens_dir, labels = scheme_dir / "ensemble-all+fine", ["--labels", "coarse"]
            cmd, seconds = topicfit("-q", "ensemble", *map(str, members), *labels, "--output", str(ens_dir), "--overwrite")
            record(scheme, ens_dir, cmd, seconds, info)
    return 0


def cheap_ensembles(scheme_dir: Path) -> list[Path]:
    """The finished ensembles whose members are all TF-IDF baselines or frozen-encoder heads: they refit in seconds,
    so ``topicfit distill`` scores the training posts out of fold (a fine-tuned member would answer in sample)."""
    out = []
    for d in sorted(scheme_dir.glob("ensemble-*")):
        if not (d / "run.json").exists():
            continue
        members = [(d / m["path"]).resolve() for m in json.loads((d / "run.json").read_text())["members"]]
        if all(json.loads((m / "run.json").read_text())["kind"] in ("baseline", "embed") for m in members):
            out.append(d)
    return out


def all_members(scheme_dir: Path, student: Path) -> list[Path]:
    """Every finished non-ensemble run of ``scheme_dir`` trained on the student's data settings (any label scheme), plus the TF-IDF
    baseline with the best validation macro-F1 (the other baselines add little and the weight grid grows fast)."""
    def data(run_dir: Path) -> dict:
        config = json.loads((run_dir / "run.json").read_text())["data_config"]
        if config.get("validation_split") == "auto":  # 20 Newsgroups has dates: topicfit's auto is the date split
            config["validation_split"] = "date"
        return {k: v for k, v in config.items() if k not in ("max_train_samples", "labels")}

    same = data(student)
    runs = [d for d in sorted(scheme_dir.iterdir()) if (d / "run.json").exists() and not d.name.startswith("ensemble")
            and "+" not in d.name and data(d) == same]
    tfidf = best_tfidf(scheme_dir / "baselines")
    return runs + ([tfidf] if tfidf else [])


if __name__ == "__main__":
    raise SystemExit(main())
