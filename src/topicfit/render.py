"""Text renderings of finished runs: ``report.md``, the Hugging Face model card and the comparison table.

Pure functions of a run's ``run.json`` and ``metrics.json`` contents; the workflow writes what they return.
The card is ``README.md`` in the Hub's format (YAML metadata with a ``model-index``, then prose), so an
online user can upload the run's ``model/`` folder unchanged. topicfit never calls the Hub itself.
"""

from __future__ import annotations

import json

import yaml

from .metrics import fmt, metrics_table
from .runs import CONFUSION_FILE, LEARNING_CURVE_FILE

COMPARE_COLUMNS = ("run", "method", "labels", "accuracy", "macro-F1", "weighted-F1", "loss", "train s", "test docs/s")


def render_report(run: dict, metrics: dict) -> str:
    """A human-readable ``report.md`` for one run."""
    lines = [f"# topicfit run: {run.get('name', '')}", ""]
    lines += [f"- method: `{run['method']}`", f"- labels: `{run['labels']}` ({len(run['classes'])} classes)",
              f"- data: `{run['data_config']['dataset']}`, fingerprint `{run['data']['fingerprint']}`",
              f"- created: {run['created']} on {run['machine']['cpu']} ({run['machine']['cores']} cores)",
              f"- git commit: `{run.get('git_commit')}`",
              f"- training time: {fmt(run['timings'].get('train_seconds'), 1)} s", ""]
    if run["data_config"].get("keep_headers"):
        lines += ["> **Warning:** trained with message headers kept; they leak the label (the `Newsgroups:` line).", ""]
    lines += ["## Metrics", "", *metrics_table(metrics)]
    if "test" in metrics:
        lines += ["", "## Per class (test)", "", "| class | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
        for c, m in metrics["test"]["per_class"].items():
            lines.append(f"| {c} | {fmt(m['precision'], 3)} | {fmt(m['recall'], 3)} | {fmt(m['f1'], 3)} | {m['support']} |")
        lines += ["", f"![confusion matrix]({CONFUSION_FILE})"]
    if run.get("history"):
        lines += ["", f"![learning curve]({LEARNING_CURVE_FILE})"]
    info = run["data"]
    lines += ["", "## Data", "", f"- documents: {info.get('n')}",
              f"- empty after cleaning (kept unless --drop-empty-train): {info.get('empty_after_cleaning')}; "
              f"blank (white space only included): {info.get('blank_after_cleaning')}", ""]
    return "\n".join(lines)


def model_card(run: dict, metrics: dict, *, library: str = "sklearn", base_model: str | None = None) -> str:
    """The model card of a finished run.

    Args:
        library (str): the Hub's ``library_name`` of the kind (``transformers`` or ``sklearn``).
        base_model (str | None): the Hub id of the pretrained encoder, if any.
    """
    data_cfg, model_cfg = run.get("data_config", {}), run.get("model_config", {})
    newsgroups = data_cfg.get("dataset") == "20newsgroups"
    dataset_name = f"20 Newsgroups (bydate, {run['labels']} labels)" if newsgroups else f"{data_cfg.get('dataset')} ({run['labels']} labels)"
    test = metrics.get("test", {})
    meta: dict = {
        "language": ["en"],
        "library_name": library,
        "pipeline_tag": "text-classification",
        "tags": ["topicfit", "text-classification", "topic-classification"] + (["20-newsgroups"] if newsgroups else []),
        "metrics": ["accuracy", "f1"],
    }
    if base_model:
        meta["base_model"] = base_model
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
              "## Results", "", *metrics_table(metrics), "", "## Limitations", ""]
    if newsgroups:
        lines += ["- The posts are from 1993 Usenet groups: vocabulary, topics and style are of their time and place.",
                  "- The test split is later in time than the training split; a random validation split from the training "
                  "period overstates accuracy on later posts (compare the validation and test rows above).",
                  "- With headers kept, the `Newsgroups:` and `Subject:` lines leak the answer: such scores say nothing about text understanding."
                  if data_cfg.get("keep_headers") else
                  "- Headers were removed because they leak the label; about 2% of posts are empty after cleaning and are classified from nothing."]
    truncated = "max_length" in model_cfg
    lines += ["- English only; texts longer than the model's input length are truncated." if truncated else "- English only.",
              "- Not for decisions about people: a topic label is a guess with the error rates shown above.", ""]
    return "\n".join(lines)


def compare_table(runs: list[tuple[str, dict, dict]], split: str = "test") -> str:
    """A Markdown table of finished runs ``[(path, run, metrics)]`` on one split, best accuracy first."""
    rows = []
    for path, run, metrics in runs:
        m = metrics.get(split)
        if m is None:
            continue
        rows.append((m["accuracy"], [path, run["method"], run["labels"], fmt(m["accuracy"]), fmt(m["macro_f1"]), fmt(m["weighted_f1"]),
                                     fmt(m["loss"]), fmt(run["timings"].get("train_seconds"), 1), fmt(m.get("docs_per_second"), 1)]))
    rows.sort(key=lambda r: -r[0])
    out = ["| " + " | ".join(COMPARE_COLUMNS) + " |", "|" + "---|" * 3 + "---:|" * (len(COMPARE_COLUMNS) - 3)]
    out += ["| " + " | ".join(r) + " |" for _, r in rows]
    return "\n".join(out)
