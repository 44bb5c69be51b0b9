"""A new kind is one module plus one registry line: a toy kind defined here goes through the workflow, predict,
the CLI's predict, compare and report, and joins an ensemble, with no other change to topicfit."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest

from topicfit import registry
from topicfit.cli import main
from topicfit.data import DataConfig
from topicfit.errors import RunError
from topicfit.kinds import Classifier
from topicfit.predict import TopicClassifier
from topicfit.workflow import fit_run


# --- the "new module": a kind that scores each class by its most frequent training words -----------------
@dataclass(frozen=True)
class KeywordConfig:
    words_per_class: int = 5

    def to_dict(self):
        return asdict(self)


class KeywordClassifier(Classifier):
    kind = "keyword"
    config_class = KeywordConfig

    def fit(self, X, y, *, X_val=None, y_val=None, classes=None, workdir=None, resume=False):
        from collections import Counter

        self.classes_ = np.array(sorted(set(y)) if classes is None else list(classes))
        counts = {c: Counter() for c in self.classes_}
        for text, label in zip(X, y):
            counts[label].update(text.lower().split())
        self.words_ = {c: [w for w, _ in counts[c].most_common(self.config.words_per_class)] for c in self.classes_}
        return self

    def predict_proba(self, X):
        scores = np.array([[1.0 + sum(w in text.lower().split() for w in self.words_[c]) for c in self.classes_] for text in X])
        return scores / scores.sum(axis=1, keepdims=True)

    def save(self, folder):
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "keywords.json").write_text(json.dumps({"classes": self.classes_.tolist(), "words": self.words_}))

    @classmethod
    def load(cls, folder, *, run=None, **options):
        saved = json.loads((Path(folder) / "keywords.json").read_text())
        clf = cls(KeywordConfig(**run["model_config"]))
        clf.classes_, clf.words_ = np.array(saved["classes"]), saved["words"]
        return clf


@pytest.fixture()
def keyword_kind(monkeypatch):
    monkeypatch.setitem(registry.KINDS, "keyword", KeywordClassifier)  # --- the "one registry line"
    return KeywordClassifier


def test_a_new_kind_goes_through_every_path(keyword_kind, tiny_env, tmp_path, capsys):
    config = DataConfig(labels="coarse", validation_size=0.25)
    run_dir, run, metrics = fit_run(KeywordClassifier(), config, tmp_path / "kw")
    assert run["kind"] == "keyword" and run["model_config"] == {"words_per_class": 5}
    assert {"train", "validation", "test"} <= set(metrics) and metrics["test"]["accuracy"] > 0.5
    for name in ("run.json", "metrics.json", "predictions.jsonl", "predictions-validation.jsonl", "confusion_matrix.png", "report.md",
                 "README.md", "model/keywords.json", "model/README.md"):
        assert (run_dir / name).exists(), name
    clf = TopicClassifier.load(run_dir)
    assert clf.predict(["orbit launch nasa shuttle"]) == ["sci"]
    (tmp_path / "in.jsonl").write_text('{"text": "gun firearms law"}\n{"no_text": 1}\n')
    capsys.readouterr()
    assert main(["-q", "predict", str(run_dir), str(tmp_path / "in.jsonl")]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out[0]["label"] == "talk" and "error" in out[1] and len(out) == 2
    assert main(["-q", "baseline", "--method", "tfidf-logreg", "--labels", "coarse", "--validation-size", "0.25", "--output", str(tmp_path / "lr")]) == 0
    assert main(["-q", "ensemble", str(run_dir), str(tmp_path / "lr"), "--output", str(tmp_path / "ens")]) == 0
    assert TopicClassifier.load(tmp_path / "ens").predict(["orbit launch nasa shuttle"]) == ["sci"]
    assert main(["-q", "report", str(run_dir), str(tmp_path / "ens"), "--output", str(tmp_path / "r.md")]) == 0
    assert "keyword" in (tmp_path / "r.md").read_text()


def test_an_unknown_kind_names_the_known_ones(tiny_env, tmp_path):
    run_dir, _, _ = fit_run(KeywordClassifier(), DataConfig(labels="coarse", validation_size=0.25), tmp_path / "kw")
    with pytest.raises(RunError, match="unknown model kind 'keyword'; known kinds: baseline, transformer, ensemble"):
        TopicClassifier.load(run_dir)
