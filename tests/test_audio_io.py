import numpy as np
import pytest

from conftest import write_tone
from keras_rawaudio.audio_io import AudioError, load_audio, to_pcm16, windows


def test_stereo_44k_is_resampled_band_limited(tmp_path):
    path = write_tone(tmp_path / "tone.flac", 1000.0, 1.0, sample_rate=44100, channels=2)
    waveform, seconds = load_audio(path, 16000)
    assert waveform.dtype == np.float32 and seconds == pytest.approx(1.0)
    assert len(waveform) == 16000
    expected = 0.5 * np.sin(2 * np.pi * 1000.0 * np.arange(16000) / 16000)
    middle = slice(400, -400)  # away from the edges' filter transients
    assert np.abs(waveform[middle] - expected[middle]).max() < 2e-3


@pytest.mark.parametrize(
    "content, reason",
    [(None, "missing file"), (b"", "unreadable"), (b"RIFF\0\0\0\0WAVEjunk", "unreadable")],
)
def test_bad_files_raise_audio_error(tmp_path, content, reason):
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(AudioError, match=reason):
        load_audio(path)


def test_nan_samples_are_rejected(tmp_path):
    import soundfile as sf

    sf.write(tmp_path / "nan.wav", np.array([0.0, np.nan, 0.1], np.float32), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN or Inf"):
        load_audio(tmp_path / "nan.wav")


def test_pcm16_clips_and_rounds():
    np.testing.assert_array_equal(
        to_pcm16(np.array([-2.0, -1.0, 0.0, 0.5, 1.5])), [-32767, -32767, 0, 16384, 32767]
    )


def test_windows_split_and_crop():
    waveform = np.arange(25)
    split = list(windows(waveform, 10, "split", min_samples=4))
    assert [start for start, _ in split] == [0, 10, 20]
    assert [len(s) for _, s in split] == [10, 10, 5]
    assert [start for start, _ in windows(waveform, 10, "split", min_samples=6)] == [0, 10]
    assert [len(s) for _, s in windows(waveform, 10, "crop", min_samples=4)] == [10]
    assert [len(s) for _, s in windows(waveform[:7], 10, "split", min_samples=8)] == [7]
