"""A deterministic synthetic sound-event dataset: the embedded default of `make demo`.

Five event classes, each a distinct signal family, overlapped at random offsets and levels
over quiet noise, so labels are multi-hot. Pure NumPy + soundfile; no download.
"""

import pathlib

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16000
CLASSES = ("tone", "chirp", "harmonic", "noise_burst", "clicks")


def _envelope(n, rng):
    attack = max(1, int(n * rng.uniform(0.02, 0.2)))
    return np.minimum(1.0, np.arange(n) / attack) * np.exp(
        -np.arange(n) / (n * rng.uniform(0.3, 1.0))
    )


def event(name, rng, sample_rate=SAMPLE_RATE):
    """One event of class `name`, float64 with peak 1."""
    n = int(rng.uniform(0.25, 0.8) * sample_rate)
    t = np.arange(n) / sample_rate
    if name == "tone":
        signal = np.sin(2 * np.pi * rng.uniform(400, 2500) * t)
    elif name == "chirp":
        f0, f1 = rng.uniform(300, 1000), rng.uniform(2000, 6000)
        if rng.random() < 0.5:
            f0, f1 = f1, f0
        signal = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * t[-1])))
    elif name == "harmonic":
        f0 = rng.uniform(90, 250)
        signal = sum(np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6.3)) / k for k in range(1, 9))
    elif name == "noise_burst":
        n = int(rng.uniform(0.05, 0.25) * sample_rate)
        signal = rng.normal(size=n)
    elif name == "clicks":
        signal = np.zeros(n)
        period = int(sample_rate / rng.uniform(8, 30))
        signal[::period] = 1.0
        signal = np.convolve(signal, np.hanning(16), mode="same")
    else:
        raise ValueError(f"unknown event class {name!r}")
    signal = signal * _envelope(len(signal), rng)
    return signal / np.max(np.abs(signal))


def clip(rng, seconds=2.0, sample_rate=SAMPLE_RATE):
    """A clip of 1–2 overlapping events; returns (waveform float32, sorted class names)."""
    waveform = rng.normal(0, 0.003, int(seconds * sample_rate))
    names = sorted(rng.choice(CLASSES, size=rng.choice([1, 2], p=[0.6, 0.4]), replace=False))
    for name in names:
        sound = event(name, rng, sample_rate)[: len(waveform)]
        start = rng.integers(0, len(waveform) - len(sound) + 1)
        waveform[start : start + len(sound)] += rng.uniform(0.1, 0.5) * sound
    return waveform.astype(np.float32), list(names)


def write_dataset(out_dir, clips=600, seconds=2.0, seed=0) -> pathlib.Path:
    """Writes `clips` WAV files and `meta.csv` (path,labels,split: 80/10/10) under `out_dir`.

    Returns the CSV path. Identical for identical arguments.
    """
    out_dir = pathlib.Path(out_dir)
    (out_dir / "clips").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = ["path,labels,split"]
    for i in range(clips):
        waveform, names = clip(rng, seconds)
        path = f"clips/{i:05d}.wav"
        sf.write(out_dir / path, waveform, SAMPLE_RATE, subtype="PCM_16")
        split = "test" if i % 10 == 9 else "val" if i % 10 == 8 else "train"
        rows.append(f"{path},{';'.join(names)},{split}")
    meta = out_dir / "meta.csv"
    meta.write_text("\n".join(rows) + "\n")
    return meta
