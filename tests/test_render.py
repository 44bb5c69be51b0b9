import yaml

from topicfit.render import compare_table, model_card, render_report


def _run(method, acc, **extra):
    run = {"name": method, "method": method, "labels": "coarse", "classes": ["a", "b"], "timings": {"train_seconds": 1.0},
           "data_config": {"dataset": "20newsgroups", "validation_size": 0.1, "seed": 42}, "model_config": {},
           "data": {"n": {"test": 2}, "fingerprint": "abc"}, "created": "today", "git_commit": None,
           "machine": {"cpu": "cpu", "cores": 2}, "versions": {"topicfit": "0.1.0"}, **extra}
    metrics = {"test": {"n": 2, "accuracy": acc, "macro_f1": acc, "weighted_f1": acc, "loss": None, "docs_per_second": 10.0,
                        "per_class": {"a": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}}}}
    return run, metrics


def test_compare_table_sorts_by_accuracy():
    rows = [(f"runs/{m}", *_run(m, acc)) for m, acc in (("slow", 0.5), ("good", 0.9))]
    lines = compare_table(rows).splitlines()
    assert lines[0].startswith("| run | method") and "good" in lines[2] and "slow" in lines[3]
    assert "n/a" in lines[2]


def test_model_card_names_the_library_and_base_model():
    run, metrics = _run("finetune-minilm", 0.8, model_config={"max_length": 256})
    card = model_card(run, metrics, library="transformers", base_model="sentence-transformers/all-MiniLM-L6-v2")
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["library_name"] == "transformers" and meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert meta["model-index"][0]["results"][0]["metrics"][0] == {"type": "accuracy", "value": 0.8, "name": "accuracy"}
    assert "truncated" in card
    plain = yaml.safe_load(model_card(*_run("tfidf-svm", 0.7)).split("---")[1])
    assert plain["library_name"] == "sklearn" and "base_model" not in plain


def test_report_md_has_the_metrics_table_and_a_header_warning():
    run, metrics = _run("tfidf-svm", 0.7)
    text = render_report(run, metrics)
    assert "| test | 2 | 0.7000 |" in text and "Warning" not in text
    run["data_config"]["keep_headers"] = True
    assert "leak the label" in render_report(run, metrics)
