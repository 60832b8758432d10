import numpy as np
import pytest
import soundfile as sf

from keras_rawaudio.errors import InputError
from keras_rawaudio.soundscapes import (
    GAP_SECONDS,
    SNR_DB,
    background,
    background_names,
    coloured_noise,
    peak_level,
    read_ambience,
    sound_span,
    soundscapes,
)

RATE = 16000


def octave_slope_db(noise):
    """The power's change per octave, from the 250-500 Hz band to the 2-4 kHz band (3 octaves)."""
    power = np.abs(np.fft.rfft(noise)) ** 2
    hz = np.fft.rfftfreq(len(noise), 1 / RATE)
    low, high = (power[(hz >= a) & (hz < 2 * a)].mean() / a for a in (250, 2000))
    return 10 * np.log10(high / low) / 3 + 10 * np.log10(2)  # per octave, band width counted


@pytest.mark.parametrize("colour, slope", [("white", 0.0), ("pink", -3.0), ("brown", -6.0)])
def test_coloured_noise_has_unit_rms_and_its_spectral_slope(colour, slope):
    noise = coloured_noise(colour, 10 * RATE, np.random.default_rng(0))
    assert np.sqrt(np.mean(noise**2)) == pytest.approx(1.0, rel=1e-4)
    assert octave_slope_db(noise) == pytest.approx(slope, abs=0.5)


def test_background_levels_names_and_ambience():
    rng = np.random.default_rng(0)
    assert not background("silence", 100, rng).any()
    pink = background("pink_-45dBFS", 5 * RATE, rng)
    assert 20 * np.log10(np.sqrt(np.mean(pink**2))) == pytest.approx(-45, abs=0.01)
    assert background_names() == [
        "silence",
        *(f"{c}_{level}dBFS" for c in ("white", "pink", "brown") for level in (-60, -45, -30)),
    ]
    loop = background("rain/a.flac", 250, rng, {"rain/a.flac": np.arange(100, dtype=np.float32)})
    assert len(loop) == 250 and set(np.diff(loop)) <= {1.0, -99.0}  # the recording, looped


def test_soundscapes_lay_every_recording_once_at_its_snr_with_its_events():
    sounds, label_lists = [], []
    for k in range(12):  # a 0.2 s tone in the middle of 1 s of silence
        sound = np.zeros(RATE, np.float32)
        sound[6400:9600] = 0.5 * np.sin(2 * np.pi * (300 + 100 * k) * np.arange(3200) / RATE)
        sounds.append(sound)
        label_lists.append(["tone", "loud"] if k == 0 else ["tone"])
    scapes = soundscapes(
        sounds, label_lists, np.random.default_rng(1), RATE, events_per_soundscape=5
    )
    assert len(scapes) == 3 and sum(len(s.events) for s in scapes) == 13  # one event per label
    for scape in scapes:
        noise_level = float(scape.background.split("_")[1][:-4])
        assert -60 <= noise_level <= -30
        tones = sorted({(e.onset, e.offset) for e in scape.events})
        gaps = np.diff([0.0] + [onset for onset, _ in tones])
        for (onset, offset), gap in zip(tones, gaps):
            assert offset - onset == pytest.approx(0.2, abs=0.021)
            segment = scape.waveform[round(onset * RATE) : round(offset * RATE)]
            snr = 20 * np.log10(peak_level(segment, RATE) / 10 ** (noise_level / 20))
            assert SNR_DB[0] - 0.5 <= snr <= SNR_DB[1] + 0.5
            assert gap >= GAP_SECONDS[0] + 0.4 - 0.02  # a gap, then the silence before the tone
    again = soundscapes(
        sounds, label_lists, np.random.default_rng(1), RATE, events_per_soundscape=5
    )
    assert all(np.array_equal(a.waveform, b.waveform) for a, b in zip(scapes, again))


def test_sound_span_keeps_an_audible_tail():
    sound = np.zeros(RATE)
    t = np.arange(8000) / RATE
    sound[1600:9600] = np.sin(2 * np.pi * 440 * t) * np.exp(-t / 0.05)  # -30 dB at about 0.17 s
    onset, offset = sound_span(sound, RATE)
    assert onset == pytest.approx(0.1, abs=0.021) and 0.25 < offset < 0.32


def test_read_ambience_leaves_out_classes_hidden_files_and_reports_bad_ones(tmp_path):
    for path in ("wind/a.flac", "rain/b.wav", ".cache/c.wav", "rain/.d.wav"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        sf.write(tmp_path / path, np.full(1600, 0.01, np.float32), RATE)
    assert sorted(read_ambience(tmp_path, RATE, exclude={"wind"})) == ["rain/b.wav"]
    with pytest.raises(InputError, match=r"holds no audio files outside rain, wind$"):
        read_ambience(tmp_path, RATE, exclude={"wind", "rain"})
    with pytest.raises(InputError, match=r"is not a directory"):
        read_ambience(tmp_path / "missing", RATE)
    (tmp_path / "rain" / "broken.wav").write_bytes(b"RIFF0000")
    with pytest.raises(InputError, match=r"--background_dir: .*broken.wav"):
        read_ambience(tmp_path, RATE)
