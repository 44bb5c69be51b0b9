"""The web page in a real browser: Playwright drives Debian's Chromium against a real `topicfit serve`."""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from topicfit.cli import main
from topicfit.runs import METRICS_FILE, TOPICS_FILE, read_json

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
# one label of 70 characters, no space, no hyphen (no place a line may break): the page must wrap it anyway, never cut it
LONG = "comp.sys.ibm.pc.hardware.and.everything_else_about_personal_computers"


@contextlib.contextmanager
def serving(run, env=None):
    """A real `topicfit serve RUN` on a free port; yields its address."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "topicfit", "-q", "serve", str(run), "--port", str(port)], env=env or os.environ.copy())
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
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def whole(page, selector: str) -> bool:
    """Every element matched is drawn whole: nothing of its text overflows its box, and its box is inside the window."""
    return page.eval_on_selector_all(selector, """els => els.length > 0 && els.every(e => e.scrollWidth <= e.clientWidth + 1
        && e.getBoundingClientRect().right <= document.documentElement.clientWidth + 1 && getComputedStyle(e).textOverflow !== 'ellipsis')""")


def test_page_shows_topic_and_bar_chart(tiny_archive, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    run = tmp_path / "svm"
    assert main(["-q", "baseline", "--data", str(tiny_archive), "--method", "tfidf-svm", "--output", str(run), "--validation-size", "0.25"]) == 0
    with serving(run) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)  # playwright gives it a new, empty profile
        page = browser.new_page()
        page.goto(base)
        page.fill("#text", "The shuttle launch to orbit was delayed by NASA; the moon mission waits.")
        page.click("#go")
        page.wait_for_function("document.getElementById('topic').textContent.length > 0", timeout=30_000)
        assert page.text_content("#topic") == "Topic: sci"
        assert page.locator("#bars .row").count() == 7
        page.screenshot(path=str(tmp_path / "page.png"))
        browser.close()


def test_page_shows_the_model_and_predicts_an_uploaded_file(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    rows = ["text,label"] + [f"{w} {w} story {i},{lab}" for lab, w in (("space", "rocket"), ("cars", "engine"), (LONG, "motherboard"))
                             for i in range(12)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    run = tmp_path / "svm"
    assert main(["-q", "baseline", "--dataset", str(tmp_path / "d.csv"), "--validation-split", "random", "--validation-size", "0.25",
                 "--method", "tfidf-svm", "--output", str(run)]) == 0
    metrics = read_json(run / METRICS_FILE)
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"id": "a", "text": "rocket launch"}\n{"id": "b", "text": "motherboard motherboard"}\nnot json\n'
                     '{"id": "d", "text": "engine engine story"}\n')
    with serving(run) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 480, "height": 900})  # a narrow window: long names must wrap
        page.goto(base)
        page.wait_for_function("document.getElementById('info-method').textContent.length > 0", timeout=30_000)
        assert (page.text_content("#info-method"), page.text_content("#info-kind")) == ("tfidf-svm", "baseline")
        assert page.text_content("#info-backend") == "scikit-learn"
        assert page.locator("#labels li").all_inner_texts() == ["cars", LONG, "space"]  # each label whole, in classes_ order
        assert page.is_visible(f"#labels li:text-is('{LONG}')") and whole(page, "#labels li")
        for split in ("validation", "test"):  # accuracy, macro-F1, weighted-F1 and posts, each in its own cell
            cells = page.locator(f"#scores tr[data-split='{split}'] td").all_inner_texts()
            assert cells[0] == split and cells[4] == str(metrics[split]["n"])
            for cell, key in zip(cells[1:4], ("accuracy", "macro_f1", "weighted_f1")):
                assert abs(float(cell) - metrics[split][key]) <= 5e-5
        page.fill("#text", "a new motherboard for my computer")
        page.click("#go")
        page.wait_for_function("document.getElementById('topic').textContent.length > 0", timeout=30_000)
        assert page.text_content("#topic") == f"Topic: {LONG}" and whole(page, "#bars .name") and whole(page, "#topic")
        page.set_input_files("#file", str(posts))
        with page.expect_download(timeout=30_000) as download:
            page.click("#upload")
        assert download.value.suggested_filename == "posts.predictions.jsonl"
        got = [json.loads(line) for line in open(download.value.path(), encoding="utf-8")]
        assert [r["index"] for r in got] == [0, 1, 2, 3]  # one line per record, in order, the bad one included
        assert [r.get("label") for r in got] == ["space", LONG, None, "cars"] and "error" in got[2]
        assert [r.get("id") for r in got] == ["a", "b", None, "d"]
        assert page.text_content("#upload-status") == "4 records predicted, 1 of them error records: posts.predictions.jsonl"
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        browser.close()


def test_page_lists_a_topics_runs_words(tiny_corpus, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.test_topics import planted_embeddings
    from topicfit.data import Documents, load_newsgroups
    from topicfit.topics import TopicsConfig, fit_topics_run

    train = load_newsgroups(data=tiny_corpus, subset="train")
    docs = Documents(train.ids, train.texts, train.labels)
    run, _ = fit_topics_run(docs, tmp_path / "topics", TopicsConfig(n_topics=7), embeddings=planted_embeddings(docs.labels))
    topics = read_json(run / TOPICS_FILE)
    with serving(run) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.goto(base)
        page.wait_for_function("document.querySelectorAll('#topics tbody tr').length > 0", timeout=30_000)
        shown = [page.locator("#topics tbody tr").nth(i).locator("td").all_inner_texts() for i in range(len(topics))]
        assert page.locator("#topics tbody tr").count() == len(topics) == 7
        assert shown == [[str(t["id"]), t["label"], ", ".join(t["words"]), str(t["size"])] for t in topics]
        assert page.is_hidden("#scores-box")  # a topics run has no labelled splits to score
        browser.close()
