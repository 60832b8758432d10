"""Test streams with known events, and background-only streams (NumPy only).

A soundscape lays recordings one after another over a continuous background, with gaps between
them, each at a random signal-to-noise ratio, and writes down where each sound is: its
annotated events (`events.Event`, score 1). Levels are RMS in dB re full scale (a full-scale
sine is −3 dBFS); a sound's level is the RMS of its loudest LEVEL_FRAME_SECONDS, as the model's
level normalisation measures it, so an SNR says how far a sound's peak stands above the
background's RMS. The same arguments give the same soundscapes.

Backgrounds (`BACKGROUNDS`): digital silence, white, pink and brown noise at −60, −45 and −30
dBFS, and real ambience (files of a directory at their recorded level) where given.

Example:

    rng = np.random.default_rng(0)
    scapes = soundscapes(waveforms, label_lists, rng, sample_rate=16000)
    scapes[0].waveform, scapes[0].events   # float32 (samples,), [Event(onset, offset, label)]
"""

import dataclasses
import pathlib

import numpy as np

from keras_rawaudio.errors import InputError
from keras_rawaudio.events import LOUD_SPAN_DB, SPAN_FRAME_SECONDS, Event, frame_powers

NOISE_COLOURS = ("white", "pink", "brown")
NOISE_LEVELS_DBFS = (-60, -45, -30)
LEVEL_FRAME_SECONDS = 0.05
SNR_DB = (-6.0, 24.0)  # events at a uniform random SNR in this range
BACKGROUND_DBFS = (-60.0, -30.0)  # a soundscape's background level, uniform in this range
GAP_SECONDS = (2.0, 4.0)  # silence of events between two sounds, uniform
EVENTS_PER_SOUNDSCAPE = 10
BACKGROUND_SECONDS = 60.0  # each background-only stream
AMBIENCE_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


@dataclasses.dataclass
class Soundscape:
    """A stream and its annotation: `events` (onset, offset, label; seconds), `background` the
    name of what lies under them."""

    name: str
    waveform: np.ndarray
    events: list
    background: str
    sample_rate: int = 16000

    @property
    def seconds(self) -> float:
        return len(self.waveform) / self.sample_rate


def dbfs(level_db: float) -> float:
    """An RMS level in dBFS as a linear amplitude."""
    return 10 ** (level_db / 20)


def coloured_noise(colour: str, samples: int, rng) -> np.ndarray:
    """(samples,) float32 noise of unit RMS whose power falls as 1/f^0 (white), 1/f (pink) or
    1/f² (brown), shaped in the frequency domain."""
    if colour not in NOISE_COLOURS:
        raise InputError(f"noise colour must be one of {', '.join(NOISE_COLOURS)}, got {colour!r}")
    white = rng.standard_normal(samples)
    if colour != "white":
        spectrum = np.fft.rfft(white)
        frequency = np.maximum(np.arange(len(spectrum)), 1.0)
        spectrum /= frequency ** (0.5 if colour == "pink" else 1.0)
        spectrum[0] = 0.0
        white = np.fft.irfft(spectrum, samples)
    return (white / max(np.sqrt(np.mean(white**2)), 1e-12)).astype(np.float32)


def peak_level(waveform: np.ndarray, sample_rate: int) -> float:
    """The RMS of the loudest LEVEL_FRAME_SECONDS of `waveform` (frames every half frame)."""
    frame = max(1, round(LEVEL_FRAME_SECONDS * sample_rate))
    power = np.convolve(np.square(waveform, dtype=np.float64), np.ones(frame) / frame, "valid")
    power = power[:: max(1, frame // 2)] if len(power) else [np.mean(np.square(waveform))]
    return float(np.sqrt(np.max(power)))


def sound_span(waveform: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """(onset, offset) seconds of a recording's sound: from its first to its last
    SPAN_FRAME_SECONDS frame within LOUD_SPAN_DB + 10 dB of its loudest (a decaying tail counts
    while it is audible)."""
    frame = max(1, round(SPAN_FRAME_SECONDS * sample_rate))
    power = frame_powers(waveform, frame)
    if not power.max() > 0:
        return 0.0, len(waveform) / sample_rate
    loud = np.flatnonzero(power >= power.max() * 10 ** (-(LOUD_SPAN_DB + 10) / 10))
    return loud[0] * frame / sample_rate, min(len(waveform), (loud[-1] + 1) * frame) / sample_rate


def read_ambience(directory, sample_rate: int, exclude=()) -> dict:
    """{relative path: waveform} of the recordings under `directory` (a background16k-style
    folder), at their recorded level; files in a first-level folder named in `exclude` (kinds
    that are classes of the corpus at hand) are left out. InputError if none is left."""
    from keras_rawaudio.audio_io import AudioError, load_audio

    root = pathlib.Path(directory)
    if not root.is_dir():
        raise InputError(f"--background_dir {directory} is not a directory")
    files = sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in AMBIENCE_EXTENSIONS
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        and p.relative_to(root).parts[0] not in set(exclude)
    )
    if not files:
        raise InputError(
            f"--background_dir {directory} holds no audio files"
            + (f" outside {', '.join(sorted(exclude))}" if exclude else "")
        )
    ambience = {}
    for path in files:
        try:
            ambience[str(path.relative_to(root))] = load_audio(path, sample_rate)[0]
        except AudioError as error:
            raise InputError(f"--background_dir: {path}: {error}") from None
    return ambience


def background(name: str, samples: int, rng, ambience=None) -> np.ndarray:
    """`samples` of background `name`: 'silence', '<colour>_<level>dBFS' (e.g. 'pink_-45dBFS'),
    or a key of `ambience` (looped from a random point)."""
    if name == "silence":
        return np.zeros(samples, np.float32)
    if ambience and name in ambience:
        source = ambience[name]
        start = int(rng.integers(len(source)))
        return np.resize(np.roll(source, -start), samples).astype(np.float32)
    colour, _, level = name.partition("_")
    return coloured_noise(colour, samples, rng) * np.float32(dbfs(float(level[:-4])))


def background_names(ambience=None) -> list[str]:
    """The background-only streams every stream evaluation reports: silence, each noise colour at
    each of NOISE_LEVELS_DBFS, and each ambience recording."""
    noises = [f"{c}_{level}dBFS" for c in NOISE_COLOURS for level in NOISE_LEVELS_DBFS]
    return ["silence", *noises, *sorted(ambience or ())]


def soundscapes(
    waveforms,
    label_lists,
    rng,
    sample_rate=16000,
    ambience=None,
    events_per_soundscape=EVENTS_PER_SOUNDSCAPE,
) -> list[Soundscape]:
    """Every recording of `waveforms` once, in a random order, `events_per_soundscape` to a
    soundscape, over a background that cycles through the noise colours (and the ambience
    recordings) at a random level in BACKGROUND_DBFS (ambience at its own level), each at a random
    SNR in SNR_DB after a gap in GAP_SECONDS. An event per label of the recording spans its
    `sound_span`; a sound too loud for its SNR is lowered to peak at full scale."""
    if len(waveforms) == 0:
        raise InputError("there are no recordings to lay into soundscapes")
    order = rng.permutation(len(waveforms))
    kinds = list(NOISE_COLOURS) + sorted(ambience or ())
    scapes = []
    for number, first in enumerate(range(0, len(order), events_per_soundscape)):
        chosen = order[first : first + events_per_soundscape]
        gaps = rng.uniform(*GAP_SECONDS, size=len(chosen) + 1)
        layout, position = [], round(gaps[0] * sample_rate)
        for i, gap in zip(chosen, gaps[1:]):
            layout.append((i, position))
            position += len(waveforms[i]) + round(gap * sample_rate)
        kind = kinds[number % len(kinds)]
        if kind in NOISE_COLOURS:
            name = f"{kind}_{rng.uniform(*BACKGROUND_DBFS):.0f}dBFS"
        else:
            name = kind
        stream = background(name, position, rng, ambience).astype(np.float64)
        floor = max(np.sqrt(np.mean(stream**2)), dbfs(-90))
        events = []
        for i, at in layout:
            sound = np.asarray(waveforms[i], np.float64)
            gain = floor * dbfs(rng.uniform(*SNR_DB)) / max(peak_level(sound, sample_rate), 1e-9)
            gain = min(gain, 0.99 / max(np.abs(sound).max(), 1e-9))
            stream[at : at + len(sound)] += gain * sound
            onset, offset = sound_span(sound, sample_rate)
            events += [
                Event(at / sample_rate + onset, at / sample_rate + offset, label)
                for label in label_lists[i]
            ]
        scapes.append(
            Soundscape(
                f"soundscape_{number:03d}",
                np.clip(stream, -1, 1).astype(np.float32),
                sorted(events, key=lambda e: (e.onset, e.label)),
                name,
                sample_rate,
            )
        )
    return scapes
