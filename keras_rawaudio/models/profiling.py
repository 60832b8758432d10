"""Model cost: parameters and multiply-accumulates (MACs) per second of audio."""

import keras
import numpy as np

# Layers counted by their kernels; other layers count through a `multiply_accumulates` method.
DEPTHWISE = (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)
CONVOLUTIONS = (keras.layers.Conv1D, keras.layers.Conv2D)
COUNTED = DEPTHWISE + CONVOLUTIONS + (keras.layers.Dense,)


def _layer_macs(layer, input_shape, output_shape) -> int:
    if hasattr(layer, "multiply_accumulates"):
        return layer.multiply_accumulates(input_shape)
    if isinstance(layer, DEPTHWISE):
        return int(np.prod(output_shape[1:])) * int(
            np.prod(layer.kernel_size)
        )  # one filter per channel
    if isinstance(layer, CONVOLUTIONS):
        kernel = int(np.prod(layer.kernel_size)) * input_shape[-1] // layer.groups
        return int(np.prod(output_shape[1:])) * kernel
    if isinstance(layer, keras.layers.Dense):
        return int(np.prod(output_shape[1:])) * input_shape[-1]
    return 0


def macs_per_second(model, seconds: float = 1.0) -> float:
    """Multiply-accumulates per second of audio of one forward pass (batch 1).

    Counts convolutions (depthwise too), dense layers and layers with a `multiply_accumulates`
    method;
    BatchNorm (folded at inference), activations and pooling are not counted. A model with a
    fixed input length is measured on that length.
    """
    samples = model.config.input_samples or int(round(seconds * model.config.sample_rate))
    counted = [
        layer
        for layer in model.layers
        if hasattr(layer, "multiply_accumulates") or isinstance(layer, COUNTED)
    ]
    outputs = [layer.output for layer in counted]
    outputs = [out[0] if isinstance(out, (tuple, list)) else out for out in outputs]
    probe = keras.Model(model.input, [[layer.input for layer in counted], outputs])
    inputs, results = probe(np.zeros((1, samples), np.float32))
    total = sum(
        _layer_macs(layer, i.shape, o.shape) for layer, i, o in zip(counted, inputs, results)
    )
    return total * model.config.sample_rate / samples


def model_summary(model) -> dict:
    """Parameters and MACs per second of audio of `model`."""
    return {"parameters": int(model.count_params()), "macs_per_second": macs_per_second(model)}
