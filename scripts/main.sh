#!/usr/bin/env bash
# Set up, then the main job on 7 coarse classes: `topicfit fit`, the best model within 20 minutes. It runs every
# scikit-learn baseline, the bundled MiniLM (and mpnet, installed by setup.sh --mpnet) as frozen encoders, their
# validation-chosen ensemble and a MiniLM student distilled over the best baseline's prior, each where the budget
# allows, and leaves runs/fit-coarse/leaderboard.md and runs/fit-coarse/best/ (a finished, exported run folder).
#   scripts/main.sh           the full job (20 minutes, set-up excluded)
#   scripts/main.sh --quick   the same on 500 training and 500 evaluation posts, within 5 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --mpnet
export TOPICFIT_DATA="${TOPICFIT_DATA:-$(cd .. && pwd)/shared/data/20news-bydate.tar.gz}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
args=(--labels coarse --budget 20 --output runs/fit-coarse)
if [ "${1:-}" = "--quick" ]; then
  args=(--labels coarse --budget 5 --max-train-samples 500 --max-eval-samples 500 --output runs/fit-coarse-quick)
fi
.venv/bin/topicfit fit "${args[@]}"
