"""The package's Keras layers, one family per module. Every one is registered serialisable
(`keras_rawaudio>Name`), so a `.keras` file loads without `custom_objects`, and every one
converts to TFLite builtin ops."""

from keras_rawaudio.models.layers.attention import AttentionPooling
from keras_rawaudio.models.layers.augmentation import FilterAugment, TimeFrequencyMasking
from keras_rawaudio.models.layers.compression import LogCompression, PerChannelEnergyNormalization
from keras_rawaudio.models.layers.gabor import GaborFilterbank
from keras_rawaudio.models.layers.level import LevelNormalization
from keras_rawaudio.models.layers.log_mel import LogMelSpectrogram

LAYERS = (
    AttentionPooling,
    FilterAugment,
    TimeFrequencyMasking,
    LogCompression,
    PerChannelEnergyNormalization,
    GaborFilterbank,
    LevelNormalization,
    LogMelSpectrogram,
)
