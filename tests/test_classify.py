import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, write_tone
from keras_rawaudio.edge import sliding_windows

# Runs classify.py with TensorFlow and Keras made unimportable.
NO_TENSORFLOW = """
import runpy, sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'):
            raise ImportError(f'{name} is blocked in this test')
sys.meta_path.insert(0, Blocker())
sys.argv = ['classify.py'] + sys.argv[1:]
runpy.run_path('export/classify.py', run_name='__main__')
"""


@pytest.fixture
def edge_model(exported):
    """The exported int8 file and its labels."""
    out, _, _ = exported
    return out / "model_int8.tflite", out / "labels.txt"


def classify(edge_model, *args):
    model, labels = edge_model
    return subprocess.run([sys.executable, "-c", NO_TENSORFLOW, f"--model={model}", f"--labels={labels}", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_sliding_windows_cover_and_pad():
    windows = sliding_windows(np.arange(1, 26, dtype=np.float32), 10, 5)
    assert windows.shape == (4, 10)
    np.testing.assert_array_equal(windows[3], [16, 17, 18, 19, 20, 21, 22, 23, 24, 25])
    short = sliding_windows(np.ones(3, np.float32), 10, 5)
    np.testing.assert_array_equal(short, [[1, 1, 1, 0, 0, 0, 0, 0, 0, 0]])


def test_files_of_any_rate_length_and_channels_without_tensorflow(edge_model, tmp_path):
    long = write_tone(tmp_path / "long.flac", 700, 4.2)
    short = write_tone(tmp_path / "short.wav", 700, 0.3)
    stereo = write_tone(tmp_path / "stereo.wav", 700, 1.5, sample_rate=44100, channels=2)
    result = classify(edge_model, long, short, stereo, "--json", "--top_k=3", "--hop_seconds=0.5")
    assert result.returncode == 0, result.stderr[-1500:]
    outputs = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [o["file"] for o in outputs] == [str(long), str(short), str(stereo)]
    assert [len(o["windows"]) for o in outputs] == [8, 1, 2]  # 4.2 s: starts 0..3.5 s every 0.5 s
    for o in outputs:
        assert len(o["top"]) == 3 and all(0 <= t["score"] <= 1 for t in o["top"])
        clip_best = max(w["top"][0]["score"] for w in o["windows"])
        assert o["top"][0]["score"] == pytest.approx(clip_best, abs=1e-4)  # max over windows


def test_bad_files_are_reported_and_the_rest_classified(edge_model, tmp_path):
    good = write_tone(tmp_path / "good.wav")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    result = classify(edge_model, tmp_path / "missing.wav", tmp_path / "corrupt.wav", good)
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert errors[-2].endswith("missing.wav: missing file") and "corrupt.wav: unreadable audio" in errors[-1]
    assert result.stdout.startswith(f"{good}: ")


def test_labels_must_match_the_model(edge_model, tmp_path):
    (tmp_path / "labels.txt").write_text("a\nb\n")
    model, _ = edge_model
    result = subprocess.run([sys.executable, "export/classify.py", f"--model={model}", f"--labels={tmp_path / 'labels.txt'}", "x.wav"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2 and "has 2 labels but" in result.stderr and "outputs 5 classes" in result.stderr


def test_stream_mode_reads_pcm_from_stdin(edge_model):
    model, labels = edge_model
    pcm = (0.3 * np.sin(2 * np.pi * 700 * np.arange(40000) / 16000) * 32767).astype("<i2").tobytes()  # 2.5 s
    result = subprocess.run([sys.executable, "-c", NO_TENSORFLOW, f"--model={model}", f"--labels={labels}", "--stream", "--json"],
                            input=pcm, capture_output=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr[-1000:]
    lines = [json.loads(line) for line in result.stdout.decode().strip().splitlines()]
    assert [line["start_seconds"] for line in lines] == [0.0, 0.5, 1.0, 1.5]
