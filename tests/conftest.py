"""Shared test fixtures: generated audio, tiny configs, and one trained and exported model."""

import os
import pathlib
import subprocess
import sys

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_rawaudio  # noqa: E402, F401  (before TensorFlow: the package's environment defaults, as users get them)
from keras_rawaudio.presets import preset_config  # noqa: E402

# Graph functions without Grappler's rewrite passes: they cost about 8 s per traced function on
# a 2-core machine, and the tests trace far more functions than they run steps. (`python -m`
# subprocesses of the tests keep them, as users have them.)
tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})

ROOT = pathlib.Path(__file__).resolve().parents[1]

# The start of a `python -c` program in which TensorFlow and Keras cannot be imported.
BLOCK_TENSORFLOW = """
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'):
            raise ImportError(f'{name} is blocked in this test')
sys.meta_path.insert(0, Blocker())
"""


@pytest.fixture
def tiny_config():
    """The `tiny` preset with 3 classes: a small, fast model of the same structure as the others."""
    return preset_config("tiny", num_classes=3)


@pytest.fixture
def small_config():
    """The `tiny` preset sized for the 5 synthetic classes."""
    return preset_config("tiny", num_classes=5)


def write_tone(
    path, frequency=440.0, seconds=1.0, sample_rate=16000, channels=1, amplitude=0.5, **kwargs
):
    """Writes a sine (same in every channel) with soundfile; the format follows the suffix."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    tone = (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    sf.write(path, np.repeat(tone[:, None], channels, axis=1), sample_rate, **kwargs)
    return path


def run_module(stage, *args, timeout=300, **kwargs):
    """Runs `python -m keras_rawaudio.<stage> ARGS` with this interpreter; returns the
    CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", f"keras_rawaudio.{stage}", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        **kwargs,
    )


def read_records(directory, num_classes):
    """{clip id: (waveform, multi_hot, shard name, recording id, start sample)} of every record."""
    import tensorflow as tf

    from keras_rawaudio.data.records import parse

    records = {}
    for path in sorted(directory.glob("*.tfrecord")):
        for raw in tf.data.TFRecordDataset(str(path)):
            example = {k: v.numpy() for k, v in parse(raw, num_classes).items()}
            records[example["clip_id"].decode()] = (
                example["waveform"],
                example["multi_hot"],
                path.name,
                example["recording_id"].decode(),
                int(example["start"]),
            )
    return records


def process_alive(pid) -> bool:
    """Whether process `pid` exists and has not ended (a zombie, not yet reaped, has ended)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return "\tZ" not in next(line for line in status if line.startswith("State:"))
    except FileNotFoundError:
        return False


def shard_bytes(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.glob("[!.]*.tfrecord"))}


@pytest.fixture
def class_folders(tmp_path):
    """3 classes × 4 clips in WAV, FLAC, OGG and 44.1 kHz stereo, plus a corrupt and an empty
    file."""
    root = tmp_path / "audio"
    for name, frequency in [("beep", 440.0), ("buzz", 1000.0), ("hum", 150.0)]:
        write_tone(root / name / "a.wav", frequency, 1.2)
        write_tone(root / name / "b.flac", frequency, 0.5)
        write_tone(root / name / "c.ogg", frequency, 1.0)
        write_tone(root / name / "sub" / "d.wav", frequency, 2.5, sample_rate=44100, channels=2)
    (root / "beep" / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk")
    (root / "buzz" / "empty.wav").write_bytes(b"")
    return root


@pytest.fixture(scope="session")
def plain_tflite(tmp_path_factory):
    """A float32 TFLite file (1, 16000) → (1, 3) sigmoid scores, without metadata or signature."""
    weights = tf.constant(np.random.default_rng(0).normal(0, 0.05, (16000, 3)).astype("float32"))
    function = tf.function(
        lambda waveform: tf.sigmoid(tf.matmul(waveform, weights)),
        input_signature=[tf.TensorSpec([1, 16000], tf.float32, name="waveform")],
    )
    path = tmp_path_factory.mktemp("plain") / "plain.tflite"
    path.write_bytes(
        tf.lite.TFLiteConverter.from_concrete_functions(
            [function.get_concrete_function()]
        ).convert()
    )
    return path


@pytest.fixture(scope="session")
def synthetic_records(tmp_path_factory):
    """TFRecords of 600 generated 1 s multi-label clips (5 classes; 480 train, 60 val, 60 test).

    Enough clips, each one training window long (a crop could miss a short event and keep its
    label), for `trained_run` to learn every class: the int8 0.01 mAP check then measures
    quantisation, not how int8 reorders the near-equal scores of a barely trained model (300
    clips of 1.5 s gave val mAP 0.71–0.83 and int8 losses of up to 0.09;
    docs/benchmarks/export.md)."""
    from keras_rawaudio.data.synthetic_records import write_records

    return write_records(tmp_path_factory.mktemp("synthetic"), clips=600, seconds=1.0, seed=1)


@pytest.fixture(scope="session")
def trained_run(synthetic_records, tmp_path_factory):
    """A run directory with the `edge` raw model trained 8 + 2 epochs on `synthetic_records`.

    The real preset, not a narrow test model: int8 export fidelity depends on layer widths."""
    import keras

    from keras_rawaudio import RawWaveformClassifier
    from keras_rawaudio.data import DataOptions
    from keras_rawaudio.train import Schedule, fit_mix_then_finetune

    keras.utils.set_random_seed(0)
    run = tmp_path_factory.mktemp("run")
    data = DataOptions(batch_size=16, clip_seconds=1.0, mix="mix_training", cache=True, seed=0)
    schedule = Schedule(
        data, epochs=8, finetune_epochs=2, learning_rate=3e-3, frontend_pretraining_epochs=0
    )
    model = RawWaveformClassifier.from_preset("edge", num_classes=5)
    fit_mix_then_finetune(model, synthetic_records, run, schedule, verbose=0)
    return run


@pytest.fixture(scope="session")
def exported(trained_run, synthetic_records, tmp_path_factory):
    """(output directory, report, export error or None) of `trained_run` in every mode, 1 s windows.

    A mode that fails its checks is absent from the report, and the error says why."""
    import json

    from keras_rawaudio.export import MODES, ExportError, export

    out = tmp_path_factory.mktemp("export")
    try:
        export(
            trained_run / "best.keras",
            synthetic_records,
            out,
            MODES,
            calibration_windows_count=64,
            latency_runs=3,
        )
        error = None
    except ExportError as failure:
        error = str(failure)
    return out, json.loads((out / "export_report.json").read_text()), error


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items):
    """Under pytest-xdist (`make test` runs two workers), every test of the shared trained model
    runs on one worker, so the model is trained once."""
    for item in items:
        if {"trained_run", "exported"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("trained_run"))
