"""Every benchmark result is portable: a real commit (or null), no machine paths, a short file name."""

import json
import re
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
MAX_NAME = 64
MACHINE_PATH = re.compile(r"(?:^|[\s=:'\"(,])(/(?:work|tmp|root|home)(?:/\S*)?)")


def strings(value, key=""):
    """Every (key, string) pair in a loaded JSON value, at any depth."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from strings(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v, key)
    elif isinstance(value, str):
        yield key, value


def commits(value):
    """Every value stored under a ``git_commit`` key, at any depth."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "git_commit":
                yield v
            yield from commits(v)
    elif isinstance(value, list):
        for v in value:
            yield from commits(v)


FILES = sorted(RESULTS.glob("*.json"))


def test_there_are_results():
    assert len(FILES) > 10


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:40])
def test_result_is_portable(path):
    assert len(path.name) <= MAX_NAME, f"{path.name}: {len(path.name)} characters (at most {MAX_NAME})"
    result = json.loads(path.read_text(encoding="utf-8"))
    for commit in commits(result):
        assert commit is None or re.fullmatch(r"[0-9a-f]{40}", commit), f"{path.name}: git_commit {commit!r} is not a full hash"
    if result.get("git_commit", "") is None:
        assert result.get("git_commit_note"), f"{path.name}: a null git_commit says why in git_commit_note"
    for key, text in strings(result):
        found = MACHINE_PATH.findall(text)
        assert not found, f"{path.name}: {key} records a machine path {found[0]!r}; write it relative to the repository root"


def test_the_check_catches_what_it_should():
    bad = {"git_commit": "HEAD", "command": "topicfit train --output /work/main/benchmarks/runs/x", "run_dir": "/tmp/run"}
    assert list(commits(bad)) == ["HEAD"]
    assert [MACHINE_PATH.findall(s) for _, s in strings(bad)] == [[], ["/work/main/benchmarks/runs/x"], ["/tmp/run"]]
    assert not MACHINE_PATH.findall("benchmarks/runs/coarse/ensemble-all+fine and/or http://x/home")
