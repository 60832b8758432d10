"""`make demo`: the main job on an embedded default, end to end.

Run as `python -m keras_rawaudio.demo`.
"""

import time

import numpy as np
from absl import app

from keras_rawaudio import LogMelClassifier, RawWaveformClassifier, model_summary

SAMPLE_RATE = 16000


def chirp_clip(seconds=2.0, seed=0):
    """A deterministic test clip: a rising chirp over quiet noise, float32 in [-1, 1]."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    phase = 2 * np.pi * (200 * t + 900 * t**2)
    noise = np.random.default_rng(seed).normal(0, 0.01, t.size)
    return (0.5 * np.sin(phase) + noise).astype(np.float32)


def show_presets(num_classes=10):
    """Forward pass of every preset of both models on one clip, with a summary table."""
    clip = chirp_clip()
    print(f"{'model':<22}{'preset':<8}{'params':>12}{'MMAC/s':>10}{'forward ms':>12}  top score")
    for cls in (RawWaveformClassifier, LogMelClassifier):
        for preset in ("edge", "paper"):
            model = cls.from_preset(preset, num_classes=num_classes)
            summary = model_summary(model)
            model.predict(clip[None], verbose=0)  # trace once
            start = time.perf_counter()
            scores = model.predict(clip[None], verbose=0)[0]
            elapsed = (time.perf_counter() - start) * 1000
            print(
                f"{cls.__name__:<22}{preset:<8}{summary['parameters']:>12,}"
                f"{summary['macs_per_second'] / 1e6:>10.1f}{elapsed:>12.1f}  {scores.max():.3f}"
            )


def main(argv):
    del argv
    show_presets()


if __name__ == "__main__":
    app.run(main)
