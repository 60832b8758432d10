"""`run_layer_test`: what every layer of the package must do, checked one way for all of them
(as keras-hub's `TestCase.run_layer_test` does for its layers)."""

import keras
import numpy as np
import tensorflow as tf


def _first(outputs):
    return outputs[0] if isinstance(outputs, (tuple, list)) else outputs


def run_layer_test(layer_class, init_kwargs, input_data, tmp_path, atol=1e-4):
    """Checks a layer of `layer_class(**init_kwargs)` on `input_data` (a float32 batch):

    * its config round-trips (`from_config(get_config())` has the same config);
    * the symbolic output shape equals the eager one (batch left free);
    * inside a model, it saves to `.keras` and loads with plain `keras.saving.load_model`
      (no `custom_objects`), computing the same outputs;
    * that model converts to TFLite with builtin ops only, and LiteRT computes the same outputs.
    Returns the eager outputs.
    """
    from ai_edge_litert.interpreter import Interpreter

    layer = layer_class(**init_kwargs)
    assert layer_class.from_config(layer.get_config()).get_config() == layer.get_config()

    inputs = keras.Input(input_data.shape[1:], batch_size=1)
    symbolic = layer(inputs)
    eager = layer(input_data)
    for s, e in zip(keras.tree.flatten(symbolic), keras.tree.flatten(eager)):
        assert tuple(s.shape[1:]) == tuple(e.shape[1:]), (s.shape, e.shape)

    model = keras.Model(inputs, _first(symbolic))
    path = tmp_path / f"{layer_class.__name__}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    expected = np.asarray(model.predict(input_data[:1], verbose=0))
    np.testing.assert_allclose(
        np.asarray(loaded.predict(input_data[:1], verbose=0)), expected, atol=1e-6
    )

    function = tf.function(
        lambda x: model(x, training=False),
        input_signature=[tf.TensorSpec([1, *input_data.shape[1:]], tf.float32)],
    )
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = Interpreter(model_content=converter.convert())
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], input_data[:1])
    interpreter.invoke()
    lite = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(lite, expected, atol=atol, rtol=1e-4)
    return eager
