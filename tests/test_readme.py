"""The README's Python snippets run exactly as written (each block after a `<!-- python-snippet -->` marker), in a
folder holding the `posts.csv` they name."""

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def snippets() -> list[str]:
    return re.findall(r"<!-- python-snippet -->\n```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_its_python_snippets_of_at_most_five_calls():
    found = snippets()
    assert len(found) == 2
    for code in found:
        calls = [line for line in code.splitlines() if line.strip() and not line.startswith(("import", "#"))]
        assert len(calls) <= 5, code


@pytest.mark.slow
@pytest.mark.parametrize("index", [0, 1])
def test_readme_snippet_runs_as_written(index, tmp_path, monkeypatch, capsys):
    topics = {"space": "rocket orbit launch shuttle moon", "cars": "engine wheel brake gear oil", "food": "bread cheese soup bake oven"}
    rows = ["text,label"] + [f"the {w.split()[i % 5]} and the {w.split()[(i + 2) % 5]} story {i},{label}"
                             for label, w in topics.items() for i in range(30)]
    (tmp_path / "posts.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    exec(compile(snippets()[index], f"README.md snippet {index + 1}", "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    if index == 0:
        assert (tmp_path / "runs" / "posts" / "best" / "run.json").exists() and (tmp_path / "runs" / "posts-svm" / "run.json").exists()
        assert "['space']" in out
    else:
        assert out.startswith("['space']")
    assert os.getcwd() == str(tmp_path)
