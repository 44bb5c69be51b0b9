import io
import json
import subprocess
import sys

import numpy as np
import pytest

from topicfit.cli import main
from topicfit.errors import DataError
from topicfit.predict import MAX_TEXT_CHARS, TopicClassifier, predict_file, predict_inputs, read_inputs


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


def test_predict_cli_resumes_with_output_and_chunk_size(baseline_run, tmp_path):
    (tmp_path / "in.txt").write_text("".join(f"orbit moon {i}\ngun law {i}\n" for i in range(5)))
    argv = ["-q", "predict", str(baseline_run), str(tmp_path / "in.txt"), "--output", str(tmp_path / "out.jsonl"), "--chunk-size", "3"]
    assert main(argv) == 0
    full = (tmp_path / "out.jsonl").read_bytes()
    (tmp_path / "out.jsonl").write_bytes(full[: len(full) // 2])  # killed mid-way
    assert main(argv + ["--resume"]) == 0
    assert (tmp_path / "out.jsonl").read_bytes() == full and full.count(b"\n") == 10


def test_unfinished_run_is_refused(tmp_path, capsys):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "metrics.json").write_text("{}")
    assert main(["predict", str(tmp_path / "half"), "-"]) == 2
    assert "not a finished topicfit run" in capsys.readouterr().err


# a JSONL file with every kind of record: good, empty text, bad JSON, no text field, not UTF-8, too long, ids
MIXED = b"".join([b'{"id": "a", "text": "orbit launch nasa"}\n', b'{"text": ""}\n', b"not json\n", b'{"id": 3, "body": "x"}\n',
                  b'{"text": "\xff\xfe car"}\n', b'{"text": "' + b"x" * (MAX_TEXT_CHARS + 1) + b'"}\n', b'{"text": "gun law"}\r\n',
                  b'{"id": "\xfe", "text": "church prayer"}\n', b'{"text": "car engine dealer"}'])


def _in_memory_lines(clf, raw: bytes, fmt: str) -> list[dict]:
    return predict_inputs(clf, read_inputs(raw, fmt=fmt), top_k=2)


def test_predict_file_in_chunks_equals_the_in_memory_result(baseline_run, tmp_path):
    clf = TopicClassifier.load(baseline_run)
    (tmp_path / "in.jsonl").write_bytes(MIXED)
    summary = predict_file(clf, tmp_path / "in.jsonl", tmp_path / "out.jsonl", top_k=2, chunk_size=2, progress=False)
    lines = (tmp_path / "out.jsonl").read_bytes().splitlines()
    expected = _in_memory_lines(clf, MIXED, "jsonl")
    assert [json.loads(l) for l in lines] == expected and len(lines) == 9
    assert summary == {"records": 9, "predicted": 5, "errors": 4, "skipped": 0}
    assert [r.get("id") for r in expected] == ["a", None, None, 3, None, None, None, "\udcfe", None]
    assert b'"id": "\\udcfe"' in lines[7]  # an id that was not UTF-8 is written as a JSON escape, not a crash
    # stdin-like streams in, text stream out; lines and CSV too
    raw_lines = b"orbit launch\n\n\xff bad\ngun law\r\nchurch"
    out = io.StringIO()
    predict_file(clf, io.BytesIO(raw_lines), out, fmt="lines", top_k=2, chunk_size=2, progress=False)
    assert [json.loads(l) for l in out.getvalue().splitlines()] == _in_memory_lines(clf, raw_lines, "lines")
    raw_csv = b'id,text\n1,"orbit, launch"\n2,"multi\nline gun"\n3,\n4,car\n'
    out = io.BytesIO()
    predict_file(clf, io.BytesIO(raw_csv), out, fmt="csv", top_k=2, chunk_size=3, progress=False)
    assert [json.loads(l) for l in out.getvalue().splitlines()] == _in_memory_lines(clf, raw_csv, "csv")


def test_predict_file_resumes_a_killed_run_without_loss_or_duplicates(baseline_run, tmp_path, monkeypatch):
    clf = TopicClassifier.load(baseline_run)
    source = tmp_path / "in.txt"
    source.write_text("".join(f"{w} {i}\n" for i, w in enumerate(["orbit launch", "gun law", "church prayer", "car dealer"] * 5)))
    predict_file(clf, source, tmp_path / "full.jsonl", chunk_size=3, progress=False)
    full = (tmp_path / "full.jsonl").read_bytes()
    assert full.count(b"\n") == 20
    seven = len(b"".join(full.splitlines(keepends=True)[:7]))
    predicted = []
    original = clf.predict_records
    monkeypatch.setattr(clf, "predict_records", lambda texts, **kw: predicted.extend(texts) or original(texts, **kw))
    for cut, kept in ((seven + 25, 7), (seven, 7), (5, 0), (0, 0), (len(full), 20)):  # mid-line, on a line end, first line, empty, done
        (tmp_path / "out.jsonl").write_bytes(full[:cut])
        predicted.clear()
        summary = predict_file(clf, source, tmp_path / "out.jsonl", chunk_size=3, resume=True, progress=False)
        assert (tmp_path / "out.jsonl").read_bytes() == full
        assert summary["skipped"] == kept and summary["records"] == 20 - kept
        assert predicted == [f"{w} {i}" for i, w in enumerate(["orbit launch", "gun law", "church prayer", "car dealer"] * 5)][kept:]
    # not this input's output: refused, not appended to
    (tmp_path / "other.jsonl").write_text('{"index": 0, "label": "sci"}\n{"index": 5, "label": "sci"}\n')
    with pytest.raises(DataError, match="should be record 1"):
        predict_file(clf, source, tmp_path / "other.jsonl", resume=True, progress=False)
    (tmp_path / "long.jsonl").write_bytes(full + b'{"index": 20}\n')
    with pytest.raises(DataError, match="holds 21 records but .* has only 20"):
        predict_file(clf, source, tmp_path / "long.jsonl", resume=True, progress=False)
    with pytest.raises(ValueError, match="output file"):
        predict_file(clf, source, io.BytesIO(), resume=True, progress=False)


MEMORY_CHILD = """
import json, re, sys
from topicfit.predict import TopicClassifier, predict_file, predict_inputs, read_inputs
run, source, output, mode = sys.argv[1:]

def peak_mb():
    return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024

clf = TopicClassifier.load(run)
clf.predict_records(["warm up"])
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # Linux: the peak RSS starts again from the current RSS, so loading's own peak is not counted
before = peak_mb()
if mode == "stream":
    n = predict_file(clf, source, output, progress=False)["records"]
else:  # what `topicfit predict` did before it streamed
    with open(source, "rb") as f:
        out = predict_inputs(clf, read_inputs(f.read()))
    with open(output, "w") as f:
        f.write("".join(json.dumps(r) + "\\n" for r in out))
    n = len(out)
print(json.dumps({"records": n, "growth_mb": peak_mb() - before}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="resets the peak RSS through /proc/self/clear_refs")
def test_predict_file_memory_stays_flat(baseline_run, tmp_path):
    words = "orbit launch nasa car engine dealer gun law church prayer image pixel sale price".split()
    n = 100_000
    (tmp_path / "in.txt").write_text("".join(" ".join(words[(i * k) % len(words)] for k in range(1, 7)) + "\n" for i in range(n)))

    def growth(mode: str) -> float:
        done = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(baseline_run), str(tmp_path / "in.txt"), str(tmp_path / f"{mode}.jsonl"), mode],
                              capture_output=True, text=True, check=True)
        result = json.loads(done.stdout)
        assert result["records"] == n and (tmp_path / f"{mode}.jsonl").read_bytes().count(b"\n") == n
        return result["growth_mb"]

    streamed, in_memory = growth("stream"), growth("memory")  # measured: 3 MB and 190 MB
    assert streamed < 20, f"streaming {n} lines grew the peak RSS by {streamed:.0f} MB"
    assert in_memory > 100 and in_memory > 10 * streamed, (streamed, in_memory)
