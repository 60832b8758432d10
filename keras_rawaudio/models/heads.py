"""Multi-level prediction: attention heads on the last `num_heads` ResNet stages, averaged."""

from keras import layers

from keras_rawaudio.config import ModelConfig
from keras_rawaudio.models import names
from keras_rawaudio.models.layers import AttentionPooling


def attention_head(feature_map, config: ModelConfig, index):
    """One prediction level: frequency average, optional hidden layer, attention pooling."""
    height, channels = feature_map.shape[1], feature_map.shape[-1]
    x = layers.AveragePooling2D((height, 1), name=names.head(index, "frequency_mean"))(feature_map)
    x = layers.Reshape((-1, channels), name=names.head(index, "frames"))(x)
    if config.head_units:
        x = layers.Dense(config.head_units, activation="relu", name=names.head(index, "hidden"))(x)
    x = layers.Dropout(config.dropout, name=names.head(index, "dropout"))(x)
    return AttentionPooling(
        config.num_classes, config.attention_clip, name=names.head(index, "attention")
    )(x)


def multi_level_prediction(stage_outputs, config: ModelConfig):
    """Heads on the last `num_heads` stages; the clip probability is their mean, (batch, K)."""
    levels = [
        attention_head(feature_map, config, i + 1)[0]
        for i, feature_map in enumerate(stage_outputs[-config.num_heads :])
    ]
    if len(levels) == 1:
        return layers.Identity(name=names.CLIPWISE)(levels[0])
    return layers.Average(name=names.CLIPWISE)(levels)
