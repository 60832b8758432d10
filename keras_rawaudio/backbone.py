"""Building blocks of both classifiers, written against the Keras functional API.

Shapes: waveform (batch, samples); frames (batch, T, C); image (batch, C, T, 1), i.e. NHWC
with the learned channels as the height ("frequency") axis and time as the width.
"""

from keras import layers

from keras_rawaudio.config import ModelConfig, Stage
from keras_rawaudio.layers import (AttentionPooling, FilterAugment, GaborFilterbank, LogCompression,
                                   LogMelSpectrogram, PerChannelEnergyNormalization, TimeFrequencyMasking)

# LogCompression's initial gain per raw front-end: the CNN's batch-normalised ReLU outputs are
# about 1, so log(1 + 10·x) starts compressing near 0.1. A Gabor band's power is
# (GABOR_GAIN · A / 2)² for a sinusoid of amplitude A, and a gain of 1 makes log(1 + g·x)
# logarithmic down to A ≈ 2e-4 (−74 dBFS; 55 dB below a window at RMS 0.1, the level that
# LevelNormalization sets), as the log-mel front-end's offset does.
COMPRESSION_GAIN = {"cnn": 10.0, "gabor": 1.0}


def conv_bn(x, filters, kernel, stride, name, momentum, relu=True):
    """Conv (1D or 2D, by the rank of `x`) → BatchNorm → optional ReLU; 'same' padding."""
    conv = layers.Conv1D if len(x.shape) == 3 else layers.Conv2D
    x = conv(filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def separable_conv_bn(x, filters, kernel, stride, name, momentum, relu=True):
    """Depthwise conv → BatchNorm → ReLU → 1×1 conv → BatchNorm → optional ReLU (MobileNet's
    factorisation of `conv_bn`), 1D or 2D by the rank of `x`; 'same' padding."""
    depthwise = layers.DepthwiseConv1D if len(x.shape) == 3 else layers.DepthwiseConv2D
    x = depthwise(kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_depthwise")(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}_depthwise_bn")(x)
    x = layers.ReLU(name=f"{name}_depthwise_relu")(x)
    return conv_bn(x, filters, 1, 1, name, momentum, relu)


def residual_block(x, filters, kernel, stride, name, momentum, separable=False):
    """ResNet basic block (two convs + shortcut), 1D or 2D by the rank of `x`; the two convs are
    depthwise-separable if `separable` (the shortcut stays a 1×1 conv)."""
    conv = separable_conv_bn if separable else conv_bn
    y = conv(x, filters, kernel, stride, f"{name}_a", momentum)
    y = conv(y, filters, kernel, 1, f"{name}_b", momentum, relu=False)
    if stride not in (1, (1, 1)) or x.shape[-1] != filters:
        x = conv_bn(x, filters, 1, stride, f"{name}_shortcut", momentum, relu=False)
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([x, y]))


def residual_stage(x, stage: Stage, name, momentum):
    for block in range(stage.blocks):
        stride = stage.stride if block == 0 else 1
        x = residual_block(x, stage.filters, stage.kernel, stride, f"{name}_block{block + 1}", momentum,
                           stage.separable)
    return x


def cnn_filterbank(waveform, config: ModelConfig):
    """The paper's 1D CNN: (batch, samples) → (batch, samples / hop, C)."""
    x = layers.Reshape((-1, 1), name="frontend_channel")(waveform)
    momentum = config.batch_norm_momentum
    x = conv_bn(x, config.stem_filters, config.stem_kernel, config.stem_stride, "frontend_stem", momentum)
    for i, stage in enumerate(config.frontend_stages):
        x = residual_stage(x, stage, f"frontend_stage{i + 1}", momentum)
    return x


def gabor_filterbank(waveform, config: ModelConfig):
    """LEAF-like Gabor filters (learning at `gabor_learning_rate_scale`) and their power: (batch, samples) →
    (batch, samples / hop, C)."""
    return GaborFilterbank(config.mel_bins, config.window_samples, config.hop_samples, config.sample_rate,
                           config.mel_min_hz, config.mel_max_hz, config.gabor_learning_rate_scale,
                           name="frontend_gabor")(waveform)


FILTERBANKS = {"cnn": cnn_filterbank, "gabor": gabor_filterbank}

# Layers that the int8 export keeps in float32 with the Gabor front-end (the rest of the file
# is int8; the CNN front-end's file stays full-integer):
# * the Gabor front-end, whose outputs 8 bits cannot hold: the bands' power spans 60 dB and
#   more, int8 rounds every band below about 1/250 of the loudest one to 0, and the log then
#   maps it to silence (validation mAP 0.71 → 0.28 on a drums16k model). The CNN's
#   batch-normalised ReLU outputs, log-compressed from 0.1 up, quantise well;
# * after it, the 2D stem convolution (one input channel, the image): LiteRT's int8 kernel for
#   it ran 8.5x slower than the float32 one here (0.31 against 0.037 ms at 64 x 100; BENCHMARKS.md,
#   "Edge latency"), a third of the whole int8 file's time;
# * the attention heads (`float_layers` adds them): an int8 softmax over time and sigmoid scores
#   of 256 levels, which tie in a ranking. In float32 they cost no measurable time and halved
#   the int8 file's mean score error on five drums16k models (BENCHMARKS.md, "0.3.3").
GABOR_FLOAT_LAYERS = ("level_normalization", "frontend_gabor", "frontend_compression", "band_normalization",
                      "to_image_transpose", "to_image", "resnet_stem_conv", "resnet_stem_bn", "resnet_stem_relu")
HEAD_LAYERS = ("frequency_mean", "frames", "hidden", "attention")  # head<i>_<name>, as `attention_head` names them


def float_layers(config: ModelConfig) -> tuple[str, ...]:
    """Names of the raw model's layers that its int8 file keeps in float32 (see above)."""
    if config.frontend != "gabor":
        return ()
    heads = tuple(f"head{i + 1}_{name}" for i in range(config.num_heads) for name in HEAD_LAYERS)
    return GABOR_FLOAT_LAYERS + heads + ("clipwise",)


def compression(config: ModelConfig):
    """The layer that compresses the learned filterbank's frames, by `config.frontend_compression`."""
    if config.frontend_compression == "log":
        return LogCompression(COMPRESSION_GAIN[config.frontend], name="frontend_compression")
    # PCEN's smoother sees the frames of the shortest input, the window the model is scored on.
    return PerChannelEnergyNormalization(-(-config.min_samples // config.hop_samples), name="frontend_compression")


def waveform_frontend(waveform, config: ModelConfig):
    """The learned filterbank: (batch, samples) → (batch, samples / hop, C), compressed."""
    x = FILTERBANKS[config.frontend](waveform, config)
    if config.frontend_compression != "none":
        x = compression(config)(x)
    return x


def log_mel_frontend(waveform, config: ModelConfig):
    """The fixed filterbank: (batch, samples) → (batch, frames, mel_bins) log-mel."""
    return LogMelSpectrogram(
        sample_rate=config.sample_rate,
        window_samples=config.window_samples,
        hop_samples=config.frame_hop_samples,
        mel_bins=config.mel_bins,
        lower_hz=config.mel_min_hz,
        upper_hz=config.mel_max_hz,
        name="log_mel",
    )(waveform)


def to_image(frames, config: ModelConfig):
    """(batch, T, C) → (batch, C, T, 1): the paper's C×1×T → 1×C×T transpose, kept NHWC;
    in training first given a random equaliser if `config.filter_augment_db`, then each band
    batch-normalised if `config.band_normalization`, then masked in training if
    `config.mask_bands` or `config.mask_frames`."""
    bands = frames.shape[-1]
    if config.filter_augment_db:
        frames = FilterAugment(config.filter_augment_db, name="filter_augment")(frames)
    if config.band_normalization:
        frames = layers.BatchNormalization(momentum=config.batch_norm_momentum, name="band_normalization")(frames)
    if config.mask_bands or config.mask_frames:
        frames = TimeFrequencyMasking(config.mask_bands, config.mask_frames, name="time_frequency_masking")(frames)
    x = layers.Permute((2, 1), name="to_image_transpose")(frames)
    return layers.Reshape((bands, -1, 1), name="to_image")(x)


def resnet(image, config: ModelConfig):
    """2D ResNet over the image; returns every stage's output, (batch, F_s, T_s, filters_s)."""
    momentum = config.batch_norm_momentum
    x = conv_bn(image, config.resnet_stem_filters, 3, 1, "resnet_stem", momentum)
    outputs = []
    for i, stage in enumerate(config.resnet_stages):
        x = residual_stage(x, stage, f"resnet_stage{i + 1}", momentum)
        outputs.append(x)
    return outputs


def attention_head(feature_map, config: ModelConfig, name):
    """One prediction level: frequency average, optional hidden layer, attention pooling."""
    height, channels = feature_map.shape[1], feature_map.shape[-1]
    x = layers.AveragePooling2D((height, 1), name=f"{name}_frequency_mean")(feature_map)
    x = layers.Reshape((-1, channels), name=f"{name}_frames")(x)
    if config.head_units:
        x = layers.Dense(config.head_units, activation="relu", name=f"{name}_hidden")(x)
    x = layers.Dropout(config.dropout, name=f"{name}_dropout")(x)
    return AttentionPooling(config.num_classes, config.attention_clip, name=f"{name}_attention")(x)


def multi_level_prediction(stage_outputs, config: ModelConfig):
    """Heads on the last `num_heads` stages; the clip probability is their mean, (batch, K)."""
    levels = [
        attention_head(feature_map, config, f"head{i + 1}")[0]
        for i, feature_map in enumerate(stage_outputs[-config.num_heads :])
    ]
    if len(levels) == 1:
        return layers.Identity(name="clipwise")(levels[0])
    return layers.Average(name="clipwise")(levels)
