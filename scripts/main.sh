#!/usr/bin/env bash
# Set up, then the main job on 7 coarse classes: every scikit-learn baseline, the bundled MiniLM fine-tuned
# (about 40 minutes on 2 CPU cores; see BENCHMARKS.md), their validation-weighted ensemble, and a comparison table.
# Extra arguments go to `topicfit train`, e.g. `scripts/main.sh --max-train-samples 500 --epochs 1` for a quick look.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TOPICFIT_DATA="${TOPICFIT_DATA:-$(cd .. && pwd)/shared/data/20news-bydate.tar.gz}"
tf=.venv/bin/topicfit
$tf baseline --labels coarse --method all --output runs/coarse-baselines --overwrite
$tf train --labels coarse --model minilm --class-weight balanced --output runs/coarse-minilm --overwrite "$@"
$tf ensemble runs/coarse-minilm runs/coarse-baselines/tfidf-svm --output runs/coarse-ensemble --overwrite
$tf compare runs/coarse-baselines/* runs/coarse-minilm runs/coarse-ensemble --output runs/coarse-comparison.md
