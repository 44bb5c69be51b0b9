"""The comparison report of ``topicfit report``: a table, accuracy and macro-F1 bars, per-class F1, the most
confused label pairs with misclassified test posts, and calibration, as HTML (figures embedded) or Markdown.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .data import DataConfig, load_splits
from .errors import RunError
from .metrics import expected_calibration_error, fmt
from .plots import per_class_figure, reliability_figure, scores_figure
from .runs import predictions_path, read_predictions, read_run


def build_report(run_dirs: list[str], *, examples: int = 2, pairs: int = 5) -> dict:
    """Gather everything a comparison report shows: table rows, figures (PNG bytes), confused pairs with posts."""
    runs = []
    for d in run_dirs:
        try:
            run, metrics = read_run(d)
        except RunError:
            continue
        if "test" in metrics:
            runs.append((str(d), run, metrics))
    if not runs:
        raise RunError(f"no finished runs with test metrics among {run_dirs}")
    names = [Path(d).name if Path(d).name not in ("", ".") else d for d, _, _ in runs]
    figures = {"scores": scores_figure(names, [m["test"]["accuracy"] for _, _, m in runs], [m["test"]["macro_f1"] for _, _, m in runs])}
    classes = sorted({c for _, _, m in runs for c in m["test"]["per_class"]})
    grid = np.array([[m["test"]["per_class"].get(c, {}).get("f1", np.nan) for c in classes] for _, _, m in runs])
    figures["per_class"] = per_class_figure(names, classes, grid)

    # calibration and confused pairs, from the saved test predictions
    texts_by_config: dict[str, dict[str, str]] = {}
    rows, confused, curves = [], {}, {}
    for name, (d, run, metrics) in zip(names, runs):
        preds = read_predictions(predictions_path(d, "test"))
        ece = None
        if preds and preds[0].get("probabilities") is not None:
            conf = [max(p["probabilities"].values()) for p in preds]
            ece, bins = expected_calibration_error(conf, [p["prediction"] == p["label"] for p in preds])
            curves[name] = (ece, bins)
        m = metrics["test"]
        rows.append({"run": name, "method": run["method"], "labels": run["labels"], "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                     "weighted_f1": m["weighted_f1"], "loss": m.get("loss"), "ece": ece, "train_seconds": run["timings"].get("train_seconds")})
        key = json.dumps(run["data_config"], sort_keys=True)
        if key not in texts_by_config:
            splits = load_splits(DataConfig.from_dict(run["data_config"]))
            texts_by_config[key] = dict(zip(splits.test.ids, splits.test.texts))
        texts = texts_by_config[key]
        cm, cls = np.array(m["confusion_matrix"]), run["classes"]
        off = [(int(cm[i, j]), cls[i], cls[j]) for i in range(len(cls)) for j in range(len(cls)) if i != j and cm[i, j] > 0]
        top = sorted(off, reverse=True)[:pairs]
        confused[name] = [{"true": t, "predicted": p, "count": n,
                           "examples": [{"id": r["id"], "text": texts.get(r["id"], "")[:400]} for r in preds
                                        if r["label"] == t and r["prediction"] == p][:examples]} for n, t, p in top]
    figures["calibration"] = reliability_figure(curves)
    rows.sort(key=lambda r: -r["accuracy"])
    return {"rows": rows, "figures": figures, "confused": confused}


def write_report(run_dirs: list[str], output: str | Path) -> Path:
    """Write a comparison report as HTML (figures embedded) or Markdown (figures beside it), by ``output``'s suffix."""
    import base64
    import html

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    rep = build_report(run_dirs)
    header = ["run", "method", "labels", "accuracy", "macro-F1", "weighted-F1", "loss", "ECE", "train s"]
    table = [[r["run"], r["method"], r["labels"], fmt(r["accuracy"]), fmt(r["macro_f1"]), fmt(r["weighted_f1"]),
              fmt(r["loss"]), fmt(r["ece"], 3), fmt(r["train_seconds"], 1)] for r in rep["rows"]]
    titles = {"scores": "Accuracy and macro-F1", "per_class": "Per-class F1", "calibration": "Calibration"}
    if output.suffix.lower() in (".md", ".markdown"):
        assets = output.with_suffix("")
        assets = assets.parent / f"{assets.name}_files"
        assets.mkdir(parents=True, exist_ok=True)
        lines = ["# topicfit report", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in table]
        for key, title in titles.items():
            (assets / f"{key}.png").write_bytes(rep["figures"][key])
            lines += ["", f"## {title}", "", f"![{title}]({assets.name}/{key}.png)"]
        lines += ["", "## Most confused pairs (test)"]
        for name, items in rep["confused"].items():
            lines += ["", f"### {name}", ""]
            for it in items:
                lines.append(f"- **{it['true']} → {it['predicted']}**: {it['count']} posts")
                lines += [f"  - `{e['id']}`: {' '.join(e['text'].split())[:300]!s}" for e in it["examples"]]
        output.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return output
    esc = html.escape
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'><title>topicfit report</title><style>"
             "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}"
             "td:first-child,td:nth-child(2),td:nth-child(3){text-align:left}blockquote{color:#444;white-space:pre-wrap;font-size:.9rem}"
             "</style></head><body><h1>topicfit report</h1><table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"]
    parts += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in table]
    parts.append("</table>")
    for key, title in titles.items():
        data = base64.b64encode(rep["figures"][key]).decode()
        parts.append(f"<h2>{esc(title)}</h2><img alt='{esc(title)}' src='data:image/png;base64,{data}'>")
    parts.append("<h2>Most confused pairs (test)</h2>")
    for name, items in rep["confused"].items():
        parts.append(f"<h3>{esc(name)}</h3><ul>")
        for it in items:
            parts.append(f"<li><b>{esc(it['true'])} → {esc(it['predicted'])}</b>: {it['count']} posts")
            parts += [f"<blockquote><code>{esc(e['id'])}</code><br>{esc(e['text'])}</blockquote>" for e in it["examples"]]
            parts.append("</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    output.write_text("\n".join(parts), encoding="utf-8")
    return output
