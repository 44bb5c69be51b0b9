"""Data-parallel training through torchrun: 2 CPU processes (gloo), a tiny model, one complete run folder."""

import os
import subprocess
import sys

from topicfit.predict import TopicClassifier


def test_torchrun_two_processes(tiny_archive, tiny_bert, tmp_path):
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "topicfit", "train",
           "--data", str(tiny_archive), "--model", str(tiny_bert), "--output", str(run), "--epochs", "2", "--batch-size", "4",
           "--learning-rate", "5e-3", "--max-length", "32", "--precision", "fp32", "--validation-size", "0.25", "--no-train-eval"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for rank in (0, 1):
        assert f"process {rank} of 2 trained" in proc.stderr
    assert (run / "run.json").exists() and (run / "model" / "model.safetensors").exists()
    clf = TopicClassifier.load(run)
    assert len(clf.predict(["orbit launch nasa", "car engine"])) == 2
