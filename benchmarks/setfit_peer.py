"""SetFit itself, the peer of topicfit's few-label kind: run under a separate virtual environment that has
setfit 1.2 (installed for the benchmark only, ``benchmarks/setup_setfit.sh``), called by
``benchmarks/few_labels.py --methods setfit-minilm``.

    benchmarks/.venv-setfit/bin/python benchmarks/setfit_peer.py JOB.json OUT.json

``JOB.json`` holds ``body`` (a sentence-transformers folder), ``seed``, ``train_texts``, ``train_labels`` and
``test_texts``; ``OUT.json`` gets ``predictions`` (one label per test text), ``fit_seconds``,
``predict_seconds`` and the versions. SetFit's defaults as its paper ran them: 20 pair iterations, 1 epoch,
batch size 16, a logistic-regression head; ``max_seq_length`` from the job (the few-label kind's 128 tokens, so
both read the same text), else the body's own.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> int:
    job = json.loads(open(sys.argv[1]).read())
    import datasets
    import sentence_transformers
    import setfit
    import transformers
    from setfit import SetFitModel, Trainer, TrainingArguments

    start = time.perf_counter()
    model = SetFitModel.from_pretrained(job["body"])
    if job.get("max_seq_length"):
        model.model_body.max_seq_length = job["max_seq_length"]
    import tempfile

    args = TrainingArguments(output_dir=tempfile.mkdtemp(prefix="setfit-"), batch_size=16, num_epochs=1, num_iterations=20,
                             seed=job["seed"], report_to="none")  # its checkpoints go to a temporary folder, not the checkout
    train = datasets.Dataset.from_dict({"text": job["train_texts"], "label": job["train_labels"]})
    Trainer(model=model, args=args, train_dataset=train).train()
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predictions = [str(p) for p in model.predict(job["test_texts"], batch_size=64, show_progress_bar=False)]
    out = {"predictions": predictions, "fit_seconds": round(fit_seconds, 1), "predict_seconds": round(time.perf_counter() - start, 1),
           "versions": {"setfit": setfit.__version__, "sentence-transformers": sentence_transformers.__version__,
                        "transformers": transformers.__version__, "datasets": datasets.__version__},
           "settings": {"num_iterations": 20, "num_epochs": 1, "batch_size": 16, "max_seq_length": model.model_body.max_seq_length}}
    open(sys.argv[2], "w").write(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
