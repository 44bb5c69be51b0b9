"""Data-parallel training through torchrun and accelerate: 2 CPU processes (gloo), a tiny model, one complete run folder."""

import os
import subprocess
import sys

import pytest

from topicfit.predict import TopicClassifier

# accelerate's --cpu launcher starts several processes only through MPI (--mpirun_hostfile); its --multi_gpu launcher
# is torch.distributed.run, and on a machine without GPUs the Trainer then trains CPU processes over gloo.
LAUNCHERS = {
    "torchrun": [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"],
    "accelerate": [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                   "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29517"],
}


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_two_processes(launcher, tiny_archive, tiny_bert, tmp_path):
    run = tmp_path / "ddp"
    cmd = LAUNCHERS[launcher] + [
        "-m", "topicfit", "train", "--data", str(tiny_archive), "--model", str(tiny_bert), "--output", str(run), "--epochs", "2",
        "--batch-size", "4", "--learning-rate", "5e-3", "--max-length", "32", "--precision", "fp32", "--validation-size", "0.25",
        "--no-train-eval"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for rank in (0, 1):
        assert f"process {rank} of 2 trained" in proc.stderr
    assert (run / "run.json").exists() and (run / "model" / "model.safetensors").exists()
    clf = TopicClassifier.load(run)
    assert len(clf.predict(["orbit launch nasa", "car engine"])) == 2
