"""explain: the learned filterbank, the image beside log-mel, and events over a long recording."""

import csv
import json

import numpy as np
import pytest
import soundfile as sf

from conftest import run_module
from keras_rawaudio import synthetic
from keras_rawaudio.audio_io import load_audio, stream_audio
from keras_rawaudio.events import EventRule, read_rule
from keras_rawaudio.explain import explain, frame_events

OUTPUTS = [
    "events.csv",
    "events.json",
    "filterbank.csv",
    "filterbank.png",
    "image.png",
    "timeline.png",
]


def tone_recording(path, minutes=3.0, seed=0):
    """A quiet noise floor with a synthetic 'tone' event every 5-7 s; returns their (onset,
    offset)."""
    rng = np.random.default_rng(seed)
    waveform = rng.normal(0, 0.003, int(minutes * 60 * 16000))
    spans, start = [], 2.0
    while start < minutes * 60 - 2:
        sound = 0.3 * synthetic.event("tone", rng)
        first = int(start * 16000)
        waveform[first : first + len(sound)] += sound
        spans.append((start, start + len(sound) / 16000))
        start += rng.uniform(5, 7)
    sf.write(path, waveform.astype(np.float32), 16000)
    return spans


def test_explain_finds_the_events_of_a_long_recording_and_the_gabor_centres(trained_run, tmp_path):
    import keras

    spans = tone_recording(tmp_path / "long.wav", minutes=2.0)
    result = explain(trained_run / "best.keras", tmp_path / "long.wav", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == OUTPUTS
    assert 119 < result["seconds"] <= 120

    tones = [e for e in result["events"] if e["label"] == "tone"]
    found = [
        any(e["onset"] < offset and e["offset"] > onset for e in tones) for onset, offset in spans
    ]
    assert np.mean(found) >= 0.8, (np.mean(found), len(spans))
    true_positive = [
        any(e["onset"] < offset and e["offset"] > onset for onset, offset in spans) for e in tones
    ]
    assert np.mean(true_positive) >= 0.5, (np.mean(true_positive), len(tones))
    saved = json.loads((tmp_path / "out" / "events.json").read_text())
    assert saved["events"] == result["events"]
    assert saved["event_rule"]["thresholds"] == list(read_rule(trained_run, 5).thresholds)
    with open(tmp_path / "out" / "events.csv") as file:
        assert len(list(csv.DictReader(file))) == len(result["events"])

    # The sine sweep finds each Gabor filter where its parameters put it.
    model = keras.saving.load_model(trained_run / "best.keras")
    centres, _ = (np.asarray(v) for v in model.get_layer("frontend_gabor").filters())
    rows = result["filterbank"]
    assert len(rows) == 64 and [r["centre_hz"] for r in rows] == sorted(
        r["centre_hz"] for r in rows
    )
    for row in rows:
        expected = centres[row["channel"]]
        assert abs(row["centre_hz"] - expected) <= max(0.05 * expected, row["bandwidth_hz"] / 2), (
            row
        )
        assert row["bandwidth_hz"] > 0


def test_frame_events_are_the_detectors_on_frame_spans():
    times = np.arange(20) * 0.1 + 0.05  # frames of 0.1 s
    probabilities = np.zeros((20, 2))
    probabilities[3:8, 0] = [0.6, 0.9, 0.7, 0.45, 0.41]  # 0.3-0.8 s (release at 0.4)
    probabilities[12, 0] = 0.95  # one frame: 0.1 s
    probabilities[15:17, 1] = 0.8  # 1.5-1.7 s
    rule = EventRule.uniform(2, 0.5, min_duration=0.15)
    events = frame_events(times, probabilities, ["a", "b"], rule)
    assert [(e.label, round(e.onset, 6), round(e.offset, 6), e.score) for e in events] == [
        ("a", 0.3, 0.8, 0.9),
        ("b", 1.5, 1.7, 0.8),
    ]


def test_stream_audio_equals_load_audio_and_holds_one_block(tmp_path):
    rng = np.random.default_rng(0)
    audio = (0.3 * rng.normal(size=(44100 * 25, 2))).astype(np.float32)
    sf.write(tmp_path / "a.flac", audio, 44100)
    blocks = list(stream_audio(tmp_path / "a.flac", 16000, block_seconds=4.0))
    assert (
        max(len(b) for b in blocks) <= 4.05 * 16000 and len(blocks) >= 6
    )  # one block (and soxr's delay)
    whole, _ = load_audio(tmp_path / "a.flac", 16000)
    streamed = np.concatenate(blocks)
    assert abs(len(streamed) - len(whole)) <= 1
    n = min(len(streamed), len(whole))
    assert np.abs(streamed[:n] - whole[:n]).max() < 1e-3


def test_log_mel_model_says_it_has_no_filterbank_and_bad_audio_is_one_line(tmp_path):
    from keras_rawaudio import LogMelClassifier

    run = tmp_path / "run"
    run.mkdir()
    LogMelClassifier.from_preset("tiny", num_classes=3).save(run / "best.keras")
    (run / "labels.txt").write_text("a\nb\nc\n")
    waveform, _ = synthetic.clip(np.random.default_rng(0), seconds=3.0)
    sf.write(tmp_path / "clip.wav", waveform, 16000)
    result = explain(run / "best.keras", tmp_path / "clip.wav", tmp_path / "out")
    assert result["filterbank"] is None
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        n for n in OUTPUTS if n != "filterbank.csv"
    ]
    sf.write(tmp_path / "one.wav", np.array([0.1], np.float32), 16000)  # one sample
    short = explain(run / "best.keras", tmp_path / "one.wav", tmp_path / "one")
    assert (
        short["seconds"] == pytest.approx(0.0, abs=0.05)
        and len(list((tmp_path / "one").iterdir())) == len(OUTPUTS) - 1
    )  # every file written, from its one frame

    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    bad = run_module(
        "explain",
        f"--model={run / 'best.keras'}",
        f"--audio={tmp_path / 'bad.wav'}",
        f"--out_dir={tmp_path / 'bad_out'}",
    )
    assert bad.returncode == 2
    assert (
        bad.stderr.strip()
        .splitlines()[-1]
        .startswith(f"explain: error: --audio {tmp_path / 'bad.wav'}: unreadable audio (")
    )
    assert not (tmp_path / "bad_out").exists()


def test_channel_summary_interpolates_the_half_peak_band():
    from keras_rawaudio.explain import channel_summary

    frequencies = np.geomspace(100, 10000, 201)  # 1 % steps
    curve = np.exp(-0.5 * (np.log(frequencies / 1000) / 0.1) ** 2)  # log-Gaussian at 1 kHz
    rows = channel_summary(frequencies, np.stack([curve, curve[::-1]]))
    half = 0.1 * np.sqrt(2 * np.log(2))  # half maximum at 1 kHz · exp(±half)
    assert rows[0]["centre_hz"] == pytest.approx(1000, rel=1e-9)
    assert rows[0]["bandwidth_hz"] == pytest.approx(1000 * (np.exp(half) - np.exp(-half)), rel=0.01)
