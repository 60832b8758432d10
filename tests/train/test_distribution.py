"""Training across processes: `--distribute=multi_worker` (keras.distribution on JAX)."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, process_alive

# Trains the tiny preset a few steps (`train.train`, as the command does) and prints its
# weights: (digest, the first values of each weight, the last loss).
DRIVER = """
import hashlib, json, sys
import numpy as np
from keras_rawaudio.data import DataOptions
from keras_rawaudio.train import Schedule, train
records, model_dir, distribute = sys.argv[1:4]
schedule = Schedule(epochs=1, finetune_epochs=0, steps_per_epoch=2,
                    frontend_pretraining_epochs=0, data=DataOptions(batch_size=8, clip_seconds=1.0))
best, history, _ = train(records, model_dir, "raw", "tiny", schedule, distribute, verbose=0)
weights = [np.asarray(w) for w in best.get_weights()]
print(json.dumps({
    "sha": hashlib.sha256(b"".join(w.tobytes() for w in weights)).hexdigest(),
    "weights": [w.ravel()[:2000].tolist() for w in weights],
    "loss": history[-1]["loss"],
}))
"""
TOLERANCE = 1e-3  # |weight| difference from one process after 2 Adam steps (seen: 2.2e-4)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(records, model_dir, distribute, scratch, environment=None):
    """The driver in a process of its own, its output in files (a pipe nobody reads yet would
    fill, block the process, and with it its partner in every collective)."""
    log = model_dir.with_suffix(".log")
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(records), str(model_dir), distribute],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={
                **os.environ,
                "KERAS_BACKEND": "jax",
                "TMPDIR": str(scratch),
                **(environment or {}),
            },
        )
    process.log = log
    return process


def finish(process, timeout):
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()  # by PID: nothing is left waiting on a collective
        process.wait()
    output = process.log.read_text()
    assert process.returncode == 0, output[-3000:]
    return json.loads(output.strip().splitlines()[-1])


def test_two_processes_train_one_model_that_one_process_would(synthetic_records, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    port = free_port()
    workers = [
        start(
            synthetic_records,
            tmp_path / "run",
            "multi_worker",
            scratch,
            {
                "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port}",
                "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
                "KERAS_DISTRIBUTION_PROCESS_ID": str(index),
            },
        )
        for index in range(2)
    ]
    alone = start(synthetic_records, tmp_path / "alone", "none", scratch)
    chief, worker, single = (finish(p, 240) for p in (*workers, alone))
    assert not any(process_alive(p.pid) for p in (*workers, alone))

    assert chief["sha"] == worker["sha"]  # one model, replicated
    assert chief["loss"] == pytest.approx(single["loss"], abs=1e-4)
    difference = max(
        float(np.max(np.abs(np.subtract(a, b))))
        for a, b in zip(chief["weights"], single["weights"])
    )
    assert difference < TOLERANCE  # the same global batches as one process
    # The chief alone wrote the run directory (its lock names it); the worker's scratch copy
    # of it is gone.
    assert (tmp_path / "run" / ".lock").read_text() == str(workers[0].pid)
    assert (tmp_path / "run" / "best.keras").exists() and (tmp_path / "run" / "state.json").exists()
    assert not list(scratch.glob("keras_rawaudio-*"))


def test_multi_worker_is_refused_on_tensorflow_or_without_its_environment(
    synthetic_records, tmp_path
):
    from keras_rawaudio.train import TrainingError, train

    with pytest.raises(TrainingError, match="runs on the JAX backend: set KERAS_BACKEND=jax"):
        train(synthetic_records, tmp_path / "run", distribute="multi_worker")
    assert not (tmp_path / "run").exists()
