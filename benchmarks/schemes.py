"""Do the 20-group runs answer the 7 categories better than the 7-category runs? For every finished run of
``benchmarks/runs/fine`` that has a same-named run in ``benchmarks/runs/coarse``, its saved test and validation
probabilities are summed per category (``LabelScheme.class_map``, the same path as ``topicfit ensemble
--labels coarse``) and scored against the 7-category run of the same method.

    python benchmarks/schemes.py        # writes benchmarks/results/schemes.json; benchmarks/tables.py renders it

Validation rows are the validation posts both runs held out (their date splits differ by about one post).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from common import RESULTS, RUNS, machine, relative, save_result
from topicfit.labels import get_scheme
from topicfit.metrics import compute_metrics
from topicfit.runs import predictions_path, read_predictions, read_run, saved_rows


def scored(run_dir: Path, split: str) -> tuple[list[str], dict[str, tuple[str, np.ndarray]]]:
    """The run's classes, and id -> (label, probabilities in that class order) from its saved predictions."""
    classes = [str(c) for c in read_run(run_dir)[0]["classes"]]
    labels = {r["id"]: r["label"] for r in read_predictions(predictions_path(run_dir, split))}
    return classes, {i: (labels[i], p) for i, p in saved_rows(run_dir, split, classes).items() if p is not None}


def coarse_metrics(classes: list[str], rows: dict[str, tuple[str, np.ndarray]], ids: list[str]) -> dict:
    """Metrics on ``ids`` in the 7 categories (a 20-group run's probabilities summed per category)."""
    scheme = get_scheme("coarse")
    categories = list(scheme.classes)
    class_map = scheme.class_map(classes, categories)
    matrix = np.array([[class_map[c] == k for k in categories] for c in classes], dtype=np.float64)
    refs = [class_map.get(rows[i][0], rows[i][0]) for i in ids]
    preds = [categories[int((rows[i][1] @ matrix).argmax())] for i in ids]
    m = compute_metrics(references=refs, predictions=preds, classes=categories)
    return {"accuracy": round(m["accuracy"], 4), "macro_f1": round(m["macro_f1"], 4), "n": len(ids)}


def main() -> int:
    pairs = []
    for fine in sorted(RUNS.glob("fine/*")) + sorted(RUNS.glob("fine/baselines/*")):
        coarse = RUNS / "coarse" / fine.relative_to(RUNS / "fine")
        if ((fine / "run.json").exists() and (coarse / "run.json").exists() and read_run(fine)[0]["kind"] != "ensemble"
                and fine.name not in ("random", "majority")):  # the floors' probabilities say nothing about the classes
            pairs.append((fine, coarse))
    rows = []
    for fine, coarse in pairs:
        try:
            row = {"method": read_run(coarse)[0]["method"], "fine_run": relative(fine), "coarse_run": relative(coarse)}
            for split in ("validation", "test"):
                (fine_classes, fine_rows), (coarse_classes, coarse_rows) = scored(fine, split), scored(coarse, split)
                ids = sorted(set(fine_rows) & set(coarse_rows))
                if not ids:
                    raise KeyError(f"no probabilities on {split}")
                row[split] = {"20 groups summed": coarse_metrics(fine_classes, fine_rows, ids),
                              "7 categories": coarse_metrics(coarse_classes, coarse_rows, ids)}
        except (KeyError, FileNotFoundError) as exc:  # a method without probabilities, or a run not evaluated on a split
            print(f"skipping {fine.name}: {exc!r}")
            continue
        rows.append(row)
        print(row["method"], {s: {k: (v["accuracy"], v["macro_f1"]) for k, v in row[s].items()} for s in ("validation", "test")})
    info = machine()
    out = {"command": "python benchmarks/schemes.py", "rows": rows, "machine": {k: info[k] for k in ("cpu", "cores")},
           "git_commit": info["git_commit"], "date": dt.date.today().isoformat()}
    save_result(RESULTS / "schemes.json", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
