import json

import numpy as np
import pytest

from topicfit.cli import main
from topicfit.predict import MAX_TEXT_CHARS, TopicClassifier, predict_inputs, read_inputs


@pytest.fixture(scope="module")
def baseline_run(tiny_archive, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "svm"
    assert main(["-q", "baseline", "--data", str(tiny_archive), "--method", "tfidf-svm", "--output", str(out), "--validation-size", "0.25"]) == 0
    return out


def test_read_inputs_formats():
    assert [r["text"] for r in read_inputs(b"one\ntwo\r\n\nthree", fmt="lines")] == ["one", "two", "", "three"]
    recs = read_inputs(b'{"text": "a", "id": 7}\nnot json\n{"body": "x"}\n', fmt="jsonl")
    assert recs[0] == {"text": "a", "id": 7, "index": 0}
    assert "not valid JSON" in recs[1]["error"] and "'text'" in recs[2]["error"]
    csv_recs = read_inputs(b'id,text\n1,"hello, world"\n2,"multi\nline"\n', fmt="csv")
    assert [r["text"] for r in csv_recs] == ["hello, world", "multi\nline"] and csv_recs[1]["id"] == "2"
    with pytest.raises(ValueError, match="'text' column"):
        read_inputs(b"a,b\n1,2\n", fmt="csv")


def test_awkward_input_gives_one_record_each_in_order(baseline_run):
    clf = TopicClassifier.load(baseline_run)
    raw = b"orbit launch nasa\n\n\xff\xfe not utf8\n" + b"moon " * 50_000 + b"\n" + b"x" * (MAX_TEXT_CHARS + 1) + b"\n"
    out = predict_inputs(clf, read_inputs(raw, fmt="lines"), top_k=2)
    assert [r["index"] for r in out] == [0, 1, 2, 3, 4]
    assert out[0]["label"] == "sci" and len(out[0]["top_k"]) == 2
    assert out[0]["probability"] == out[0]["top_k"][0]["probability"]
    assert "label" in out[1] and "warning" in out[1]  # empty text: a prediction, flagged
    assert "UTF-8" in out[2]["error"] and "label" not in out[2]
    assert out[3]["label"] in clf.classes_  # very long text still predicted
    assert "over the limit" in out[4]["error"]


def test_topic_classifier_api(baseline_run):
    clf = TopicClassifier.load(baseline_run)
    proba = clf.predict_proba(["church prayer bible", "gun law rights"])
    assert proba.shape == (2, len(clf.classes_)) and np.allclose(proba.sum(axis=1), 1)
    assert clf.predict("church prayer bible jesus") == ["soc"]


def test_predict_cli_stdin_and_files(baseline_run, tmp_path, capsys, monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"car engine dealer\ngun law\n")))
    assert main(["-q", "predict", str(baseline_run), "-", "--top-k", "1"]) == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert [l["label"] for l in lines] == ["rec", "talk"] and len(lines[0]["top_k"]) == 1
    (tmp_path / "in.jsonl").write_text('{"id": "a", "text": "orbit moon"}\n{"id": "b"}\n')
    assert main(["-q", "predict", str(baseline_run), str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl")]) == 0
    out = [json.loads(l) for l in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert out[0]["id"] == "a" and out[0]["label"] == "sci" and out[1]["id"] == "b" and "error" in out[1]


def test_unfinished_run_is_refused(tmp_path, capsys):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "metrics.json").write_text("{}")
    assert main(["predict", str(tmp_path / "half"), "-"]) == 2
    assert "not a finished topicfit run" in capsys.readouterr().err
