"""Audio decoding and resampling, with NumPy, soundfile and soxr only (no TensorFlow).

Shared by the TFRecord writer and the edge runner, so both hear the same signal.
"""

import os

import numpy as np
import soundfile as sf
import soxr

from keras_rawaudio.errors import InputError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".au", ".opus")


class AudioError(InputError):
    """An audio file that cannot be used; the message says why in a few words."""


def unreadable(error) -> AudioError:
    """The AudioError of a file soundfile cannot decode, with its reason in a few words."""
    detail = (
        getattr(error, "error_string", None)
        or (str(error).splitlines() or [type(error).__name__])[0]
    )
    return AudioError(f"unreadable audio ({detail[:120]})")


def load_audio(path, sample_rate: int = 16000) -> tuple[np.ndarray, float]:
    """Decodes `path` (a file name, or a binary file object) to mono float32 at `sample_rate`;
    returns (waveform, source seconds).

    Channels are averaged; resampling is band-limited (soxr, high quality). Raises AudioError
    for a missing, unreadable, corrupt or empty file, or one with NaN/Inf samples.
    """
    if isinstance(path, (str, os.PathLike)) and not os.path.isfile(path):
        raise AudioError("missing file")
    try:
        data, source_rate = sf.read(path, dtype="float32", always_2d=True)
    except Exception as error:  # soundfile raises several types for undecodable data
        raise unreadable(error) from None
    if data.size == 0:
        raise AudioError("empty audio (0 samples)")
    if not np.all(np.isfinite(data)):
        raise AudioError("NaN or Inf samples")
    return resample(data.mean(axis=1), source_rate, sample_rate), len(data) / source_rate


def stream_audio(path, sample_rate: int = 16000, block_seconds: float = 10.0):
    """Yields `path` as mono float32 blocks at `sample_rate`, decoding and resampling one block
    at a time, so memory is bounded by the block, not the file's length. Raises AudioError as
    `load_audio` does (also for NaN/Inf samples found part way)."""
    if not os.path.isfile(path):
        raise AudioError("missing file")
    try:
        file = sf.SoundFile(path)
    except Exception as error:  # soundfile raises several types for undecodable data
        raise unreadable(error) from None
    with file:
        source_rate, block = file.samplerate, max(1, round(block_seconds * file.samplerate))
        resampler = (
            soxr.ResampleStream(source_rate, sample_rate, 1, dtype="float32", quality="HQ")
            if source_rate != sample_rate
            else None
        )
        heard = 0
        while True:
            data = file.read(block, dtype="float32", always_2d=True)
            last = len(data) < block
            if not np.all(np.isfinite(data)):
                raise AudioError("NaN or Inf samples")
            heard += len(data)
            mono = data.mean(axis=1)
            out = resampler.resample_chunk(mono, last=last) if resampler else mono
            if out.size:
                yield np.ascontiguousarray(out, dtype=np.float32)
            if last:
                break
        if heard == 0:
            raise AudioError("empty audio (0 samples)")


def resample(waveform: np.ndarray, source_rate: int, sample_rate: int) -> np.ndarray:
    """Band-limited resampling of a mono float32 waveform."""
    if source_rate == sample_rate:
        return np.ascontiguousarray(waveform, dtype=np.float32)
    return soxr.resample(waveform, source_rate, sample_rate, quality="HQ").astype(np.float32)


def to_pcm16(waveform: np.ndarray) -> np.ndarray:
    """float32 in [-1, 1] → int16, clipping out-of-range samples."""
    return np.round(np.clip(waveform, -1.0, 1.0) * 32767.0).astype(np.int16)


def windows(waveform: np.ndarray, window_samples: int, policy: str, min_samples: int):
    """Splits a waveform for storage: yields (start_sample, segment).

    policy 'split': consecutive windows of `window_samples`; a final partial window is kept if
    it has at least `min_samples`. policy 'crop': only the first window. Clips no longer than
    one window are returned whole.
    """
    if len(waveform) <= window_samples or policy == "crop":
        yield 0, waveform[:window_samples]
        return
    for start in range(0, len(waveform), window_samples):
        segment = waveform[start : start + window_samples]
        if start == 0 or len(segment) >= min_samples:
            yield start, segment


def prepare_clip(path, sample_rate, window_samples, policy):
    """Decode worker: path (or a binary file object) → ([(start_sample, int16 PCM bytes), ...],
    source seconds) or an AudioError message string. Runs in a subprocess, so it returns plain
    picklable values."""
    try:
        waveform, seconds = load_audio(path, sample_rate)
    except AudioError as error:
        return str(error)
    pieces = windows(waveform, window_samples, policy, min_samples=sample_rate)
    return [(start, to_pcm16(segment).tobytes()) for start, segment in pieces], seconds
