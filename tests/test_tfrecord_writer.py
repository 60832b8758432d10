import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf

from conftest import ROOT, run_script, write_tone
from keras_rawaudio import layouts
from keras_rawaudio.audio_io import load_audio, to_pcm16
from keras_rawaudio.records import parse
from keras_rawaudio.tfrecord_writer import WriteOptions, write_tfrecords


def read_records(directory, num_classes):
    records = {}
    for path in sorted(directory.glob("*.tfrecord")):
        for raw in tf.data.TFRecordDataset(str(path)):
            example = parse(raw, num_classes)
            records[example["clip_id"].numpy().decode()] = (example["waveform"].numpy(), example["multi_hot"].numpy(), path.name)
    return records


def shard_bytes(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.tfrecord"))}


def test_folders_cli_decodes_every_format_and_reports_bad_files(class_folders, tmp_path):
    out = tmp_path / "records"
    result = run_script(
        "data_prep/make_tfrecords.py", "--layout=folders", f"--input_dir={class_folders}",
        f"--output_dir={out}", "--val_fraction=0.25", "--test_fraction=0.25",
        "--clip_seconds=1.0", "--workers=2",
    )
    assert result.returncode == 0, result.stderr
    assert "skipped 2 files" in result.stdout.splitlines()[-1]
    assert (out / "labels.txt").read_text() == "beep\nbuzz\nhum\n"
    info = json.loads((out / "dataset_info.json").read_text())
    assert info["layout"] == "folders" and info["sample_rate"] == 16000
    assert sorted(s["reason"].split(" (")[0] for s in info["skipped"]) == ["unreadable audio", "unreadable audio"]
    assert sum(s["files"] for s in info["splits"].values()) == 12

    records = read_records(out, 3)
    # 2.5 s at 44.1 kHz with 1 s windows: windows at 0 s and 1 s, the 0.5 s remainder dropped;
    # 1.2 s: one window of 1 s, the 0.2 s remainder dropped.
    assert {"beep/sub/d#0", "beep/sub/d#1", "beep/a"} <= set(records)
    assert "beep/sub/d#2" not in records
    assert sum(info["splits"][s]["clips"] for s in info["splits"]) == len(records) == 15
    waveform, multi_hot, _ = records["beep/sub/d#1"]
    expected = to_pcm16(load_audio(class_folders / "beep/sub/d.wav")[0][16000:32000]) / 32768.0
    np.testing.assert_array_equal(waveform, expected)  # exact int16 round trip
    np.testing.assert_array_equal(multi_hot, [1, 0, 0])
    resampled = load_audio(class_folders / "buzz/b.flac")[0]
    np.testing.assert_allclose(records["buzz/b"][0], resampled, atol=1 / 32767)
    assert len(records["buzz/b"][0]) == 8000  # shorter clips are stored as they are


def test_resume_after_a_lost_shard_gives_identical_records(class_folders, tmp_path):
    listing = layouts.list_folders(class_folders, val_fraction=0.0, test_fraction=0.0)
    options = WriteOptions(clip_seconds=1.0, files_per_shard=3)
    full = tmp_path / "full"
    write_tfrecords(listing, full, options, workers=1)
    expected = shard_bytes(full)
    assert len(expected) == 5  # 14 files, 3 per shard
    last = sorted(full.glob("train-*.tfrecord"))[-1]
    last.unlink()
    (full / f".{last.name}.tmp").write_bytes(b"half-written")
    info = write_tfrecords(listing, full, options, workers=1)
    assert shard_bytes(full) == expected
    assert info["splits"]["train"]["shards"] == 5


def test_killed_run_resumes_to_the_uninterrupted_output(tmp_path):
    for n in range(24):  # long 44.1 kHz stereo files, so that resampling takes a while
        write_tone(tmp_path / "audio" / f"class{n % 2}" / f"{n}.wav", 300 + 20 * n, 10.0, 44100, channels=2)
    args = [
        "--layout=folders", f"--input_dir={tmp_path / 'audio'}", "--val_fraction=0", "--test_fraction=0",
        "--clip_seconds=10", "--files_per_shard=1", "--workers=1",
    ]
    reference = tmp_path / "reference"
    assert run_script("data_prep/make_tfrecords.py", *args, f"--output_dir={reference}").returncode == 0

    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "data_prep/make_tfrecords.py"), *args, f"--output_dir={killed}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while len(list(killed.glob("*.tfrecord"))) < 2 and time.time() < deadline and process.poll() is None:
        time.sleep(0.001)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished = len(list(killed.glob("*.tfrecord")))
    assert 2 <= finished < 24, "the run should have been killed part way"

    resumed = run_script("data_prep/make_tfrecords.py", *args, f"--output_dir={killed}")
    assert resumed.returncode == 0, resumed.stderr
    assert shard_bytes(killed) == shard_bytes(reference)
    assert json.loads((killed / "dataset_info.json").read_text())["splits"] == json.loads(
        (reference / "dataset_info.json").read_text()
    )["splits"]


def test_other_inputs_need_overwrite(class_folders, tmp_path):
    listing = layouts.list_folders(class_folders)
    write_tfrecords(listing, tmp_path, WriteOptions(clip_seconds=1.0), workers=1)
    other = WriteOptions(clip_seconds=2.0)
    try:
        write_tfrecords(listing, tmp_path, other, workers=1)
        raise AssertionError("expected a WriteError")
    except Exception as error:
        assert "--overwrite" in str(error)
    info = write_tfrecords(listing, tmp_path, other, workers=1, overwrite=True)
    assert info["clip_seconds"] == 2.0


def test_cli_errors_name_the_problem(tmp_path):
    (tmp_path / "empty_class").mkdir()
    (tmp_path / "empty_class" / "x.wav").write_bytes(b"")
    nothing = run_script("data_prep/make_tfrecords.py", "--layout=folders", f"--input_dir={tmp_path}", f"--output_dir={tmp_path / 'o'}", "--workers=1")
    assert nothing.returncode != 0
    assert "no usable clip (unreadable audio" in nothing.stderr.strip().splitlines()[-1]
    flag = run_script("data_prep/make_tfrecords.py", "--layout=esc50", f"--input_dir={tmp_path}", f"--output_dir={tmp_path / 'o'}")
    assert flag.returncode != 0 and "--layout=esc50 needs --meta" in flag.stderr
