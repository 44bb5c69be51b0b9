"""The web page against a server with an API key, in a real browser (as tests/test_browser.py: Debian's Chromium)."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.test_browser import CHROMIUM, FLAGS
from topicfit.cli import main

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
TEXT = "The shuttle launch to orbit was delayed by NASA; the moon mission waits."


def test_page_asks_for_the_key_once_and_keeps_it_for_the_tab(tiny_archive, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    run = tmp_path / "svm"
    assert main(["-q", "baseline", "--data", str(tiny_archive), "--method", "tfidf-svm", "--output", str(run), "--validation-size", "0.25"]) == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "topicfit", "-q", "serve", str(run), "--port", str(port)],
                              env={**os.environ, "TOPICFIT_API_KEY": "s3cret"})
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(base + "health", timeout=2)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page()
            page.goto(base)  # the model's description is behind the key too: the page asks for it at once
            page.wait_for_function("document.getElementById('model-status').textContent.includes('API key')", timeout=30_000)
            assert page.is_visible("#keyrow") and page.is_hidden("#facts")
            page.fill("#text", TEXT)
            page.click("#go")  # without the key: refused, and asked for again
            page.wait_for_function("document.getElementById('topic').textContent.includes('API key')", timeout=30_000)
            assert page.is_visible("#keyrow")
            page.fill("#key", "s3cret")
            page.click("#go")
            page.wait_for_function("document.getElementById('topic').textContent.startsWith('Topic')", timeout=30_000)
            assert page.text_content("#topic") == "Topic: sci" and page.is_hidden("#keyrow")
            page.wait_for_function("document.getElementById('info-method').textContent === 'tfidf-svm'", timeout=30_000)
            page.reload()  # the same tab keeps the key: no second prompt
            page.wait_for_function("document.getElementById('info-method').textContent === 'tfidf-svm'", timeout=30_000)
            assert page.is_hidden("#keyrow")
            (tmp_path / "posts.txt").write_text("church prayer bible\n" + TEXT + "\n")
            page.set_input_files("#file", str(tmp_path / "posts.txt"))
            with page.expect_download(timeout=30_000) as download:  # the upload sends the key as well
                page.click("#upload")
            assert [json.loads(line)["label"] for line in open(download.value.path(), encoding="utf-8")] == ["soc", "sci"]
            page.fill("#text", TEXT)
            page.click("#go")
            page.wait_for_function("document.getElementById('topic').textContent.startsWith('Topic')", timeout=30_000)
            other = browser.new_page()  # a new tab has no key, unless the address hands it over
            other.goto(base + "#key=s3cret")
            assert other.evaluate("location.hash") == ""  # taken out of the address bar and the history
            other.fill("#text", TEXT)
            other.click("#go")
            other.wait_for_function("document.getElementById('topic').textContent.startsWith('Topic')", timeout=30_000)
            assert other.locator("#bars .row").count() == 7
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
