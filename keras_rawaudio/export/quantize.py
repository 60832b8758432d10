"""The int8 policy: which layers stay float32, each activation's calibrated range, and the
quantised flatbuffer.

Layers an int8 file keeps in float32, for a front-end whose `Frontend.float_in_int8` says its
output spans more than 8 bits hold (the Gabor bank; the CNN's file is full-integer):
* the front-end and the image layers after it, up to and including the 2D stem convolution
  (one input channel, the image): LiteRT's int8 kernel for that convolution ran 8.5x slower than
  the float32 one (0.31 against 0.037 ms at 64 x 100; docs/benchmarks/latency.md), a third of
  the whole int8 file's time;
* the attention heads: an int8 softmax over time and sigmoid scores of 256 levels, which tie in
  a ranking. In float32 they cost no measurable time and halved the int8 file's mean score error
  on five drums16k models (docs/benchmarks/export.md).
"""

import warnings

import numpy as np

from keras_rawaudio.edge import in_layers
from keras_rawaudio.edge.metadata import pack_model
from keras_rawaudio.models import frontends, names

# The central percentage of its calibration values that an int8 activation range covers
# (`activation_range`). A full-integer file (the CNN front-end) quantises the front-end's
# heavy-tailed activations (max ≈ 50× std), where 99.99 % ranges kept every model's mAP and
# min/max ranges did not; after the Gabor model's float32 front-end, clipping cost more than it
# saved: min/max ranges had the smallest score errors on five drums16k models
# (docs/benchmarks/export.md).
FULL_INTEGER_PERCENTILE = 99.99
FLOAT_FRONTEND_PERCENTILE = 100.0
# The layers around a float front-end (whose own layers, its compression too, are named
# frontend_*), up to the ResNet's first stage.
FLOAT_IMAGE_LAYERS = (
    names.LEVEL_NORMALIZATION,
    names.BAND_NORMALIZATION,
    names.TO_IMAGE_TRANSPOSE,
    names.TO_IMAGE,
    *names.conv_bn_layers(names.RESNET_STEM),
)


def float_layers(model) -> tuple[str, ...]:
    """Names of the layers of `model` that its int8 file keeps in float32 (see the module
    docstring); none for a model other than a keras_rawaudio classifier (the benchmark's
    YAMNet reference)."""
    if not getattr(model, "learns_frontend", False):
        return ()
    config = model.config
    if not frontends.get(config.frontend).float_in_int8:
        return ()
    frontend = tuple(layer.name for layer in model.layers if layer.name.startswith("frontend_"))
    heads = tuple(
        names.head(i + 1, part) for i in range(config.num_heads) for part in names.HEAD_PARTS
    )
    return frontend + FLOAT_IMAGE_LAYERS + heads + (names.CLIPWISE,)


def default_percentile(model) -> float:
    """The central percentage of calibration values that `model`'s int8 ranges cover by default:
    `FULL_INTEGER_PERCENTILE` for a full-integer file, `FLOAT_FRONTEND_PERCENTILE` after a float
    front-end (see their comment)."""
    return FLOAT_FRONTEND_PERCENTILE if float_layers(model) else FULL_INTEGER_PERCENTILE


def activation_range(values, low, high, percentile):
    """Quantisation range (low, high) of one activation tensor from sampled calibration `values`.

    Keeps the central `percentile` % of the values (the lower bound stays at `low` for a
    non-negative tensor such as a ReLU output); 100 keeps the observed [low, high], and so
    does a percentile range of width 0 (a mostly-zero ReLU output), which no kernel can use.
    """
    if percentile >= 100:
        return float(low), float(high)
    central_low = np.percentile(values, 100 - percentile) if low < 0 else low
    central_high = np.percentile(values, percentile)
    if central_high <= central_low:
        return float(low), float(high)
    return float(central_low), float(central_high)


def float_nodes(flatbuffer, layers) -> set:
    """Names of the ops (their output tensors, as the quantizer names them) of Keras `layers`."""
    subgraph = flatbuffer.subgraphs[0]
    names = {
        subgraph.tensors[output].name.decode() for op in subgraph.operators for output in op.outputs
    }
    return {name for name in names if in_layers(name, layers)}


def quantize_int8(converter, calibration, percentile, float_layers=(), samples_per_window=2048):
    """Integer int8 flatbuffer (float32 input and output tensors), calibrated on `calibration`.

    The ops of `float_layers` (Keras layer names) stay float32; every other op is int8.

    TFLite's calibrator sets every activation range to the min/max seen, and audio activations
    are heavy-tailed (max ≈ 50× std): a few loud frames of the calibration set would decide
    the resolution of every tensor. So the range of each tensor is set by `activation_range`
    over values sampled from all calibration windows, then the model is quantised with the
    same calibrate-then-quantise steps as tf.lite's QuantizationDebugger.
    """
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter
    from tensorflow.lite.python import convert as lite_convert
    from tensorflow.lite.tools import flatbuffer_utils

    converter.representative_dataset = lambda: ([w[None]] for w in calibration)
    converter.experimental_mlir_quantizer = True
    converter._experimental_calibrate_only = True  # float model with min/max per tensor
    with warnings.catch_warnings():
        # Calibration asks for input statistics that a float input does not use, and keeping
        # every tensor is "for debugging purposes only": here it is the point.
        warnings.simplefilter("ignore", UserWarning)
        calibrated = converter.convert()
        interpreter = Interpreter(
            model_content=bytes(calibrated), experimental_preserve_all_tensors=True
        )
    flatbuffer = flatbuffer_utils.convert_bytearray_to_object(bytearray(calibrated))
    tensors = flatbuffer.subgraphs[0].tensors
    ranged = [
        i
        for i, t in enumerate(tensors)
        if t.quantization is not None
        and t.quantization.min is not None
        and len(t.quantization.min) == 1
    ]
    interpreter.allocate_tensors()
    waveform = interpreter.get_input_details()[0]["index"]
    rng = np.random.default_rng(0)
    samples = {i: [] for i in ranged}
    for window in calibration:
        interpreter.set_tensor(waveform, window[None])
        interpreter.invoke()
        for i in ranged:
            values = interpreter.get_tensor(i).ravel()
            samples[i].append(
                values
                if values.size <= samples_per_window
                else rng.choice(values, samples_per_window)
            )
    for i in ranged:
        q = tensors[i].quantization
        q.min[0], q.max[0] = activation_range(
            np.concatenate(samples[i]), q.min[0], q.max[0], percentile
        )
    waveform_range = tensors[flatbuffer.subgraphs[0].inputs[0]].quantization
    waveform_range.min, waveform_range.max = (
        [-1.0],
        [1.0],
    )  # audio's full scale: loud input is never clipped
    ranged_model = bytes(flatbuffer_utils.convert_object_to_bytearray(flatbuffer))
    return lite_convert.mlir_quantize(
        ranged_model,
        input_data_type=tf.float32,
        output_data_type=tf.float32,
        denylisted_nodes=float_nodes(flatbuffer, float_layers) or None,
    )


def float_weights(flatbuffer: bytes, float32: bytes, layers) -> bytes:
    """`flatbuffer` (a dynamic-range file) with the weights of Keras `layers` back in float32,
    as they are in `float32` (the float32 file of the same model).

    Weight-only int8 loses what int8 activations lose: a Gabor filter's int8 taps keep about
    48 dB of its envelope, and a drums16k model's validation mAP fell from 0.780 to 0.725.
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    reference = schema.ModelT.InitFromPackedBuf(bytearray(float32), 0)
    originals = {
        t.name: t
        for t in reference.subgraphs[0].tensors
        if t.type == schema.TensorType.FLOAT32 and t.buffer
    }
    for tensor in model.subgraphs[0].tensors:
        original = originals.get(tensor.name)
        if (
            original is not None
            and tensor.type == schema.TensorType.INT8
            and in_layers(tensor.name.decode(), layers)
        ):
            tensor.type, tensor.quantization = schema.TensorType.FLOAT32, None
            model.buffers[tensor.buffer].data = reference.buffers[original.buffer].data
    return pack_model(model)
