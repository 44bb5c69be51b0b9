"""Render benchmarks/results/*.json as the Markdown tables in BENCHMARKS.md (between the marker comments).

    python benchmarks/tables.py          # rewrites the tables in BENCHMARKS.md in place
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BEGIN, END = "<!-- accuracy-table:begin -->", "<!-- accuracy-table:end -->"
ORDER = ["random", "majority", "tfidf-nb", "tfidf-ridge", "tfidf-logreg", "tfidf-svm"]


def fmt(x, digits=4):
    return "n/a" if x is None else f"{x:.{digits}f}"


def table() -> str:
    results = [json.loads(p.read_text()) for p in sorted((ROOT / "results").glob("*.json")) if p.name != "truncation.json"]
    out = []
    for task in sorted({r["task"] for r in results}):
        rows = [r for r in results if r["task"] == task]
        rows.sort(key=lambda r: (ORDER.index(r["method"]) if r["method"] in ORDER else len(ORDER), r["test"]["accuracy"]))
        out += [f"### {task} (test split, n = {rows[0]['test']['n']})", "",
                "| method | accuracy | macro-F1 | weighted-F1 | loss | validation macro-F1 | wall-clock s | test docs/s | date | machine |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
        for r in rows:
            t, v = r["test"], r.get("validation") or {}
            out.append(f"| {r['method']} | {fmt(t['accuracy'])} | {fmt(t['macro_f1'])} | {fmt(t['weighted_f1'])} | {fmt(t['loss'])} | "
                       f"{fmt(v.get('macro_f1'))} | {fmt(r['wall_clock_seconds'], 0)} | {fmt(t.get('docs_per_second'), 0)} | {r['date']} | "
                       f"{r['machine']['cores']} cores, {r['machine']['cpu']} |")
        repo = str(ROOT.parent) + "/"
        out += ["", "Commands (from the repository root):", ""] + [f"- `{r['command'].replace(repo, '')}`" for r in rows] + [""]
    return "\n".join(out)


TRUNC_BEGIN, TRUNC_END = "<!-- truncation-table:begin -->", "<!-- truncation-table:end -->"


def truncation_table() -> str:
    path = ROOT / "results" / "truncation.json"
    if not path.exists():
        return "(not measured yet: python benchmarks/truncation.py)"
    r = json.loads(path.read_text())
    out = [f"MiniLM, {r['train_samples']} training posts (stratified), {r['epochs']:g} epoch(s), max length {r['max_length']}; "
           f"{r['date']}, {r['machine']['cores']} cores, {r['machine']['cpu']}.", "",
           "| truncation | validation accuracy | validation macro-F1 | validation loss | wall-clock s |", "|---|---:|---:|---:|---:|"]
    for row in r["rows"]:
        out.append(f"| {row['truncation']} | {fmt(row['validation_accuracy'])} | {fmt(row['validation_macro_f1'])} | "
                   f"{fmt(row['validation_loss'])} | {fmt(row['wall_clock_seconds'], 0)} |")
    out += ["", "Commands:", ""] + [f"- `{row['command']}`" for row in r["rows"]]
    return "\n".join(out)


def main() -> None:
    path = ROOT.parent / "BENCHMARKS.md"
    text = path.read_text()
    new = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: f"{BEGIN}\n{table()}\n{END}", text, flags=re.S)
    new = re.sub(re.escape(TRUNC_BEGIN) + ".*?" + re.escape(TRUNC_END), lambda _: f"{TRUNC_BEGIN}\n{truncation_table()}\n{TRUNC_END}", new, flags=re.S)
    path.write_text(new)
    print(table())


if __name__ == "__main__":
    main()
