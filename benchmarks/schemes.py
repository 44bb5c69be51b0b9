"""Do the 20-group runs answer the 7 categories better than the 7-category runs? For every finished run of
``benchmarks/runs/fine`` that has a same-named run in ``benchmarks/runs/coarse``, its saved test and validation
probabilities are summed per category (``LabelScheme.class_map``, the same path as ``topicfit ensemble
--labels coarse``) and scored against the 7-category run of the same method.

    python benchmarks/schemes.py        # writes benchmarks/results/schemes.json; benchmarks/tables.py renders it

Validation rows are the validation posts both runs held out (their date splits differ by about one post).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent / "src"))

from accuracy import RESULTS, RUNS, machine  # noqa: E402
from topicfit.labels import get_scheme  # noqa: E402
from topicfit.metrics import compute_metrics  # noqa: E402
from topicfit.runs import predictions_path, read_predictions, read_run  # noqa: E402


def scored(run_dir: Path, split: str, ids: set[str] | None = None) -> dict[str, tuple[str, np.ndarray]]:
    """id -> (label, probabilities in the run's class order), from the run's saved predictions."""
    run = read_run(run_dir)[0]
    rows = read_predictions(predictions_path(run_dir, split))
    return {r["id"]: (r["label"], np.array([r["probabilities"][c] for c in run["classes"]])) for r in rows
            if r.get("probabilities") is not None and (ids is None or r["id"] in ids)}


def coarse_metrics(run_dir: Path, split: str, ids: list[str]) -> dict:
    """The run's metrics on ``ids`` in the 7 categories (a 20-group run's probabilities summed per category)."""
    scheme, run = get_scheme("coarse"), read_run(run_dir)[0]
    classes = list(scheme.classes)
    class_map = scheme.class_map(run["classes"], classes)
    rows = scored(run_dir, split, set(ids))
    refs, preds = [], []
    for i in ids:
        label, p = rows[i]
        summed = np.zeros(len(classes))
        for c, v in zip(run["classes"], p):
            summed[classes.index(class_map[str(c)])] += v
        refs.append(class_map.get(label, label))
        preds.append(classes[int(summed.argmax())])
    m = compute_metrics(references=refs, predictions=preds, classes=classes)
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
            row = {"method": read_run(coarse)[0]["method"], "fine_run": str(fine.relative_to(ROOT.parent)), "coarse_run": str(coarse.relative_to(ROOT.parent))}
            for split in ("validation", "test"):
                ids = sorted(set(scored(fine, split)) & set(scored(coarse, split)))
                if not ids:
                    raise KeyError(f"no probabilities on {split}")
                row[split] = {"20 groups summed": coarse_metrics(fine, split, ids), "7 categories": coarse_metrics(coarse, split, ids)}
        except (KeyError, FileNotFoundError) as exc:  # a method without probabilities, or a run not evaluated on a split
            print(f"skipping {fine.name}: {exc!r}")
            continue
        rows.append(row)
        print(row["method"], {s: {k: (v["accuracy"], v["macro_f1"]) for k, v in row[s].items()} for s in ("validation", "test")})
    info = machine()
    out = {"command": "python benchmarks/schemes.py", "rows": rows, "machine": {k: info[k] for k in ("cpu", "cores")},
           "git_commit": info["git_commit"], "date": dt.date.today().isoformat()}
    (RESULTS / "schemes.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
