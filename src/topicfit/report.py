"""Reports about runs: the Hugging Face model card written into every run folder.

The card is ``README.md`` in the Hub's format (YAML metadata with a ``model-index``, then prose), so an online
user can upload the run's ``model/`` folder unchanged. topicfit never calls the Hub itself.
"""

from __future__ import annotations

import json

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
