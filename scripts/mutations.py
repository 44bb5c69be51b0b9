"""Break one line of a core module by hand, in a scratch copy, and check that a test fails (issue 9).

    .venv/bin/python scripts/mutations.py            # every mutation below; exit 1 if any survives
    .venv/bin/python scripts/mutations.py --list

Each mutation replaces one exact line fragment of ``src/topicfit`` in a temporary copy of the package, then runs
the tests that guard it against that copy (``PYTHONPATH``). A mutation that no test notices "survives": the
tests do not hold that line. The corpus tests need ``TOPICFIT_DATA`` as everywhere.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (module, exact fragment, replacement, tests that must fail)
MUTATIONS = [
    ("metrics.py", 'average="macro"', 'average="micro"', "tests/test_metrics.py"),
    ("metrics.py", 'average="weighted", zero_division=0', 'average="macro", zero_division=0', "tests/test_metrics.py"),
    ("metrics.py", "y = [index[r] for r in references]", "y = [0 for r in references]", "tests/test_metrics.py"),
    ("metrics.py", "ece += mask.mean() * abs(conf - acc)", "ece += abs(conf - acc) / bins", "tests/test_metrics.py"),
    ("labels.py", 'return group.split(".", 1)[0]', 'return group.split(".")[-1]', "tests/test_labels.py"),
    ("labels.py", 'if self.unmapped == "drop":', 'if self.unmapped != "drop":', "tests/test_labels.py"),
    ("data.py", 'text.partition("\\n\\n")', 'text.partition("\\n")', "tests/test_data.py"),
    ("data.py", 'if lines[line_num].strip().strip("-") == "":', 'if lines[line_num].strip() == "":', "tests/test_data.py"),
    ("data.py", "(writes in|writes:|wrote:|says:|said:|^In article|^Quoted from|^\\||^>)",
     "(writes in|writes:|wrote:|says:|^In article|^Quoted from|^\\||^>)", "tests/test_data.py"),
    ("data.py", "k = min(len(members) - 1, max(1, round(size * len(members))))", "k = max(1, round(size * len(members)) - 1)", "tests/test_data.py"),
    ("kinds/ensemble.py", 'best = max(table, key=lambda r: (r["macro_f1"], r["accuracy"]))',
     'best = min(table, key=lambda r: (r["macro_f1"], r["accuracy"]))', "tests/test_ensemble.py"),
    ("kinds/ensemble.py", "if sum(c) <= units]", "if sum(c) < units]", "tests/test_ensemble.py"),
    ("kinds/ensemble.py", "proba = sum(w * p for w, p in zip(weights, probabilities))",
     "proba = sum(p for w, p in zip(weights, probabilities))", "tests/test_ensemble.py"),
    ("kinds/ensemble.py", "        run_dir = folder.parent\n", "        from ..registry import KINDS  # noqa: F401\n        run_dir = folder.parent\n",
     "tests/test_imports.py"),  # a function-level import cycle
    ("kinds/transformer.py", "return len(label_ids) / (n_classes * np.maximum(counts, 1))", "return np.ones(n_classes)",
     "tests/test_transformer.py"),
    ("kinds/transformer.py", "weight=None if weights is None else weights.to(logits.device))", "weight=None)",
     "tests/test_transformer.py"),
    ("kinds/transformer.py", "result = trainer.train(resume_from_checkpoint=True if resume_from else None)",
     "result = trainer.train(resume_from_checkpoint=None)", "tests/test_transformer.py"),
]


def run(mutation, env) -> bool:
    """True when the mutation is caught (its tests fail)."""
    module, old, new, tests = mutation
    with tempfile.TemporaryDirectory(prefix="topicfit-mutant-") as tmp:
        package = Path(tmp) / "topicfit"
        shutil.copytree(ROOT / "src" / "topicfit", package, ignore=shutil.ignore_patterns("__pycache__"))
        path = package / module
        text = path.read_text(encoding="utf-8")
        if text.count(old) != 1:
            raise SystemExit(f"{module}: the fragment {old!r} occurs {text.count(old)} times; fix the mutation list")
        path.write_text(text.replace(old, new), encoding="utf-8")
        result = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", tests], cwd=ROOT,
                                env={**env, "PYTHONPATH": tmp}, capture_output=True, text=True)
        return result.returncode != 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        for m in MUTATIONS:
            print(f"{m[0]}: {m[1]!r} -> {m[2]!r}  ({m[3]})")
        return 0
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    survived = 0
    for m in MUTATIONS:
        caught = run(m, env)
        survived += not caught
        print(f"{'caught  ' if caught else 'SURVIVED'} {m[0]}: {m[1]!r} -> {m[2]!r}", flush=True)
    print(f"{len(MUTATIONS) - survived} of {len(MUTATIONS)} mutations caught")
    return 1 if survived else 0


if __name__ == "__main__":
    raise SystemExit(main())
