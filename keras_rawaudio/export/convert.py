"""Keras model → TFLite flatbuffer, builtin ops only, with a fixed (1, window) input."""

from keras_rawaudio.edge import PCM16_SCALE
from keras_rawaudio.edge.metadata import pack_model
from keras_rawaudio.errors import RunError
from keras_rawaudio.export.quantize import (
    default_percentile,
    float_layers,
    float_weights,
    quantize_int8,
)

MODES = ("float32", "float16", "dynamic", "int8", "int8_pcm16")
INTEGER_MODES = ("int8", "int8_pcm16")


class ExportError(RunError):
    """An export that cannot be made or fails its checks; the message says which and why."""


def fixed_window_model(model, window_samples):
    """A copy of `model` with a fixed (batch, window_samples) input, sharing its weights' values."""
    fixed = type(model)(model.config.replace(input_samples=window_samples))
    fixed.set_weights(model.get_weights())
    return fixed


def convert(model, mode, calibration=None, percentile=None, converted=None) -> bytes:
    """TFLite flatbuffer of a fixed-input waveform model (batch 1) in `mode`; builtin ops only.

    calibration: (n, window) float32 windows, for the integer modes. percentile: see
    `activation_range` (None: `default_percentile(model)`). converted: a dict kept across the
    calls for one model, so that int8 and int8_pcm16 (the int8 file with an int16 PCM input,
    `pcm16_input`) are calibrated once.
    """
    converted = {} if converted is None else converted
    percentile = default_percentile(model) if percentile is None else percentile
    if mode == "int8_pcm16":
        return pcm16_input(convert(model, "int8", calibration, percentile, converted))
    if mode in converted:
        return converted[mode]
    import tensorflow as tf

    window = model.input_shape[1]
    signature = [tf.TensorSpec([1, window], tf.float32, name="waveform")]
    function = tf.function(
        lambda waveform: model(waveform, training=False), input_signature=signature
    )
    # Without a trackable object the converter freezes the weights into constants. With one
    # (TF 2.21, Keras 3) every weight stays an uninitialised resource variable: NaN outputs.
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    try:
        if mode == "int8":
            converted[mode] = quantize_int8(converter, calibration, percentile, float_layers(model))
        elif mode == "dynamic" and float_layers(model):
            converted[mode] = float_weights(
                converter.convert(),
                convert(model, "float32", converted=converted),
                float_layers(model),
            )
        else:
            converted[mode] = converter.convert()
    except Exception as error:  # noqa: BLE001 - the converter raises many types
        first = (
            str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        )
        raise ExportError(
            f"{mode}: the converter needs ops outside the TFLite builtins ({first})"
        ) from None
    return converted[mode]


def pcm16_input(flatbuffer: bytes) -> bytes:
    """`flatbuffer` with its float32 waveform input replaced by an int16 PCM input.

    The new input (`PCM16_SCALE`, zero point 0: what Android's AudioRecord and ALSA deliver)
    feeds one DEQUANTIZE whose float32 output is the old input, so every 16-bit sample reaches
    the model exactly; there is no 8-bit step on the waveform before the float front-end.
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    subgraph = model.subgraphs[0]
    waveform = subgraph.tensors[subgraph.inputs[0]]
    if waveform.type != schema.TensorType.FLOAT32:
        raise ExportError("int8_pcm16: the int8 file's input is not float32")
    pcm = schema.TensorT()
    pcm.name, pcm.shape, pcm.type, pcm.buffer = b"pcm16", waveform.shape, schema.TensorType.INT16, 0
    pcm.quantization = schema.QuantizationParametersT()
    pcm.quantization.scale, pcm.quantization.zeroPoint = [PCM16_SCALE], [0]
    subgraph.tensors.append(pcm)
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.DEQUANTIZE
    code.version = 3  # DEQUANTIZE of int16
    model.operatorCodes.append(code)
    dequantize = schema.OperatorT()
    dequantize.opcodeIndex, dequantize.inputs, dequantize.outputs = (
        len(model.operatorCodes) - 1,
        [len(subgraph.tensors) - 1],
        [subgraph.inputs[0]],
    )
    subgraph.operators.insert(0, dequantize)
    subgraph.inputs = [len(subgraph.tensors) - 1]
    return pack_model(model)
