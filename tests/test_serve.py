import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

pytest.importorskip("fastapi")
import httpx  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from topicfit import serve as serve_module  # noqa: E402
from topicfit.cli import main  # noqa: E402
from topicfit.errors import ConfigError  # noqa: E402
from topicfit.predict import MAX_TEXT_CHARS, TopicClassifier  # noqa: E402
from topicfit.runs import METRICS_FILE, TOPICS_FILE, read_json  # noqa: E402
from topicfit.serve import create_app, download_name  # noqa: E402


@pytest.fixture(scope="module")
def run_dir(tiny_archive, tmp_path_factory):
    out = tmp_path_factory.mktemp("serve") / "svm"
    assert main(["-q", "baseline", "--data", str(tiny_archive), "--method", "tfidf-svm", "--output", str(out), "--validation-size", "0.25"]) == 0
    return out


@pytest.fixture(scope="module")
def client(run_dir):
    return TestClient(create_app(TopicClassifier.load(run_dir), max_texts=8, max_text_chars=1000, max_body_bytes=20_000))


def test_predict_health_labels_page(client):
    r = client.post("/predict", json={"texts": ["orbit launch nasa", "car engine dealer"], "top_k": 2})
    assert r.status_code == 200
    preds = r.json()["predictions"]
    assert [p["label"] for p in preds] == ["sci", "rec"] and len(preds[0]["top_k"]) == 2
    assert client.get("/labels").json()["labels"] == ["alt", "comp", "misc", "rec", "sci", "soc", "talk"]
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["model"] == "tfidf-svm" and health["version"]
    assert "<textarea" in client.get("/").text
    assert "/predict" in client.get("/openapi.json").json()["paths"]


BAD_REQUESTS = [
        (b'{"texts": ["a"', 400),  # malformed JSON
        (b'{"texts": ["\xff\xfe"]}', 400),  # not UTF-8
        (json.dumps({"texts": "not a list"}).encode(), 422),
        (json.dumps({"texts": [1, 2]}).encode(), 422),
        (json.dumps({"texts": []}).encode(), 422),
        (json.dumps({"texts": ["a"] * 9}).encode(), 422),  # too many texts
        (json.dumps({"texts": ["a"], "top_k": 0}).encode(), 422),
        (json.dumps({"texts": ["x" * 1001]}).encode(), 413),  # one text too long
        (json.dumps({"texts": ["x" * 3000] * 8}).encode(), 413),  # body over 20,000 bytes
]


@pytest.mark.parametrize("body, status", BAD_REQUESTS)
def test_bad_requests_get_clear_json_errors_and_the_server_stays_up(client, body, status):
    r = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status
    assert "error" in r.json()
    assert client.post("/predict", json={"texts": ["gun law"]}).status_code == 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_uvicorn_process(run_dir):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "topicfit", "-q", "serve", str(run_dir), "--port", str(port), "--max-texts", "8",
                             "--max-text-chars", "1000", "--max-body-bytes", "20000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(base + "/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail(f"server did not start: {proc.communicate()[1].decode()[-2000:]}")
                time.sleep(0.3)

        def post(data: bytes):
            req = urllib.request.Request(base + "/predict", data=data, headers={"content-type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read())
        for bad, expected in BAD_REQUESTS:  # every bad request, and the server answers the next good one
            status, body = post(bad)
            assert status == expected and "error" in body
            assert post(b'{"texts": ["gun law"]}')[0] == 200
        status, body = post(json.dumps({"texts": ["church prayer bible"]}).encode())
        assert status == 200 and body["predictions"][0]["label"] == "soc"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- the model's description and file uploads -------------------------------------------------------

SCORES = ("accuracy", "macro_f1", "weighted_f1", "n")


def test_info_describes_the_run_and_its_scores(client, run_dir):
    info = client.get("/info").json()
    metrics = read_json(run_dir / METRICS_FILE)
    assert (info["run"], info["method"], info["kind"], info["label_scheme"], info["backend"]) == ("svm", "tfidf-svm", "baseline", "coarse",
                                                                                               "scikit-learn")
    assert info["labels"] == ["alt", "comp", "misc", "rec", "sci", "soc", "talk"] and info["probabilities"] is True
    assert info["scores"] == {split: {k: metrics[split][k] for k in SCORES} for split in ("validation", "test")}
    assert info["scores"]["validation"]["n"] == 14 and info["scores"]["test"]["n"] == 28  # 25% of 56 training posts; 4 x 7 test posts
    assert "topics" not in info


def _upload(client, name: str, content: bytes, **fields):
    return client.post("/predict-file", files={"file": (name, content, "application/octet-stream")}, data=fields)


def _as_predict_writes_it(run_dir, tmp_path, name: str, content: bytes, *flags: str) -> bytes:
    """What `topicfit predict RUN FILE --output OUT` writes for the same file."""
    (tmp_path / name).write_bytes(content)
    assert main(["-q", "predict", str(run_dir), str(tmp_path / name), "--output", str(tmp_path / "out.jsonl"), *flags]) == 0
    return (tmp_path / "out.jsonl").read_bytes()


UPLOADS = [  # (file name, content, per record: its label, "error", or "warned" (an empty text: a label and a warning))
    ("posts.csv", b"id,text\na,orbit launch nasa shuttle\nb,car engine dealer wheel\nc,\xff\xfe not utf-8\nd,church prayer bible\n",
     ["sci", "rec", "error", "soc"]),
    ("posts.jsonl", b'{"id": 1, "text": "orbit launch nasa"}\nnot json\n{"id": 3, "body": "no text field"}\n\n{"text": "gun law weapon"}\n',
     ["sci", "error", "error", "error", "talk"]),
    ("posts.txt", b"orbit launch nasa\n\ncar engine dealer\n" + b"x" * (MAX_TEXT_CHARS + 1) + b"\nimage pixel graphics",
     ["sci", "warned", "rec", "error", "comp"]),  # the empty line is a record (predicted, with a warning); the long one an error
]


@pytest.mark.parametrize("name, content, expected", UPLOADS, ids=[u[0] for u in UPLOADS])
def test_an_uploaded_file_gets_one_record_per_input_record_as_topicfit_predict_writes_them(client, run_dir, tmp_path, name, content, expected):
    r = _upload(client, name, content)
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == 'attachment; filename="posts.predictions.jsonl"'
    assert r.headers["content-type"] == "application/x-ndjson"
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert [row["index"] for row in rows] == list(range(len(expected)))  # every record once, in order, none dropped
    assert ["error" if "error" in row else "warned" if "warning" in row else row["label"] for row in rows] == expected
    assert (r.headers["x-topicfit-records"], r.headers["x-topicfit-errors"]) == (str(len(expected)), str(expected.count("error")))
    assert r.content == _as_predict_writes_it(run_dir, tmp_path, name, content)  # byte for byte: predict's own reader and writer


def test_upload_errors_are_predicts_own_records():
    client = TestClient(create_app(CountingClassifier(), batch_wait_ms=0))
    rows = [json.loads(line) for line in _upload(client, "in.jsonl", b'{"id": 7, "body": "x"}\n{"text": "b"}\n').text.splitlines()]
    assert rows[0] == {"error": "expected a JSON object with a string 'text' field", "id": 7, "index": 0}
    assert rows[1]["label"] == "b" and rows[1]["index"] == 1
    rows = [json.loads(line) for line in _upload(client, "in.txt", b"\xffbad\ngood\n").text.splitlines()]
    assert rows[0] == {"error": "input is not valid UTF-8; re-encode it as UTF-8", "index": 0} and rows[1]["label"] == "good"


def test_upload_settings_format_text_field_top_k(client, run_dir, tmp_path):
    content = b'{"body": "orbit launch nasa"}\n{"body": "church prayer"}\n'
    r = _upload(client, "posts.data", content, format="jsonl", text_field="body", top_k="2")
    assert r.status_code == 200
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert [row["label"] for row in rows] == ["sci", "soc"] and [len(row["top_k"]) for row in rows] == [2, 2]
    assert r.content == _as_predict_writes_it(run_dir, tmp_path, "posts.data", content, "--format", "jsonl", "--text-field", "body",
                                              "--top-k", "2")
    assert _upload(client, "a.txt", b"orbit\n").headers["content-disposition"] == 'attachment; filename="a.predictions.jsonl"'
    assert download_name("../../etc/pass wd.csv") == "pass_wd.predictions.jsonl" and download_name(None) == "upload.predictions.jsonl"
    assert download_name("C:\\Users\\me\\Posts 2026.tsv") == "Posts_2026.predictions.jsonl"


@pytest.mark.parametrize("name, content, fields, status, message", [
    ("posts.csv", b"body,label\nhi,x\n", {}, 422, "CSV input needs a header row with a 'text' column; found ['body', 'label']"),
    ("posts.txt", b"hi\n", {"format": "xml"}, 422, "format must be one of ('lines', 'jsonl', 'csv'), got 'xml'"),
    ("posts.txt", b"hi\n", {"top_k": "0"}, 422, "invalid upload; expected multipart/form-data"),
])
def test_bad_uploads_get_clear_json_errors(client, name, content, fields, status, message):
    r = _upload(client, name, content, **fields)
    assert r.status_code == status and r.json()["error"].startswith(message)
    assert client.post("/predict-file", data={"format": "lines"}).json()["error"].startswith("invalid upload")  # no file part
    assert client.post("/predict-file", content=b"not multipart", headers={"content-type": "multipart/form-data; boundary=x"}).status_code in (400, 422)


def test_an_upload_over_the_limit_is_refused_with_the_limit_named(run_dir):
    small = TestClient(create_app(TopicClassifier.load(run_dir), max_upload_bytes=1000, max_body_bytes=100_000))
    r = _upload(small, "big.txt", b"orbit launch\n" * 100)  # 1,300 bytes of file
    assert r.status_code == 413 and r.json()["error"].startswith("upload over the limit of 1,000 bytes (serve --max-upload-bytes)")
    assert _upload(small, "ok.txt", b"orbit launch\n" * 10).status_code == 200  # 130 bytes: within it
    # /predict keeps its own limit
    assert small.post("/predict", json={"texts": ["x" * 2000]}).status_code == 200


def test_a_topics_run_shows_its_topics(tiny_corpus, tmp_path):
    from tests.test_topics import planted_embeddings
    from topicfit.data import Documents, load_newsgroups
    from topicfit.topics import TopicsConfig, fit_topics_run

    train = load_newsgroups(data=tiny_corpus, subset="train")
    docs = Documents(train.ids, train.texts, train.labels)
    run_dir, metrics = fit_topics_run(docs, tmp_path / "topics", TopicsConfig(n_topics=7), embeddings=planted_embeddings(docs.labels))
    info = TestClient(create_app(TopicClassifier.load(run_dir), batch_wait_ms=0)).get("/info").json()
    saved = read_json(run_dir / TOPICS_FILE)
    run = read_json(run_dir / "run.json")
    assert (info["kind"], info["method"], info["scores"]) == ("topics", run["method"], {})
    assert info["topics"] == [{"id": t["id"], "label": t["label"], "words": t["words"], "size": t["size"]} for t in saved]
    assert len(info["topics"]) == 7 and all(t["words"] and t["size"] for t in info["topics"])
    assert info["labels"] == run["classes"] == [t["label"] for t in saved]
    assert {k: info["topic_scores"][k] for k in ("n_topics", "diversity", "nmi")} == {"n_topics": 7, "diversity": metrics["diversity"],
                                                                                    "nmi": metrics["nmi"]}


# --- batching across requests -----------------------------------------------------------------------


class CountingClassifier:
    """Answers each text with itself as the label (and ``top_k`` alternatives); records every call it gets."""

    classes_ = np.array(["a", "b", "c"])
    run = {"method": "fake", "kind": "fake", "labels": "fake"}
    has_probabilities = True

    def __init__(self, *, block: threading.Event | None = None):
        self.calls: list[list[str]] = []
        self.block, self.entered = block, threading.Event()

    def predict_records(self, texts, *, top_k=3):
        self.calls.append(list(texts))
        self.entered.set()
        if self.block is not None:
            assert self.block.wait(10)
        if "boom" in texts:
            raise RuntimeError("the model failed")
        return [{"label": t, "probability": 0.5, "top_k": [{"label": f"{t}#{j}", "probability": 0.5} for j in range(top_k)]} for t in texts]


async def _post_all(app, requests: list[dict], **transport) -> list[httpx.Response]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, **transport), base_url="http://test") as client:
        return await asyncio.gather(*(client.post("/predict", json=r) for r in requests))


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer():
    fake = CountingClassifier()
    app = create_app(fake, batch_wait_ms=2000, max_batch=4)
    requests = [{"texts": [f"t{i}"], "top_k": 1 + i % 3} for i in range(16)]
    answers = asyncio.run(_post_all(app, requests))
    assert [r.status_code for r in answers] == [200] * 16
    for req, r in zip(requests, answers):
        (pred,) = r.json()["predictions"]
        assert pred["label"] == req["texts"][0]
        assert [a["label"] for a in pred["top_k"]] == [f"{req['texts'][0]}#{j}" for j in range(req["top_k"])]
    assert [len(c) for c in fake.calls] == [4, 4, 4, 4]  # 16 requests, 4 calls: each batch closed when full, not at 2 s
    assert sorted(t for c in fake.calls for t in c) == sorted(f"t{i}" for i in range(16))


def test_batching_off_and_a_large_request_alone():
    fake = CountingClassifier()
    asyncio.run(_post_all(create_app(fake, batch_wait_ms=0), [{"texts": [f"t{i}"]} for i in range(6)]))
    assert sorted(fake.calls) == [[f"t{i}"] for i in range(6)]  # one call per request
    fake = CountingClassifier()
    answers = asyncio.run(_post_all(create_app(fake, batch_wait_ms=2000, max_batch=3), [{"texts": ["a", "b", "c", "d", "e"]}]))
    assert fake.calls == [["a", "b", "c", "d", "e"]] and [p["label"] for p in answers[0].json()["predictions"]] == list("abcde")


def test_a_failing_batch_answers_500_and_the_server_goes_on():
    fake = CountingClassifier()
    app = create_app(fake, batch_wait_ms=2000, max_batch=2)
    answers = asyncio.run(_post_all(app, [{"texts": ["boom"]}, {"texts": ["fine"]}], raise_app_exceptions=False))
    assert [r.status_code for r in answers] == [500, 500] and fake.calls == [["boom", "fine"]]
    assert asyncio.run(_post_all(app, [{"texts": ["x"]}, {"texts": ["y"]}]))[1].json()["predictions"][0]["label"] == "y"


def test_the_event_loop_stays_free_while_a_batch_is_predicted():
    release = threading.Event()
    fake = CountingClassifier(block=release)
    app = create_app(fake, batch_wait_ms=1)

    async def scenario():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            pending = asyncio.create_task(client.post("/predict", json={"texts": ["slow"]}))
            assert await asyncio.to_thread(fake.entered.wait, 10)
            health = await asyncio.wait_for(client.get("/health"), 5)  # answered while the model is busy
            assert not pending.done()
            release.set()
            return health, await pending

    health, answer = asyncio.run(scenario())
    assert health.status_code == 200 and answer.json()["predictions"][0]["label"] == "slow"


def test_batched_answers_equal_unbatched_ones(run_dir):
    clf = TopicClassifier.load(run_dir)
    requests = [{"texts": ["orbit launch nasa", "gun law"], "top_k": 2}, {"texts": ["church prayer"], "top_k": 7},
                {"texts": ["car engine dealer"], "top_k": 1}, {"texts": ["", "image pixel"], "top_k": 3}]
    batched = asyncio.run(_post_all(create_app(clf, batch_wait_ms=2000, max_batch=6), requests))
    alone = asyncio.run(_post_all(create_app(clf, batch_wait_ms=0), requests))
    assert [r.json() for r in batched] == [r.json() for r in alone]
    assert [len(r.json()["predictions"][0]["top_k"]) for r in batched] == [2, 7, 1, 3]


# --- API key ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed(run_dir):
    return TestClient(create_app(TopicClassifier.load(run_dir), api_key="s3cret", max_body_bytes=20_000))


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "s3cre"}, {"Authorization": "s3cret"},
                                     {"Authorization": "Basic s3cret"}])
def test_predict_without_the_right_key_is_401(keyed, headers):
    r = keyed.post("/predict", json={"texts": ["gun law"]}, headers=headers)
    assert r.status_code == 401 and "API key" in r.json()["error"] and r.headers["www-authenticate"] == "Bearer"


def test_predict_with_the_key_and_open_paths(keyed):
    for headers in ({"Authorization": "Bearer s3cret"}, {"authorization": "bearer s3cret"}, {"X-API-Key": "s3cret"}):
        r = keyed.post("/predict", json={"texts": ["church prayer bible"]}, headers=headers)
        assert r.status_code == 200 and r.json()["predictions"][0]["label"] == "soc"
    for path in ("/health", "/labels", "/", "/docs", "/openapi.json"):  # open: none runs the model or sees a text
        assert keyed.get(path).status_code == 200
    # the key is checked before the body: a client without it learns nothing about the request's validity or size
    assert keyed.post("/predict", content=b'{"texts": ["a"', headers={"content-type": "application/json"}).status_code == 401
    assert keyed.post("/predict", content=b"x" * 30_000, headers={"content-type": "application/json"}).status_code == 401
    assert keyed.post("/predict", content=b'{"texts": ["a"', headers={"content-type": "application/json", "X-API-Key": "s3cret"}).status_code == 400


def test_info_and_upload_need_the_key(keyed):
    assert keyed.get("/info").status_code == 401
    assert keyed.get("/info", headers={"X-API-Key": "s3cret"}).json()["method"] == "tfidf-svm"
    assert _upload(keyed, "a.txt", b"church prayer bible\n").status_code == 401
    assert keyed.post("/predict-file", content=b"x" * 40_000_000, headers={"content-type": "multipart/form-data; boundary=x"}).status_code == 401
    r = keyed.post("/predict-file", files={"file": ("a.txt", b"church prayer bible\n")}, headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 200 and json.loads(r.text)["label"] == "soc"


def test_a_key_beyond_ascii_is_compared_as_utf8_bytes():
    client = TestClient(create_app(CountingClassifier(), api_key="clé-🔑", batch_wait_ms=0))
    assert client.post("/predict", json={"texts": ["x"]}, headers={"X-API-Key": "clé-🔑".encode()}).status_code == 200
    assert client.post("/predict", json={"texts": ["x"]}, headers={"X-API-Key": "clé-🔑".encode("latin-1", "replace")}).status_code == 401


def test_serve_command_passes_batching_and_key(run_dir, monkeypatch):
    seen = {}
    monkeypatch.setattr(serve_module, "serve", lambda run, **kw: seen.update(kw, run=run))
    assert main(["-q", "serve", str(run_dir), "--batch-wait-ms", "0", "--max-batch", "8", "--api-key", "k", "--batch-size", "4"]) == 0
    assert (seen["run"], seen["batch_wait_ms"], seen["max_batch"], seen["api_key"], seen["batch_size"]) == (str(run_dir), 0, 8, "k", 4)
    assert main(["-q", "serve", str(run_dir)]) == 0
    assert (seen["batch_wait_ms"], seen["max_batch"], seen["api_key"], seen["batch_size"]) == (
        serve_module.BATCH_WAIT_MS, serve_module.MAX_BATCH, None, None)


def test_serve_loads_the_model_with_the_batch_size(run_dir, monkeypatch):
    import uvicorn

    loaded = []
    real = serve_module.TopicClassifier.load
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    monkeypatch.setattr(serve_module.TopicClassifier, "load", lambda *a, **kw: loaded.append(kw) or real(*a, **kw))
    serve_module.serve(run_dir, batch_size=4)
    assert loaded[-1]["batch_size"] == 4
    with pytest.raises(ConfigError, match="batch_size must be at least 1"):
        serve_module.serve(run_dir, batch_size=0)


def test_serve_takes_the_key_from_the_environment(run_dir, monkeypatch):
    import uvicorn

    apps = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: apps.append(app))
    monkeypatch.setenv(serve_module.API_KEY_ENV, "from-env")
    serve_module.serve(run_dir, batch_wait_ms=0)
    client = TestClient(apps[0])
    assert client.post("/predict", json={"texts": ["gun law"]}).status_code == 401
    assert client.post("/predict", json={"texts": ["gun law"]}, headers={"X-API-Key": "from-env"}).status_code == 200
    monkeypatch.setenv(serve_module.API_KEY_ENV, "")
    serve_module.serve(run_dir)  # empty: no key
    assert TestClient(apps[1]).post("/predict", json={"texts": ["gun law"]}).status_code == 200
