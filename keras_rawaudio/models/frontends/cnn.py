"""The paper's front-end: a Conv1D stem, then residual strided stages (`frontend_stages`),
whose last stage's filters are the C learned "frequency" bands."""

import numpy as np
from keras import layers

from keras_rawaudio.config import ModelConfig
from keras_rawaudio.models.frontends import Frontend
from keras_rawaudio.models.resnet import conv_bn, residual_stage

STEM = "frontend_stem"


def stage_name(index: int) -> str:
    """The name of front-end stage `index` (from 1)."""
    return f"frontend_stage{index}"


def build(waveform, config: ModelConfig):
    """(batch, samples) → (batch, samples / hop, C)."""
    x = layers.Reshape((-1, 1), name="frontend_channel")(waveform)
    momentum = config.batch_norm_momentum
    x = conv_bn(x, config.stem_filters, config.stem_kernel, config.stem_stride, STEM, momentum)
    for i, stage in enumerate(config.frontend_stages):
        x = residual_stage(x, stage, stage_name(i + 1), momentum)
    return x


def output_layer(config: ModelConfig) -> str:
    """The last block's output layer."""
    return f"{stage_name(len(config.frontend_stages))}_block{config.frontend_stages[-1].blocks}_out"


def filter_taps(model) -> np.ndarray:
    """(kernel, stem_filters) taps of the stem's kernels."""
    return np.asarray(model.get_layer(f"{STEM}_conv").kernel)[:, 0, :]


# Its batch-normalised ReLU outputs are about 1, so log(1 + 10·x) starts compressing near 0.1;
# log-compressed from 0.1 up they quantise well, and the int8 file is full-integer.
FRONTEND = Frontend(
    build=build,
    output_layer=output_layer,
    filter_taps=filter_taps,
    filters_are_channels=False,
    filter_title=lambda config: f"CNN stem kernels ({config.stem_kernel} taps)",
    compression_gain=10.0,
    float_in_int8=False,
)
