import json

import numpy as np
import pytest
import soundfile as sf

from conftest import run_module
from keras_rawaudio import layouts
from keras_rawaudio.audio_io import load_audio, to_pcm16
from keras_rawaudio.data import load_recordings
from keras_rawaudio.data.reading import score_split
from keras_rawaudio.data.synthetic_records import write_records
from keras_rawaudio.errors import InputError
from keras_rawaudio.evaluate import evaluate
from keras_rawaudio.scoring import Windowing
from keras_rawaudio.train.run_directory import EvaluationError


@pytest.fixture(scope="module")
def split_recordings(tmp_path_factory):
    """10 generated 3.5 s clips stored as 2 s records (clip#0, clip#1): (audio dir, meta,
    records)."""
    root = tmp_path_factory.mktemp("long")
    records = write_records(root, clips=10, seconds=3.5, record_seconds=2.0)
    return root / "audio", root / "audio" / "meta.csv", records


def test_recordings_are_rebuilt_from_their_windows(split_recordings):
    audio, meta, records = split_recordings
    recordings = load_recordings(records, "train")
    assert len(recordings) == 8 and "#" not in "".join(recordings.ids)
    for recording, waveform in zip(recordings.ids, recordings.waveforms):
        stored = to_pcm16(load_audio(audio / f"{recording}.wav")[0])
        np.testing.assert_array_equal(waveform * 32768, stored)  # both windows back at their start
    expected = {
        r.split(",")[0][:-4]: r.split(",")[1].split(";") for r in meta.read_text().splitlines()[1:]
    }
    names = layouts.list_csv(audio, meta).vocabulary
    for recording, truth in zip(recordings.ids, recordings.labels):
        assert [names[k] for k in np.flatnonzero(truth)] == sorted(expected[recording])


def test_windows_are_scored_and_combined_per_recording(split_recordings):
    audio, _, records = split_recordings
    seen = []

    def loudness(windows):  # every class scores the window's peak
        seen.append(len(windows))
        return np.repeat(np.abs(windows).max(axis=1)[:, None], 5, axis=1)

    _, scores = score_split(loudness, records, "train", Windowing(16000, combine="max"))
    assert sum(seen) == 8 * 6  # 3.5 s every 0.5 s: starts 0, 0.5, ..., 2.5 s
    ids = load_recordings(records, "train").ids
    for recording, score in zip(ids, scores):
        waveform, _ = sf.read(audio / f"{recording}.wav", dtype="float32")
        assert score[0] == pytest.approx(np.abs(waveform).max(), abs=1 / 32768)
    _, mean_scores = score_split(loudness, records, "train", Windowing(16000, combine="mean"))
    assert np.all(mean_scores < scores)
    _, louder = score_split(
        loudness, records, "train", Windowing(16000, combine="max"), gain_db=6.0
    )
    np.testing.assert_allclose(
        louder, np.minimum(scores * 10 ** (6 / 20), 1.0), rtol=1e-6
    )  # clipped like a recorder


def test_evaluate_cli_prints_metrics_and_writes_reports(trained_run, synthetic_records):
    result = run_module(
        "evaluate",
        f"--data_dir={synthetic_records}",
        "--split=test",
        f"--model={trained_run / 'best.keras'}",
    )
    assert result.returncode == 0, result.stderr[-1500:]
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics == evaluate(trained_run / "best.keras", synthetic_records, "test", reports=False)
    assert metrics["num_clips"] == 60 and metrics["mAP"] > 0.8
    rows = (trained_run / "best_test_per_class_ap.csv").read_text().splitlines()
    assert rows[0] == "class,average_precision,positives" and len(rows) == 6
    assert (trained_run / "best_test_ap.png").read_bytes()[:4] == b"\x89PNG"
    assert not (trained_run / "best_test_confusion.png").exists()  # multi-label data


def test_label_mismatch_and_bad_models_are_clear_errors(trained_run, synthetic_records, tmp_path):
    (trained_run / "labels.txt").write_text("".join(f"other{i}\n" for i in range(5)))
    try:
        with pytest.raises(EvaluationError, match="name different classes"):
            evaluate(trained_run / "best.keras", synthetic_records, "test", reports=False)
    finally:
        (trained_run / "labels.txt").write_text((synthetic_records / "labels.txt").read_text())
    (tmp_path / "not_a_model.keras").write_bytes(b"zip?")
    with pytest.raises(InputError, match="not a loadable .keras file"):
        evaluate(tmp_path / "not_a_model.keras", synthetic_records, "test")
