"""topicfit.fit: stages through the one workflow, choice on validation, a self-contained best/, resume, the budget."""

import json
import time

import pytest

import topicfit
from topicfit import auto
from topicfit.errors import ConfigError
from topicfit.predict import TopicClassifier
from topicfit.runs import read_run


def corpus(n_per_class=30):
    words = {"space": "rocket orbit launch shuttle", "cars": "engine wheel brake gear", "food": "bread cheese soup bake"}
    texts, labels = [], []
    for label, vocab in words.items():
        for i in range(n_per_class):
            w = vocab.split()
            texts.append(f"{w[i % 4]} {w[(i + 1) % 4]} and the {w[(i + 2) % 4]} story number {i}")
            labels.append(label)
    return texts, labels


@pytest.fixture()
def fitted(tmp_path, tiny_bert):
    texts, labels = corpus()
    clf = topicfit.fit(texts, labels, budget=5, output=tmp_path / "fit", encoders=str(tiny_bert), student="none", few_labels="none", test_size=0.3,
                       validation_size=0.2)
    return tmp_path / "fit", clf


def test_fit_from_lists_writes_leaderboard_and_a_loadable_best(fitted):
    out, clf = fitted
    board = json.loads((out / auto.LEADERBOARD_FILE).read_text())
    rows = {r["name"]: r for r in board["candidates"]}
    # every baseline, the frozen encoder and the ensemble ran through the workflow into candidates/
    assert {"random", "majority", "tfidf-nb", "tfidf-svm", "tfidf-logreg", "tfidf-ridge", "ensemble"} <= set(rows)
    assert [r["kind"] for r in rows.values() if r["stage"] == "frozen encoder"] == ["embed"]
    for name, row in rows.items():
        assert (out / "candidates" / name / "run.json").exists()
    # the winner has the best validation macro-F1 of the real candidates (floors excluded), and only it is chosen
    chosen = [r for r in board["candidates"] if r["chosen"]]
    assert len(chosen) == 1
    real = [r for r in board["candidates"] if r["name"] not in auto.FLOORS and not r.get("skipped")]
    assert chosen[0]["validation_macro_f1"] == max(r["validation_macro_f1"] for r in real)
    # best/ is a finished run of the chosen kind that loads on its own and predicts
    run, metrics = read_run(out / "best")
    assert run["kind"] == chosen[0]["kind"]
    assert metrics["test"]["macro_f1"] == pytest.approx(chosen[0]["test_macro_f1"])
    assert clf.leaderboard[0]["name"] == chosen[0]["name"]
    assert TopicClassifier.load(out / "best").predict(["rocket orbit launch"]) == ["space"]
    table = (out / auto.LEADERBOARD_TABLE).read_text()
    assert "| tfidf-svm |" in table and "**yes**" in table


def test_best_ensemble_is_self_contained(fitted, tmp_path):
    import shutil

    out, _ = fitted
    moved = tmp_path / "elsewhere"
    shutil.copytree(out / "best", moved)
    shutil.rmtree(out)  # the candidates are gone: best/ must not point at them
    clf = TopicClassifier.load(moved)
    assert clf.predict(["bread cheese soup"]) == ["food"]


def test_rerun_reuses_finished_candidates(fitted, tiny_bert, monkeypatch):
    out, _ = fitted
    before = json.loads((out / auto.LEADERBOARD_FILE).read_text())
    calls = []
    original = auto.FitJob.run_candidate

    def spy(self, name, *args, **kwargs):
        calls.append((name, self.finished(name)))
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(auto.FitJob, "run_candidate", spy)
    from topicfit import workflow

    monkeypatch.setattr(workflow, "fit_run", lambda *a, **k: pytest.fail("a finished candidate was fitted again"))
    texts, labels = corpus()
    topicfit.fit(texts, labels, budget=5, output=out, encoders=str(tiny_bert), student="none", few_labels="none", test_size=0.3, validation_size=0.2)
    assert calls and all(done for _, done in calls)
    after = json.loads((out / auto.LEADERBOARD_FILE).read_text())
    assert [r["name"] for r in after["candidates"] if r["chosen"]] == [r["name"] for r in before["candidates"] if r["chosen"]]


def test_a_budget_too_small_stops_at_once_with_the_minimum(tmp_path):
    texts, labels = corpus()
    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"too small even for the TF-IDF baselines.*--budget \d"):
        topicfit.fit(texts, labels, budget=0.0001, output=tmp_path / "fit", student="none", few_labels="none")
    assert time.monotonic() - start < 30


def test_a_stage_that_does_not_fit_is_skipped_with_its_reason(tmp_path, tiny_bert, monkeypatch):
    monkeypatch.setattr(auto.FitJob, "embed_estimate", lambda self, encoder: (1e6, "torch"))
    texts, labels = corpus()
    clf = topicfit.fit(texts, labels, budget=5, output=tmp_path / "fit", encoders=str(tiny_bert), student="none", few_labels="none", test_size=0.3,
                       validation_size=0.2)
    rows = {r["name"]: r for r in clf.leaderboard}
    skipped = [r for r in rows.values() if r.get("skipped")]
    assert len(skipped) == 1 and skipped[0]["name"].startswith("embed-") and "estimated 1000000s" in skipped[0]["skipped"]
    assert "ensemble" not in rows
    assert rows[[r["name"] for r in clf.leaderboard if r["chosen"]][0]]["kind"] == "baseline"


def test_the_student_is_distilled_over_the_prior_within_its_deadline(tmp_path, tiny_bert):
    texts, labels = corpus()
    clf = topicfit.fit(texts, labels, budget=8, output=tmp_path / "fit", encoders=str(tiny_bert), student=str(tiny_bert), few_labels="none",
                       student_epochs=1, student_max_length=32, export=False, test_size=0.3, validation_size=0.2,
                       few_labels_max=0)  # 17 posts a class: few-label data, where no student is distilled, unless told
    rows = {r["name"]: r for r in clf.leaderboard}
    student = rows[f"student-{tiny_bert.name}"]
    assert student["kind"] == "transformer"
    run, _ = read_run(tmp_path / "fit" / "candidates" / student["name"])
    assert run["method"].startswith("distill-") and "+prior-tfidf-" in run["method"]
    assert run["teacher"]["folds"] == 5  # soft targets out of fold, computed by the library


def test_the_deadline_stops_training_at_the_next_step():
    from types import SimpleNamespace

    from transformers import TrainerControl

    control = TrainerControl()
    callback = auto.DeadlineCallback(time.monotonic() + 3600)
    state = SimpleNamespace(global_step=3, epoch=0.5)
    assert not callback.on_step_end(None, state, control).should_training_stop  # time is left: training goes on
    late = auto.DeadlineCallback(time.monotonic() - 1)
    out = late.on_step_end(None, state, control)
    assert out.should_training_stop and out.should_evaluate and out.should_save  # the step is scored and kept


def test_the_command_line_fit_writes_the_same_output(tmp_path, tiny_bert, capsys):
    from topicfit.cli import main

    texts, labels = corpus()
    rows = ["text,label"] + [f"{t},{y}" for t, y in zip(texts, labels)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    assert main(["-q", "fit", "--dataset", str(tmp_path / "d.csv"), "--budget", "5", "--encoders", str(tiny_bert), "--student", "none", "--few-labels", "none",
                 "--test-size", "0.3", "--output", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "| tfidf-svm |" in out and f"best model: {tmp_path / 'out' / 'best'}" in out
    board = json.loads((tmp_path / "out" / auto.LEADERBOARD_FILE).read_text())
    assert board["settings"]["budget"] == 5.0 and board["data_config"]["dataset"] == str(tmp_path / "d.csv")


def test_when_a_minilm_epoch_does_not_fit_the_student_has_half_the_layers(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from topicfit.data import DataConfig, Documents

    docs = Documents([str(i) for i in range(1000)], ["a post"] * 1000, ["x", "y"] * 500)
    job = auto.FitJob(DataConfig(), tmp_path / "fit", auto.FitConfig(budget=10, export=False))
    job.splits = SimpleNamespace(train=docs, validation=docs.select(range(100)), test=docs.select(range(100)), classes=("x", "y"))
    job.rows["tfidf-svm"] = auto._row("tfidf-svm", "baselines", fit_seconds=3.0)
    speed = {"minilm": (0.6, 0.1), auto.FASTER_STUDENT: (0.3, 0.05)}  # seconds per post: 600 s an epoch of MiniLM, 300 s of half of it
    monkeypatch.setattr(auto, "_seconds_per_post", lambda model, texts, **kw: speed[model])
    monkeypatch.setattr(auto.FitJob, "left", lambda self: 500.0)
    _, epochs, _ = job.student_plan({"name": "ensemble"}, {"name": "tfidf-svm"})
    assert job.student_model == auto.FASTER_STUDENT and epochs >= 1
    monkeypatch.setattr(auto.FitJob, "left", lambda self: 5000.0)  # time for two MiniLM epochs: the full student
    _, epochs, _ = job.student_plan({"name": "ensemble"}, {"name": "tfidf-svm"})
    assert job.student_model == "minilm" and epochs == 2.0


def test_few_labels_per_class_add_the_contrastive_kind(tmp_path, tiny_bert):
    texts, labels = corpus(n_per_class=12)
    clf = topicfit.fit(texts, labels, budget=5, output=tmp_path / "fit", encoders="none", student="none", few_labels=str(tiny_bert),
                       test_size=0.25, validation_size=0.2)
    rows = {r["name"]: r for r in clf.leaderboard}
    few = rows[f"fewlabel-{tiny_bert.name}"]
    assert few["kind"] == "fewlabel" and few["cv_macro_f1"] is not None and not few.get("skipped")
    run, _ = read_run(tmp_path / "fit" / "candidates" / few["name"])
    tfidf, _ = read_run(tmp_path / "fit" / "candidates" / "tfidf-svm")
    # few labels: the few-label kind also trains on the validation posts (it is ranked by cross-validation on them)
    assert run["data"]["n"]["train"] == tfidf["data"]["n"]["train"] + tfidf["data"]["n"]["validation"] > tfidf["data"]["n"]["train"]
    assert run["data"]["validation_trained_on"] == tfidf["data"]["n"]["validation"] and few["validation_macro_f1"] is None


def test_the_few_label_kind_can_win_without_a_validation_split(tmp_path):
    from topicfit.data import DataConfig

    job = auto.FitJob(DataConfig(), tmp_path / "fit", auto.FitConfig(budget=10, export=False))
    job.few_labels = True
    job.rows = {"embed-minilm": auto._row("embed-minilm", "frozen encoder", validation_macro_f1=0.4, cv_macro_f1=0.35),
                "fewlabel-minilm": auto._row("fewlabel-minilm", "few labels", validation_macro_f1=None, cv_macro_f1=0.9),  # trained on validation too
                "majority": auto._row("majority", "baselines", validation_macro_f1=0.1)}
    assert job.best()["name"] == "fewlabel-minilm"
    job.rows["fewlabel-minilm"]["cv_macro_f1"] = None  # no score at all: it cannot be ranked
    assert job.best()["name"] == "embed-minilm"


def test_few_labels_rank_by_cross_validation_and_self_train_on_unlabelled_rows(tmp_path, tiny_bert):
    texts, labels = corpus(n_per_class=12)
    pool, _ = corpus(n_per_class=4)
    clf = topicfit.fit(texts + [t + " again" for t in pool], labels + [None] * len(pool), budget=5, output=tmp_path / "fit",
                       encoders="none", student="minilm", few_labels=str(tiny_bert), test_size=0.25, validation_size=0.2)
    board = json.loads((tmp_path / "fit" / auto.LEADERBOARD_FILE).read_text())
    assert board["selection"] == "cross-validation" and board["data"]["unlabelled"] == len(pool)
    rows = {r["name"]: r for r in board["candidates"]}
    assert "a student learns only from them" in rows["student-minilm"]["skipped"]
    ranked = [r for r in rows.values() if not r.get("skipped") and r["name"] not in auto.FLOORS]
    assert all(r["cv_macro_f1"] is not None for r in ranked)
    assert max(ranked, key=auto._rank)["chosen"] and max(ranked, key=auto._rank)["cv_macro_f1"] == max(r["cv_macro_f1"] for r in ranked)
    run, _ = read_run(tmp_path / "fit" / "candidates" / f"fewlabel-{tiny_bert.name}")
    assert run["unlabelled"]["posts"] == len(pool)  # the rows without a label reached the few-label kind
    assert "cv macro-F1" in (tmp_path / "fit" / auto.LEADERBOARD_TABLE).read_text()


def test_a_candidate_that_fails_is_skipped_with_its_error(tmp_path, tiny_bert, monkeypatch):
    from topicfit.kinds.embed import EmbedClassifier

    def broken(self, *args, **kwargs):
        raise RuntimeError("no memory left")

    monkeypatch.setattr(EmbedClassifier, "fit", broken)
    texts, labels = corpus()
    clf = topicfit.fit(texts, labels, budget=5, output=tmp_path / "fit", encoders=str(tiny_bert), student="none", few_labels="none",
                       test_size=0.3, validation_size=0.2)
    rows = {r["name"]: r for r in clf.leaderboard}
    assert rows[f"embed-{tiny_bert.name}"]["skipped"] == "failed: RuntimeError: no memory left"
    assert not (tmp_path / "fit" / "candidates" / f"embed-{tiny_bert.name}").exists()
    assert any(r["chosen"] for r in rows.values())  # the others went on, and one was chosen
