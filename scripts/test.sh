#!/usr/bin/env bash
# Set up, then run the test suite. The corpus tests need TOPICFIT_DATA (default: ../shared/data/20news-bydate.tar.gz).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TOPICFIT_DATA="${TOPICFIT_DATA:-$(cd .. && pwd)/shared/data/20news-bydate.tar.gz}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
exec .venv/bin/python -m pytest "$@"
