"""A waveform's level, and the layer that normalises it.

`loudest_frame_power` is the one measurement of a sound's level: level normalisation (the
model's input) and level-matched mixing (`keras_rawaudio.data.mixing`) both call it, over the
model's `level_frame_ms`. Each sets its own floor: normalisation stops raising the gain below
`LEVEL_FLOOR`, mixing only avoids dividing by zero.
"""

import keras
from keras import ops

LEVEL_FLOOR = (
    1e-3  # RMS below which level normalisation stops raising the gain: silence stays near silence
)


def loudest_frame_power(waveforms, frame_samples=None, backend=ops):
    """(batch, samples) → (batch, 1): the mean square of each waveform's loudest frame of
    `frame_samples` (frames every half frame, 'same' padding), the level of the sound it holds
    whatever its duration; with `frame_samples` None, of the whole waveform.

    `backend`: the ops of the running Keras backend (`keras.ops`) in the model,
    `data.mixing.TF_OPS` in a tf.data pipeline, which runs TensorFlow whatever the backend."""
    squared = waveforms * waveforms  # MUL: int8 TFLite has no SQUARE
    if frame_samples is None:
        return backend.mean(squared, axis=-1, keepdims=True)
    frames = backend.average_pool(
        backend.expand_dims(squared, -1), frame_samples, frame_samples // 2, "same"
    )
    return backend.max(frames, axis=1)


@keras.saving.register_keras_serializable(package="keras_rawaudio")
class LevelNormalization(keras.layers.Layer):
    """Scales each waveform to a fixed RMS level, so that a clip's gain does not change the model.

    y = target_rms · x / sqrt(P + floor²), where P is `loudest_frame_power`: the mean square of
    the whole waveform or, with `frame_samples`, of its loudest frame of that many samples.
    Windows quieter than `floor` (RMS) are scaled up at most target_rms / floor, so silence
    stays near silence. TFLite builtin ops.

    Args:
        target_rms: the RMS the waveform (or its loudest frame) is scaled to.
        floor: RMS below which the gain stops growing.
        frame_samples: None: the whole waveform's RMS; else the loudest frame's.
    """

    def __init__(self, target_rms=0.1, floor=LEVEL_FLOOR, frame_samples=None, **kwargs):
        super().__init__(**kwargs)
        self.target_rms, self.floor, self.frame_samples = target_rms, floor, frame_samples

    def call(self, waveform):
        power = loudest_frame_power(waveform, self.frame_samples)
        return waveform * (self.target_rms * ops.rsqrt(power + self.floor**2))

    def get_config(self):
        return {
            **super().get_config(),
            "target_rms": self.target_rms,
            "floor": self.floor,
            "frame_samples": self.frame_samples,
        }
