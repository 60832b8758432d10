import io
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import BLOCK_TENSORFLOW, ROOT, write_tone
from keras_rawaudio.audio_io import load_audio
from keras_rawaudio.edge import EdgeClassifier, EdgeModelError
from keras_rawaudio.events import EventRule, read_rule
from keras_rawaudio.scoring import Windowing, score_recordings

# Runs `python -m keras_rawaudio.classify` with TensorFlow and Keras made unimportable.
NO_TENSORFLOW = (
    BLOCK_TENSORFLOW
    + """
import runpy
sys.argv = ['classify'] + sys.argv[1:]
runpy.run_module('keras_rawaudio.classify', run_name='__main__', alter_sys=True)
"""
)


@pytest.fixture
def edge_model(exported):
    """The exported int8 file (its labels packed in it) and the labels.txt beside it."""
    out, _, _ = exported
    return out / "model_int8.tflite", out / "labels.txt"


def classify(model, *args):
    return subprocess.run(
        [sys.executable, "-c", NO_TENSORFLOW, f"--model={model}", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_files_of_any_rate_length_and_channels_without_tensorflow(edge_model, tmp_path):
    long = write_tone(tmp_path / "long.flac", 700, 4.2)
    short = write_tone(tmp_path / "short.wav", 700, 0.3)
    stereo = write_tone(tmp_path / "stereo.wav", 700, 1.5, sample_rate=44100, channels=2)
    result = classify(
        edge_model[0], long, short, stereo, "--json", "--top_k=3"
    )  # labels from the model
    assert result.returncode == 0, result.stderr[-1500:]
    outputs = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [o["file"] for o in outputs] == [str(long), str(short), str(stereo)]
    assert [len(o["windows"]) for o in outputs] == [
        8,
        1,
        2,
    ]  # 4.2 s: starts 0..3.5 s every 0.5 s (half a window)
    runner, labels = EdgeClassifier(edge_model[0]), edge_model[1].read_text().split()
    for path, o in zip((long, short, stereo), outputs):
        expected = score_recordings(runner.predict, [load_audio(path)[0]], Windowing(16000))[
            0
        ]  # evaluation's scoring
        best = np.argsort(-expected)[:3]
        assert [t["label"] for t in o["top"]] == [labels[k] for k in best]
        np.testing.assert_allclose([t["score"] for t in o["top"]], expected[best], atol=1e-4)


def test_bad_files_are_reported_and_the_rest_classified(edge_model, tmp_path):
    good = write_tone(tmp_path / "good.wav")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    result = classify(edge_model[0], tmp_path / "missing.wav", tmp_path / "corrupt.wav", good)
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert (
        errors[-2].endswith("missing.wav: missing file")
        and "corrupt.wav: unreadable audio" in errors[-1]
    )
    assert result.stdout.startswith(f"{good}: ")


def test_labels_must_match_the_model_and_the_thin_script_runs(edge_model, tmp_path):
    (tmp_path / "labels.txt").write_text("a\nb\n")
    model, _ = edge_model
    result = subprocess.run(
        [
            sys.executable,
            "export/classify.py",
            f"--model={model}",
            f"--labels={tmp_path / 'labels.txt'}",
            "x.wav",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"classify: error: --labels {tmp_path / 'labels.txt'} has 2 labels "
        "but the model outputs 5 classes"
    )


def test_a_file_without_metadata_needs_labels(plain_tflite, tmp_path):
    clip = write_tone(tmp_path / "a.wav", 700, 1.0)
    result = classify(plain_tflite, clip)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"classify: error: {plain_tflite} has no labels in its metadata (an older export?): give "
        f"--labels"
    )
    (tmp_path / "labels.txt").write_text("x\ny\nz\n")
    result = classify(plain_tflite, f"--labels={tmp_path / 'labels.txt'}", clip, "--json")
    assert result.returncode == 0, result.stderr[-1000:]
    assert {t["label"] for t in json.loads(result.stdout)["top"]} == {"x", "y", "z"}


def test_a_stream_that_ends_before_a_window_is_an_error(plain_tflite, monkeypatch):
    from keras_rawaudio.classify import stream

    model = EdgeClassifier(plain_tflite)
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO(np.zeros(8000, "<i2").tobytes()))
    )  # 0.5 s
    with pytest.raises(
        EdgeModelError,
        match=r"^--stream=stdin ended after 0.50 s of audio, less than one window "
        r"\(1 s\): nothing was classified$",
    ):
        stream(
            model,
            ["x", "y", "z"],
            EventRule.uniform(3),
            model.window_samples,
            "stdin",
            16000,
            16000,
            3,
            False,
            False,
        )


def test_stream_mode_prints_each_event_as_it_ends(edge_model, trained_run):
    model, labels = edge_model
    t = np.arange(24000) / 16000
    waveform = np.zeros(56000)  # 3.5 s: silence, a 700 Hz tone from 1.0 to 2.5 s, silence
    waveform[16000:40000] = 0.3 * np.sin(2 * np.pi * 700 * t)
    pcm = (waveform * 32767).astype("<i2").tobytes()

    def run(*flags):
        result = subprocess.run(
            [sys.executable, "-c", NO_TENSORFLOW, f"--model={model}", "--stream=stdin", *flags],
            input=pcm,
            capture_output=True,
            cwd=ROOT,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr[-1000:]
        return result.stdout.decode().strip().splitlines()

    events = [json.loads(line) for line in run("--json", "--threshold=0.5")]
    tones = [e for e in events if e["label"] == "tone"]
    assert all(set(e) == {"onset", "offset", "label", "score"} for e in events)
    assert len(tones) == 1 and tones[0]["score"] >= 0.5, events
    assert tones[0]["onset"] == pytest.approx(1.0, abs=0.03)  # where the tone starts
    assert tones[0]["offset"] == pytest.approx(2.5, abs=0.03)
    assert all(e["onset"] >= 0.97 for e in events)  # nothing in the silence before it
    # Text: the same events, and with --windows every window's top classes, time-stamped.
    text = run("--threshold=0.5", "--windows")
    windows = [line.split()[0] for line in text if " s - " not in line]
    assert windows == ["0.00", "1.00", "2.00"]
    assert sum("tone" in line and " s - " in line for line in text) == 1
    # By default the model's own per-class thresholds decide (the run's event_rule.json).
    assert EdgeClassifier(model).event_rule == read_rule(trained_run, 5)


def test_events_of_a_file(edge_model, tmp_path):
    path = write_tone(tmp_path / "long.flac", 700, 4.2)
    result = classify(edge_model[0], path, "--events", "--json", "--threshold=0.5")
    assert result.returncode == 0, result.stderr[-1500:]
    events = json.loads(result.stdout)["events"]
    tones = [e for e in events if e["label"] == "tone"]
    assert len(tones) == 1 and tones[0]["onset"] < 0.05 and tones[0]["offset"] == 4.0, events
    text = classify(edge_model[0], path, "--events", "--threshold=0.5")
    assert sum(" s - " in line and "tone" in line for line in text.stdout.splitlines()) == 1


def test_ctrl_c_ends_a_stream_with_the_event_still_going(edge_model):
    import signal

    model, _ = edge_model
    t = np.arange(32000) / 16000
    pcm = (0.3 * np.sin(2 * np.pi * 700 * t) * 32767).astype("<i2").tobytes()  # 2 s of tone
    process = subprocess.Popen(
        [sys.executable, "-c", NO_TENSORFLOW, f"--model={model}", "--stream=stdin"]
        + ["--threshold=0.5", "--windows"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    process.stdin.write(pcm)
    process.stdin.flush()  # the pipe stays open: a microphone that goes on
    lines = [process.stdout.readline().decode(), process.stdout.readline().decode()]
    assert [line.split()[0] for line in lines] == ["0.00", "1.00"]  # both windows heard
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and b"Traceback" not in err, err[-1000:]
    ended = [line for line in out.decode().splitlines() if " s - " in line and "tone" in line]
    assert len(ended) == 1 and ended[0].split()[:4] == ["0.00", "s", "-", "2.00"], out


def test_flags_that_contradict_the_file_or_its_window_are_refused(edge_model, tmp_path):
    model, _ = edge_model
    write_tone(tmp_path / "tone.wav", 440.0, 1.0)
    rate = classify(model, "--sample_rate=8000", tmp_path / "tone.wav")
    assert (rate.returncode, rate.stderr.strip().splitlines()[-1]) == (
        2,
        f"classify: error: --sample_rate=8000 contradicts {model}, whose metadata says 16000 Hz: "
        "leave the flag out",
    )
    hop = classify(model, "--hop_seconds=1e9", tmp_path / "tone.wav")
    assert hop.returncode == 2 and hop.stderr.strip().endswith(
        "--hop_seconds=1e+09 is longer than the model's window (1 s): the audio between windows "
        "would go unheard"
    )


def test_output_that_fails_ends_in_one_line_or_quietly_on_a_closed_pipe(edge_model, tmp_path):
    model, _ = edge_model
    tones = [tmp_path / f"{n}.wav" for n in range(40)]
    for n, path in enumerate(tones):
        write_tone(path, 200.0 + 50 * n, 1.0)
    command = [sys.executable, "-c", NO_TENSORFLOW, f"--model={model}", "--json", *tones]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert process.stdout.read(1) == b"{"
    process.stdout.close()  # `classify ... | head -c1`
    assert process.wait(timeout=120) == 141
    # nothing but LiteRT's own notice ("INFO: Created TensorFlow Lite XNNPACK delegate")
    assert [
        line for line in process.stderr.read().decode().splitlines() if "INFO" not in line
    ] == []
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            command, stdout=full, stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120
        )
    assert result.returncode == 1 and result.stderr.strip().splitlines()[-1] == (
        "classify: error: standard output: No space left on device"
    )
    assert "Traceback" not in result.stderr
