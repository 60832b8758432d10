"""make_tfrecords end to end: every format, the thin script, kill -9 and resume, one-line errors."""

import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import numpy as np

from conftest import ROOT, process_alive, read_records, run_module, shard_bytes, write_tone
from keras_rawaudio.audio_io import load_audio, to_pcm16


def test_folders_cli_decodes_every_format_and_reports_bad_files(class_folders, tmp_path):
    out = tmp_path / "records"
    result = subprocess.run(
        [  # the thin script of the checkout
            sys.executable,
            "data_prep/make_tfrecords.py",
            "--layout=folders",
            f"--input_dir={class_folders}",
            f"--output_dir={out}",
            "--val_fraction=0.25",
            "--test_fraction=0.25",
            "--clip_seconds=1.0",
            "--workers=2",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "skipped 2 files" in result.stdout.splitlines()[-1]
    assert (out / "labels.txt").read_text() == "beep\nbuzz\nhum\n"
    info = json.loads((out / "dataset_info.json").read_text())
    assert info["layout"] == "folders" and info["sample_rate"] == 16000
    assert sorted(s["reason"].split(" (")[0] for s in info["skipped"]) == [
        "unreadable audio",
        "unreadable audio",
    ]
    assert sum(s["files"] for s in info["splits"].values()) == 12

    records = read_records(out, 3)
    # 2.5 s at 44.1 kHz with 1 s windows: windows at 0 s and 1 s, the 0.5 s remainder dropped;
    # 1.2 s: one window of 1 s, the 0.2 s remainder dropped.
    assert {"beep/sub/d#0", "beep/sub/d#1", "beep/a"} <= set(records)
    assert "beep/sub/d#2" not in records
    assert records["beep/sub/d#1"][3:] == ("beep/sub/d", 16000) and records["beep/a"][3:] == (
        "beep/a",
        0,
    )
    assert sum(info["splits"][s]["clips"] for s in info["splits"]) == len(records) == 15
    waveform, multi_hot = records["beep/sub/d#1"][:2]
    expected = to_pcm16(load_audio(class_folders / "beep/sub/d.wav")[0][16000:32000]) / 32768.0
    np.testing.assert_array_equal(waveform, expected)  # exact int16 round trip
    np.testing.assert_array_equal(multi_hot, [1, 0, 0])
    resampled = load_audio(class_folders / "buzz/b.flac")[0]
    np.testing.assert_allclose(records["buzz/b"][0], resampled, atol=1 / 32767)
    assert len(records["buzz/b"][0]) == 8000  # shorter clips are stored as they are


def test_killed_run_resumes_to_the_uninterrupted_output(tmp_path):
    for n in range(24):  # long 44.1 kHz stereo files, so that resampling takes a while
        write_tone(
            tmp_path / "audio" / f"class{n % 2}" / f"{n}.wav", 300 + 20 * n, 10.0, 44100, channels=2
        )
    args = [
        "--layout=folders",
        f"--input_dir={tmp_path / 'audio'}",
        "--val_fraction=0",
        "--test_fraction=0",
        "--clip_seconds=10",
        "--files_per_shard=1",
    ]
    reference = tmp_path / "reference"
    assert (
        run_module("make_tfrecords", *args, f"--output_dir={reference}", "--workers=1").returncode
        == 0
    )

    killed = tmp_path / "killed"  # two decoding workers: the output must not depend on their number
    moments = sorted(
        random.Random(0).sample(range(2, 20), 2)
    )  # killed twice, after these many shards
    for moment, how in zip(moments, (signal.SIGINT, signal.SIGKILL)):  # Ctrl-C, then a kill
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "keras_rawaudio.make_tfrecords",
                *args,
                f"--output_dir={killed}",
                "--workers=2",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "stderr.txt").open("w"),  # a pipe would fill with progress bars
            start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
        )
        # it is killed once it has written a shard of its own (the last run may have gone past this
        # moment) and the total has reached the moment
        target = max(moment, len(list(killed.glob("[!.]*.tfrecord"))) + 1)
        deadline = time.time() + 120
        while (
            len(list(killed.glob("[!.]*.tfrecord"))) < target
            and time.time() < deadline
            and process.poll() is None
        ):
            time.sleep(0.001)
        workers = (
            pathlib.Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        )
        os.killpg(process.pid, how)  # the whole group: the workers get Ctrl-C too
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # leave nothing running behind a failure
            raise
        stderr = (tmp_path / "stderr.txt").read_text()
        if how == signal.SIGINT:
            assert process.returncode == 130 and "Traceback" not in stderr, stderr[-2000:]
            assert "Fatal Python error" not in stderr
            assert stderr.strip().splitlines()[-1] == (
                "make_tfrecords: error: interrupted: what was finished is kept; the same "
                "command resumes"
            )
        finished = len(list(killed.glob("[!.]*.tfrecord")))
        assert moment <= finished < 24, "the run should have been killed part way"
        assert workers, "the run should have had its decoding workers"
        deadline = time.time() + 10  # the workers (and the resource tracker they share) end with it
        while any(process_alive(pid) for pid in workers) and time.time() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if process_alive(pid)]

    resumed = run_module("make_tfrecords", *args, f"--output_dir={killed}", "--workers=2")
    assert resumed.returncode == 0, resumed.stderr
    assert shard_bytes(killed) == shard_bytes(reference)
    assert not list(killed.rglob(".tmp-*"))  # the killed runs' temporary files are gone
    assert (
        json.loads((killed / "dataset_info.json").read_text())["splits"]
        == json.loads((reference / "dataset_info.json").read_text())["splits"]
    )
