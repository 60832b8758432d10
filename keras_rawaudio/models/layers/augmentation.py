"""Training-only augmentations of the (T, C) image: SpecAugment's masks and FilterAugment's
random equaliser. At inference both are the identity and add no op to an exported file."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class TimeFrequencyMasking(keras.layers.Layer):
    """SpecAugment's masks, in training only: each example's image gets one run of 0 to
    `max_bands` consecutive bands and one of 0 to `max_frames` consecutive frames set to 0 (the
    mean of a band-normalised image), widths and positions uniform. At inference it is the
    identity and adds no op to an exported file.

    Input and output: (batch, frames, bands).

    Example: `TimeFrequencyMasking(8, 10)(frames, training=True)`.
    """

    def __init__(self, max_bands=0, max_frames=0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.max_bands, self.max_frames, self.seed = max_bands, max_frames, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _keep(self, batch, size, max_width):
        """(batch, size) float: 0 on one run of 0..max_width positions per example, else 1."""
        width = ops.floor(
            keras.random.uniform((batch, 1), seed=self.seed_generator) * (max_width + 1)
        )
        start = ops.floor(
            keras.random.uniform((batch, 1), seed=self.seed_generator)
            * (ops.cast(size, "float32") - width + 1)
        )
        position = ops.cast(ops.arange(size), "float32")[None, :]
        return ops.cast((position < start) | (position >= start + width), "float32")

    def call(self, frames, training=False):
        if not training or not (self.max_bands or self.max_frames):
            return frames
        shape = ops.shape(frames)
        keep = ops.ones_like(frames)
        if self.max_frames:
            keep = keep * self._keep(shape[0], shape[1], self.max_frames)[:, :, None]
        if self.max_bands:
            keep = keep * self._keep(shape[0], shape[2], self.max_bands)[:, None, :]
        return frames * keep

    def get_config(self):
        return {
            **super().get_config(),
            "max_bands": self.max_bands,
            "max_frames": self.max_frames,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class FilterAugment(keras.layers.Layer):
    """A random equaliser, in training only (FilterAugment, Nam et al., 2022): each example's
    log-compressed image gets a gain curve across its bands, `points` gains drawn uniformly in
    ±`max_db` dB at evenly spaced bands and linearly interpolated between them, added in
    natural-log units (a power gain of G dB adds G·ln(10)/10 to log(power)). It imitates another
    microphone, room or recording chain colouring the same sound. At inference it is the
    identity and adds no op to an exported file.

    Input and output: (batch, frames, bands), log-compressed.

    Example: `FilterAugment(6.0)(log_mel_frames, training=True)`.
    """

    def __init__(self, max_db=6.0, points=5, seed=None, **kwargs):
        super().__init__(**kwargs)
        if points < 2:
            raise ValueError(f"FilterAugment needs at least 2 points, got {points}")
        self.max_db, self.points, self.seed = max_db, points, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        # (points, bands): row p holds the weight of control point p at each band.
        position = np.linspace(0, self.points - 1, input_shape[-1])
        self.interpolation = np.array(
            [np.interp(position, np.arange(self.points), row) for row in np.eye(self.points)],
            np.float32,
        )

    def call(self, frames, training=False):
        if not training or not self.max_db:
            return frames
        gains_db = keras.random.uniform(
            (ops.shape(frames)[0], self.points), -self.max_db, self.max_db, seed=self.seed_generator
        )
        curve = ops.matmul(gains_db, ops.convert_to_tensor(self.interpolation)) * (
            np.log(10.0) / 10
        )
        return frames + curve[:, None, :]

    def get_config(self):
        return {
            **super().get_config(),
            "max_db": self.max_db,
            "points": self.points,
            "seed": self.seed,
        }
