"""From the waveform to the (C, T, 1) image the ResNet reads: the raw model's learned
front-end (a registered `Frontend`, then a compression), or the log-mel model's fixed one, then
the image's own layers (augmentations, band normalisation, the transpose)."""

from keras import layers

from keras_rawaudio.config import ModelConfig
from keras_rawaudio.models import frontends, names
from keras_rawaudio.models.layers import (
    FilterAugment,
    LogCompression,
    LogMelSpectrogram,
    PerChannelEnergyNormalization,
    TimeFrequencyMasking,
)


def compression(config: ModelConfig):
    """The layer that compresses the learned filterbank's frames, by
    `config.frontend_compression`."""
    if config.frontend_compression == "log":
        return LogCompression(
            frontends.get(config.frontend).compression_gain, name=names.FRONTEND_COMPRESSION
        )
    # PCEN's smoother sees the frames of the shortest input, the window the model is scored on.
    return PerChannelEnergyNormalization(
        -(-config.min_samples // config.hop_samples), name=names.FRONTEND_COMPRESSION
    )


def waveform_frontend(waveform, config: ModelConfig):
    """The learned filterbank: (batch, samples) → (batch, samples / hop, C), compressed."""
    x = frontends.get(config.frontend).build(waveform, config)
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
        name=names.LOG_MEL,
    )(waveform)


def to_image(frames, config: ModelConfig):
    """(batch, T, C) → (batch, C, T, 1): the paper's C×1×T → 1×C×T transpose, kept NHWC;
    in training first given a random equaliser if `config.filter_augment_db`, then each band
    batch-normalised if `config.band_normalization`, then masked in training if
    `config.mask_bands` or `config.mask_frames`."""
    bands = frames.shape[-1]
    if config.filter_augment_db:
        frames = FilterAugment(config.filter_augment_db, name=names.FILTER_AUGMENT)(frames)
    if config.band_normalization:
        frames = layers.BatchNormalization(
            momentum=config.batch_norm_momentum, name=names.BAND_NORMALIZATION
        )(frames)
    if config.mask_bands or config.mask_frames:
        frames = TimeFrequencyMasking(
            config.mask_bands, config.mask_frames, name=names.TIME_FREQUENCY_MASKING
        )(frames)
    x = layers.Permute((2, 1), name=names.TO_IMAGE_TRANSPOSE)(frames)
    return layers.Reshape((bands, -1, 1), name=names.TO_IMAGE)(x)
