"""Reports about runs: the Hugging Face model card of every run, and reports comparing runs.

The card is ``README.md`` in the Hub's format (YAML metadata with a ``model-index``, then prose), so an online
user can upload the run's ``model/`` folder unchanged. topicfit never calls the Hub itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

BASE_MODELS = {"minilm": "sentence-transformers/all-MiniLM-L6-v2", "distilbert": "distilbert-base-uncased"}


def model_card(run: dict, metrics: dict) -> str:
    """Render the model card of a finished run from its ``run.json`` and ``metrics.json`` contents."""
    data_cfg, model_cfg = run.get("data_config", {}), run.get("model_config", {})
    newsgroups = data_cfg.get("dataset") == "20newsgroups"
    kind = run.get("kind")
    dataset_name = f"20 Newsgroups (bydate, {run['labels']} labels)" if newsgroups else f"{data_cfg.get('dataset')} ({run['labels']} labels)"
    test = metrics.get("test", {})
    meta: dict = {
        "language": ["en"],
        "library_name": "transformers" if kind == "transformer" else "sklearn",
        "pipeline_tag": "text-classification",
        "tags": ["topicfit", "text-classification", "topic-classification"] + (["20-newsgroups"] if newsgroups else []),
        "metrics": ["accuracy", "f1"],
    }
    if kind == "transformer":
        model = model_cfg.get("model", "")
        meta["base_model"] = BASE_MODELS.get(model, model)
    if newsgroups:
        meta["datasets"] = ["SetFit/20_newsgroups"]
    if test:
        meta["model-index"] = [{
            "name": run.get("name") or run["method"],
            "results": [{
                "task": {"type": "text-classification", "name": "Topic classification"},
                "dataset": {"name": dataset_name, "type": "SetFit/20_newsgroups" if newsgroups else "custom", "split": "test"},
                "metrics": [m for m in (
                    {"type": "accuracy", "value": round(test["accuracy"], 4), "name": "accuracy"},
                    {"type": "f1", "value": round(test["macro_f1"], 4), "name": "macro-F1", "args": {"average": "macro"}},
                    {"type": "f1", "value": round(test["weighted_f1"], 4), "name": "weighted-F1", "args": {"average": "weighted"}},
                    {"type": "loss", "value": round(test["loss"], 4), "name": "cross-entropy"} if test.get("loss") is not None else None,
                ) if m],
            }],
        }]
    lines = ["---", yaml.safe_dump(meta, sort_keys=False).strip(), "---", "", f"# {run.get('name') or run['method']}", "",
             f"A topic classifier trained with topicfit: method `{run['method']}`, "
             f"{len(run['classes'])} labels: {', '.join(f'`{c}`' for c in run['classes'])}.", "", "## Data", ""]
    if newsgroups:
        lines += ["20 Newsgroups, scikit-learn's \"bydate\" split (11,314 training and 7,532 test posts), "
                  + ("with message headers **kept**." if data_cfg.get("keep_headers") else
                     "with headers, signature footers and quoted replies removed (the form published as `SetFit/20_newsgroups`)."),
                  f"Labels: `{run['labels']}`. A stratified {data_cfg.get('validation_size', 0.1):.0%} of the training posts "
                  f"(seed {data_cfg.get('seed')}) was held out for model selection; the test split was used once, for the numbers below."]
    else:
        lines += [f"`{data_cfg.get('dataset')}`, labels `{run['labels']}`."]
    lines += ["", f"Documents per split: {run.get('data', {}).get('n')}; data fingerprint `{run.get('data', {}).get('fingerprint')}`.", "",
              "## Training settings", "", "```json", json.dumps(model_cfg, indent=2), "```", "",
              f"Training took {run.get('timings', {}).get('train_seconds')} s on {run['machine']['cpu']} ({run['machine']['cores']} cores); "
              f"topicfit {run['versions'].get('topicfit')}, torch {run['versions'].get('torch')}, "
              f"transformers {run['versions'].get('transformers')}, scikit-learn {run['versions'].get('scikit-learn')}.", "",
              "## Results", "", "| split | n | accuracy | macro-F1 | weighted-F1 | loss |", "|---|---:|---:|---:|---:|---:|"]
    for split in ("train", "validation", "test"):
        if split in metrics:
            m = metrics[split]
            loss = "n/a" if m.get("loss") is None else f"{m['loss']:.4f}"
            lines.append(f"| {split} | {m['n']} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | {m['weighted_f1']:.4f} | {loss} |")
    lines += ["", "## Limitations", ""]
    if newsgroups:
        lines += ["- The posts are from 1993 Usenet groups: vocabulary, topics and style are of their time and place.",
                  "- The test split is later in time than the training split; a random validation split from the training "
                  "period overstates accuracy on later posts (compare the validation and test rows above).",
                  "- With headers kept, the `Newsgroups:` and `Subject:` lines leak the answer: such scores say nothing about text understanding."
                  if data_cfg.get("keep_headers") else
                  "- Headers were removed because they leak the label; about 2% of posts are empty after cleaning and are classified from nothing."]
    lines += ["- English only; texts longer than the model's input length are truncated." if kind == "transformer" else "- English only.",
              "- Not for decisions about people: a topic label is a guess with the error rates shown above.", ""]
    return "\n".join(lines)


# --- comparison reports -------------------------------------------------------------------------------


def expected_calibration_error(confidence, correct, *, bins: int = 15) -> tuple[float, list[dict]]:
    """Top-label ECE: the support-weighted gap between confidence and accuracy over equal-width confidence bins.

    Returns the ECE and the bins (``lower``, ``upper``, ``confidence``, ``accuracy``, ``n``) for a reliability diagram.
    """
    import numpy as np

    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    rows, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (confidence > lo) & (confidence <= hi) if lo > 0 else (confidence >= lo) & (confidence <= hi)
        if mask.any():
            conf, acc = float(confidence[mask].mean()), float(correct[mask].mean())
            ece += mask.mean() * abs(conf - acc)
            rows.append({"lower": float(lo), "upper": float(hi), "confidence": conf, "accuracy": acc, "n": int(mask.sum())})
    return float(ece), rows


def _png(fig) -> bytes:
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def build_report(run_dirs: list[str], *, examples: int = 2, pairs: int = 5) -> dict:
    """Gather everything a comparison report shows: table rows, figures (PNG bytes), confused pairs with posts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from .data import DataConfig, load_splits
    from .evaluate import predictions_path, read_predictions
    from .runs import RunError, read_run

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
    figures: dict[str, bytes] = {}

    # accuracy and macro-F1 side by side
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(runs) + 2), 4.5), constrained_layout=True)
    x = np.arange(len(runs))
    ax.bar(x - 0.2, [m["test"]["accuracy"] for _, _, m in runs], 0.4, label="accuracy")
    ax.bar(x + 0.2, [m["test"]["macro_f1"] for _, _, m in runs], 0.4, label="macro-F1")
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_title("test split")
    ax.legend()
    figures["scores"] = _png(fig)

    # per-class F1, one row per run
    classes = sorted({c for _, _, m in runs for c in m["test"]["per_class"]})
    grid = np.array([[m["test"]["per_class"].get(c, {}).get("f1", np.nan) for c in classes] for _, _, m in runs])
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(classes) + 3), 0.5 * len(runs) + 2.5), constrained_layout=True)
    im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(runs)), names)
    for i in range(len(runs)):
        for j in range(len(classes)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7, color="white" if grid[i, j] < 0.6 else "black")
    fig.colorbar(im, ax=ax, shrink=0.8, label="test F1")
    figures["per_class"] = _png(fig)

    # calibration and confused pairs, from the saved test predictions
    texts_by_config: dict[str, dict[str, str]] = {}
    fig, ax = plt.subplots(figsize=(5.5, 5.5), constrained_layout=True)
    ax.plot([0, 1], [0, 1], "k:", label="perfect calibration")
    rows, confused = [], {}
    for name, (d, run, metrics) in zip(names, runs):
        preds = read_predictions(predictions_path(d, "test"))
        ece = None
        if preds and preds[0].get("probabilities") is not None:
            conf = [max(p["probabilities"].values()) for p in preds]
            ece, bins = expected_calibration_error(conf, [p["prediction"] == p["label"] for p in preds])
            ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-", label=f"{name} (ECE {ece:.3f})")
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
    ax.set_xlabel("confidence (top-label probability)")
    ax.set_ylabel("accuracy")
    ax.set_title("reliability diagram, test split")
    ax.legend(fontsize=8)
    figures["calibration"] = _png(fig)
    rows.sort(key=lambda r: -r["accuracy"])
    return {"rows": rows, "figures": figures, "confused": confused}


def _cell(x, digits: int = 4) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def write_report(run_dirs: list[str], output: str | Path) -> Path:
    """Write a comparison report as HTML (figures embedded) or Markdown (figures beside it), by ``output``'s suffix."""
    import base64
    import html

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    rep = build_report(run_dirs)
    header = ["run", "method", "labels", "accuracy", "macro-F1", "weighted-F1", "loss", "ECE", "train s"]
    table = [[r["run"], r["method"], r["labels"], _cell(r["accuracy"]), _cell(r["macro_f1"]), _cell(r["weighted_f1"]),
              _cell(r["loss"]), _cell(r["ece"], 3), _cell(r["train_seconds"], 1)] for r in rep["rows"]]
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
