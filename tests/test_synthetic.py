import numpy as np
import pytest
import soundfile as sf

from keras_rawaudio.synthetic import CLASSES, clip, event, write_dataset


def test_events_are_normalised_and_named():
    rng = np.random.default_rng(0)
    for name in CLASSES:
        assert np.abs(event(name, rng)).max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown event class 'bark'"):
        event("bark", rng)


def test_a_clip_holds_its_labelled_events():
    waveform, names = clip(np.random.default_rng(3), seconds=1.5)
    assert waveform.dtype == np.float32 and waveform.shape == (24000,)
    assert 1 <= len(names) <= 2 and set(names) <= set(CLASSES) and names == sorted(names)
    assert np.abs(waveform).max() > 0.05  # events well above the 0.003 noise floor


def test_the_dataset_is_identical_for_identical_arguments(tmp_path):
    first = write_dataset(tmp_path / "a", clips=20, seconds=1.0, seed=4)
    second = write_dataset(tmp_path / "b", clips=20, seconds=1.0, seed=4)
    rows = first.read_text().splitlines()
    assert rows == second.read_text().splitlines() and rows[0] == "path,labels,split"
    assert [r.split(",")[2] for r in rows[1:11]] == ["train"] * 8 + ["val", "test"]
    for row in rows[1:]:
        path = row.split(",")[0]
        assert (tmp_path / "a" / path).read_bytes() == (tmp_path / "b" / path).read_bytes()
    audio, rate = sf.read(tmp_path / "a" / rows[1].split(",")[0])
    assert rate == 16000 and len(audio) == 16000
