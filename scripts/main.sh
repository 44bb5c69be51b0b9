#!/usr/bin/env bash
# Set up, then the main job on 7 coarse classes: every scikit-learn baseline, the bundled MiniLM as a frozen
# encoder (whole posts, logistic regression), their ensemble (weights chosen on validation), a MiniLM student
# distilled from that ensemble over the SVM's prior (one fast model, see topicfit.prior; two epochs), and a
# comparison table in runs/coarse-comparison.md.
#   scripts/main.sh           the full job (see BENCHMARKS.md for its times on 2 CPU cores)
#   scripts/main.sh --quick   the same pipeline on 500 training and 500 evaluation posts, one epoch: a few minutes
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TOPICFIT_DATA="${TOPICFIT_DATA:-$(cd .. && pwd)/shared/data/20news-bydate.tar.gz}"
tf=.venv/bin/topicfit
data=(--labels coarse)
student=(--epochs 2)
if [ "${1:-}" = "--quick" ]; then
  data+=(--max-train-samples 500 --max-eval-samples 500)
  student=(--epochs 1)
fi
$tf baseline "${data[@]}" --method all --output runs/coarse-baselines --overwrite
$tf embed "${data[@]}" --model minilm --output runs/coarse-embed-minilm --overwrite
$tf ensemble runs/coarse-baselines/tfidf-svm runs/coarse-embed-minilm --output runs/coarse-ensemble --overwrite
$tf distill runs/coarse-ensemble --student minilm "${student[@]}" --prior runs/coarse-baselines/tfidf-svm --output runs/coarse-minilm --overwrite
$tf compare runs/coarse-baselines/* runs/coarse-embed-minilm runs/coarse-ensemble runs/coarse-minilm --output runs/coarse-comparison.md
