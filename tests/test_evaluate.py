import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from keras_rawaudio import layouts
from keras_rawaudio.evaluate import EvaluationError, evaluate, score_clips
from keras_rawaudio.synthetic import write_dataset
from keras_rawaudio.tfrecord_writer import WriteOptions, write_tfrecords


def test_windows_are_combined_per_recording(tmp_path):
    # 3.5 s clips stored as 2 s records (clip#0, clip#1): windows of 1 s, the last zero-padded.
    meta = write_dataset(tmp_path / "audio", clips=10, seconds=3.5)
    listing = layouts.list_csv(tmp_path / "audio", meta)
    write_tfrecords(listing, tmp_path / "records", WriteOptions(clip_seconds=2.0), workers=1)
    peaks = []

    def loudness(windows):  # score of every class: the window's peak
        peaks.append(np.abs(windows).max(axis=1))
        return np.repeat(peaks[-1][:, None], 5, axis=1)

    ids, y_true, scores = score_clips(loudness, tmp_path / "records", "train", 16000, chunk_windows=3)
    assert len(ids) == 8 and len(set(ids)) == 8 and "#" not in "".join(ids)
    assert sum(len(p) for p in peaks) == 8 * 4  # 2 s + 1.5 s records: 2 + 2 windows each
    import soundfile as sf

    for recording, score in zip(ids, scores):
        audio, _ = sf.read(tmp_path / "audio" / f"{recording}.wav", dtype="float32")
        assert score[0] == pytest.approx(np.abs(audio).max(), abs=1 / 32768)
    expected = {r.split(",")[0][:-4]: r.split(",")[1].split(";") for r in meta.read_text().splitlines()[1:]}
    names = layouts.list_csv(tmp_path / "audio", meta).vocabulary
    for recording, truth in zip(ids, y_true):
        assert [names[k] for k in np.flatnonzero(truth)] == sorted(expected[recording])


def test_evaluate_cli_prints_metrics_and_writes_reports(trained_run, synthetic_records):
    result = subprocess.run(
        [sys.executable, "-m", "keras_rawaudio.evaluate", f"--data_dir={synthetic_records}", "--split=test", f"--model={trained_run / 'best.keras'}"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-1500:]
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(metrics) == {"mAP", "AUC", "d_prime", "lwlrap", "accuracy", "num_clips"}
    assert metrics["num_clips"] == 60 and 0 <= metrics["mAP"] <= 1
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
    with pytest.raises(EvaluationError, match="not a loadable .keras file"):
        evaluate(tmp_path / "not_a_model.keras", synthetic_records, "test")
