"""The web page in a real browser: Playwright drives Debian's Chromium against a real `topicfit serve`."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from topicfit.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def test_page_shows_topic_and_bar_chart(tiny_archive, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    run = tmp_path / "svm"
    assert main(["-q", "baseline", "--data", str(tiny_archive), "--method", "tfidf-svm", "--output", str(run), "--validation-size", "0.25"]) == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "topicfit", "-q", "serve", str(run), "--port", str(port)], env=os.environ.copy())
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)  # playwright gives it a new, empty profile
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("#text", "The shuttle launch to orbit was delayed by NASA; the moon mission waits.")
            page.click("#go")
            page.wait_for_function("document.getElementById('topic').textContent.length > 0", timeout=30_000)
            assert page.text_content("#topic") == "Topic: sci"
            assert page.locator("#bars .row").count() == 7
            page.screenshot(path=str(tmp_path / "page.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
