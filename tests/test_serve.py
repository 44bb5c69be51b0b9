import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from topicfit.cli import main  # noqa: E402
from topicfit.predict import TopicClassifier  # noqa: E402
from topicfit.serve import create_app  # noqa: E402


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
