"""Residual blocks and stages from `Stage` rows, 1D (the CNN front-end) or 2D (the back-end),
and the 2D ResNet over the image.

Shapes: image (batch, C, T, 1), i.e. NHWC with the learned channels as the height
("frequency") axis and time as the width.
"""

from keras import layers

from keras_rawaudio.config import ModelConfig, Stage
from keras_rawaudio.models import names


def conv_bn(x, filters, kernel, stride, name, momentum, relu=True):
    """Conv (1D or 2D, by the rank of `x`) → BatchNorm → optional ReLU; 'same' padding."""
    conv_name, bn_name, relu_name = names.conv_bn_layers(name)
    conv = layers.Conv1D if len(x.shape) == 3 else layers.Conv2D
    x = conv(filters, kernel, strides=stride, padding="same", use_bias=False, name=conv_name)(x)
    x = layers.BatchNormalization(momentum=momentum, name=bn_name)(x)
    return layers.ReLU(name=relu_name)(x) if relu else x


def separable_conv_bn(x, filters, kernel, stride, name, momentum, relu=True):
    """Depthwise conv → BatchNorm → ReLU → 1×1 conv → BatchNorm → optional ReLU (MobileNet's
    factorisation of `conv_bn`), 1D or 2D by the rank of `x`; 'same' padding."""
    depthwise = layers.DepthwiseConv1D if len(x.shape) == 3 else layers.DepthwiseConv2D
    x = depthwise(kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_depthwise")(
        x
    )
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
        x = residual_block(
            x,
            stage.filters,
            stage.kernel,
            stride,
            f"{name}_block{block + 1}",
            momentum,
            stage.separable,
        )
    return x


def resnet(image, config: ModelConfig):
    """2D ResNet over the image; returns every stage's output, (batch, F_s, T_s, filters_s)."""
    momentum = config.batch_norm_momentum
    x = conv_bn(image, config.resnet_stem_filters, 3, 1, names.RESNET_STEM, momentum)
    outputs = []
    for i, stage in enumerate(config.resnet_stages):
        x = residual_stage(x, stage, f"resnet_stage{i + 1}", momentum)
        outputs.append(x)
    return outputs
