#!/usr/bin/env bash
# SetFit 1.2, the peer of the few-label kind, in its own environment (benchmarks/.venv-setfit, git-ignored): it is
# installed for the benchmark only (benchmarks/few_labels.py --methods setfit-minilm), never a topicfit dependency.
# torch and transformers come pinned from constraints.txt (the CPU build of torch). datasets is held below 5 with
# pyarrow 21: datasets 5.2 with pyarrow 24 and 26 fails here in Dataset.from_dict (it cannot pickle pyarrow's
# MonthDayNano type while fingerprinting), which setfit's Trainer calls.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x benchmarks/.venv-setfit/bin/python ] || "$PYTHON" -m venv benchmarks/.venv-setfit
grep -E '^(torch|transformers|tokenizers|safetensors|huggingface_hub|numpy|scikit-learn|scipy|sentence-transformers|accelerate)==' constraints.txt \
  > benchmarks/.venv-setfit/constraints.txt
benchmarks/.venv-setfit/bin/python -m pip install --quiet --disable-pip-version-check -c benchmarks/.venv-setfit/constraints.txt \
  "setfit==1.2.0" "datasets${SETFIT_DATASETS:-<5}" "pyarrow${SETFIT_PYARROW:-==21.0.0}" torch transformers
benchmarks/.venv-setfit/bin/python -c "import datasets, setfit; datasets.Dataset.from_dict({'text': ['a'], 'label': [0]}); print('setfit', setfit.__version__, 'datasets', datasets.__version__)"
