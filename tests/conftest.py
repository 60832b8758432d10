import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import pytest  # noqa: E402

from keras_rawaudio.config import ModelConfig, Stage  # noqa: E402


@pytest.fixture
def tiny_config():
    """A small, fast model of the same structure as the presets (3 classes)."""
    return ModelConfig(
        num_classes=3,
        stem_filters=16,  # fewer crashes oneDNN (see ModelConfig)
        frontend_stages=(Stage(8, 5, 2), Stage(8, 9, 4), Stage(16, 11, 5)),
        mel_bins=16,
        resnet_stem_filters=4,
        resnet_stages=(Stage(4, 3, (2, 2)), Stage(8, 3, (2, 2)), Stage(8, 3, (2, 2))),
        head_units=8,
    )


import pathlib  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]


def write_tone(path, frequency=440.0, seconds=1.0, sample_rate=16000, channels=1, amplitude=0.5, **kwargs):
    """Writes a sine (same in every channel) with soundfile; the format follows the suffix."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    tone = (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    sf.write(path, np.repeat(tone[:, None], channels, axis=1), sample_rate, **kwargs)
    return path


def run_script(script, *args, timeout=300):
    """Runs a project script with this interpreter; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, str(ROOT / script), *map(str, args)],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )


@pytest.fixture
def class_folders(tmp_path):
    """3 classes × 4 clips in WAV, FLAC, OGG and 44.1 kHz stereo, plus a corrupt and an empty file."""
    root = tmp_path / "audio"
    for c, (name, frequency) in enumerate([("beep", 440.0), ("buzz", 1000.0), ("hum", 150.0)]):
        write_tone(root / name / "a.wav", frequency, 1.2)
        write_tone(root / name / "b.flac", frequency, 0.5)
        write_tone(root / name / "c.ogg", frequency, 1.0)
        write_tone(root / name / "sub" / "d.wav", frequency, 2.5, sample_rate=44100, channels=2)
    (root / "beep" / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk")
    (root / "buzz" / "empty.wav").write_bytes(b"")
    return root


@pytest.fixture(scope="session")
def synthetic_records(tmp_path_factory):
    """TFRecords of 600 generated 1 s multi-label clips (5 classes; 480 train, 60 val, 60 test).

    Enough clips, each one training window long (a crop could miss a short event and keep its
    label), for `trained_run` to learn every class: the int8 0.01 mAP check then measures
    quantisation, not how int8 reorders the near-equal scores of a barely trained model (300
    clips of 1.5 s gave val mAP 0.71–0.83 and int8 losses of up to 0.09; BENCHMARKS.md)."""
    from keras_rawaudio import layouts
    from keras_rawaudio.synthetic import write_dataset
    from keras_rawaudio.tfrecord_writer import WriteOptions, write_tfrecords

    root = tmp_path_factory.mktemp("synthetic")
    meta = write_dataset(root / "audio", clips=600, seconds=1.0, seed=1)
    listing = layouts.list_csv(root / "audio", meta)
    write_tfrecords(listing, root / "records", WriteOptions(clip_seconds=10.0), workers=1)
    return root / "records"


@pytest.fixture
def small_config():
    """tiny_config sized for the 5 synthetic classes."""
    return ModelConfig(
        num_classes=5,
        stem_filters=16,
        frontend_stages=(Stage(16, 5, 2), Stage(16, 9, 4), Stage(16, 11, 5)),
        resnet_stem_filters=8,
        resnet_stages=(Stage(8, 3, (2, 2)), Stage(16, 3, (2, 2)), Stage(16, 3, (2, 2))),
        head_units=16,
        mel_bins=16,
    )


@pytest.fixture(scope="session")
def trained_run(synthetic_records, tmp_path_factory):
    """A run directory with the `edge` raw model trained 16 + 4 epochs on `synthetic_records`.

    The real preset, not a narrow test model: int8 export fidelity depends on layer widths."""
    import keras

    from keras_rawaudio import RawWaveformClassifier
    from keras_rawaudio.train import Schedule, fit_mix_then_finetune

    keras.utils.set_random_seed(0)
    run = tmp_path_factory.mktemp("run")
    schedule = Schedule(epochs=16, finetune_epochs=4, batch_size=16, clip_seconds=1.0, learning_rate=3e-3, cache=True)
    model = RawWaveformClassifier.from_preset("edge", num_classes=5)
    fit_mix_then_finetune(model, synthetic_records, run, schedule, verbose=0)
    return run


@pytest.fixture(scope="session")
def exported(trained_run, synthetic_records, tmp_path_factory):
    """(output directory, report, export error or None) of `trained_run` in every mode, 1 s windows.

    A mode that fails its checks is absent from the report, and the error says why."""
    import json

    sys.path.insert(0, str(ROOT / "export"))
    from export_tflite import ExportError, export

    out = tmp_path_factory.mktemp("export")
    try:
        export(trained_run / "best.keras", synthetic_records, out, ["float32", "float16", "dynamic", "int8"], 1.0,
               calibration_windows=64, latency_runs=3)
        error = None
    except ExportError as failure:
        error = str(failure)
    return out, json.loads((out / "export_report.json").read_text()), error
