"""The fast system of one label scheme: a distilled MiniLM student plus the TF-IDF baseline with the best
validation macro-F1, combined by ``topicfit ensemble`` into one run that serves at the student's speed (the
TF-IDF member costs a fraction of a millisecond per post), measured against the student alone.

    python benchmarks/fast_system.py --scheme fine [--students distill-minilm distill-minilm-oof] [--docs 1000]

For each student: ``topicfit ensemble STUDENT TFIDF`` (weights or stacker chosen on validation); the pair with
the best validation macro-F1 is the system (the test split never chooses). Then ``topicfit export STUDENT
--int8`` (files and backend check matching the current code) and, for the student alone and for the system,
each loaded as a user gets it (``--backend auto``) and with PyTorch fp32: docs/s over ``--docs`` test posts
(seeded sample), latency (one post per call, median and p99 over 50) and accuracy on the whole test split.
Writes ``benchmarks/results/fast-system-<scheme>.json``; the pairs also go to the method tables (accuracy.py's
``record``).
"""

from __future__ import annotations

import argparse
import time

from common import (RUNS, accuracy, best_tfidf, docs_per_second, latency, machine, record, relative, relative_command, test_sample,
                    topicfit, validation_f1, write_result)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scheme", choices=["fine", "coarse"], default="fine")
    parser.add_argument("--students", nargs="+", default=["distill-minilm"], help="student run folders under benchmarks/runs/SCHEME")
    parser.add_argument("--docs", type=int, default=1000)
    args = parser.parse_args()
    from topicfit.data import DataConfig, load_splits
    from topicfit.metrics import compute_metrics
    from topicfit.predict import TopicClassifier
    from topicfit.runs import BACKEND_CHOICE_FILE, MODEL_DIR, read_run

    info = machine()
    scheme_dir = RUNS / args.scheme
    tfidf = best_tfidf(scheme_dir / "baselines")
    pairs = {}
    for name in args.students:
        pair = scheme_dir / f"fast-{name}+{tfidf.name}"
        cmd, seconds = topicfit("-q", "ensemble", str(scheme_dir / name), str(tfidf), "--output", str(pair), "--overwrite")
        record(args.scheme, pair, cmd, seconds, info, tag=name.removeprefix("distill-minilm").strip("-") or None)  # [oof] as methods.py tags it
        pairs[name] = (pair, cmd)
    student_name = max(pairs, key=lambda n: validation_f1(pairs[n][0]))  # chosen on validation
    system, system_cmd = pairs[student_name]
    student = scheme_dir / student_name
    start = time.perf_counter()
    export_cmd, _ = topicfit("-q", "export", str(student), "--int8")
    export_seconds = round(time.perf_counter() - start, 1)
    (student / MODEL_DIR / BACKEND_CHOICE_FILE).unlink(missing_ok=True)  # auto chooses afresh, on this machine
    run, _ = read_run(student)
    test = load_splits(DataConfig.from_dict(run["data_config"])).test
    sample = test_sample(test, args.docs)

    rows = []
    for label, run_dir in (("student", student), ("student + " + tfidf.name, system)):
        for backend in ("torch", "auto"):
            clf = TopicClassifier.load(run_dir, backend=backend)
            row = {"model": label, "run": relative(run_dir), "method": read_run(run_dir)[0]["method"], "backend": backend,
                   "docs_per_second": docs_per_second(clf, sample), **latency(clf, sample[:50]), **accuracy(clf, test, compute_metrics)}
            rows.append(row)
            print(row, flush=True)
    write_result(f"fast-system-{args.scheme}", {
        "scheme": args.scheme, "system": relative(system), "student": student_name, "tfidf": tfidf.name,
        "validation_macro_f1": {n: round(validation_f1(p), 4) for n, (p, _) in pairs.items()},
        "system_command": relative_command(system_cmd), "export_command": relative_command(export_cmd), "export_seconds": export_seconds,
        "docs": len(sample), "rows": rows,
    }, f"python benchmarks/fast_system.py --scheme {args.scheme} --students {' '.join(args.students)} --docs {args.docs}", info)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
