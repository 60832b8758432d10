"""Running an exported `.tflite` classifier with ai-edge-litert: NumPy only, no TensorFlow.

Shared by export checks, benchmarks and `keras_rawaudio.classify` (which runs on a Raspberry Pi).

Example:

    runner = EdgeClassifier("tflite/model_int8.tflite")
    scores = runner.predict(windows)  # (n, runner.window_samples) float32 → (n, classes)
    runner.labels  # the class names packed in the file by the export (None in a file without
    metadata)
"""

import functools
import pathlib
import re

import numpy as np

from keras_rawaudio.edge.metadata import MetadataError, read_description, signatures
from keras_rawaudio.errors import InputError
from keras_rawaudio.events import EventRule, EventRuleError
from keras_rawaudio.inputs import check_finite


def in_layers(tensor_name: str, layers) -> bool:
    """Whether a converted tensor (named 'model/<layer>_1/op', fused ones joined by ';') is the
    output of an op of one of the Keras `layers`."""
    return any(
        re.search(rf"/{re.escape(layer)}(_\d+)?/", part)
        for part in tensor_name.split(";")
        for layer in layers
    )


PCM16_SCALE = 1.0 / 32768  # int16 PCM sample → [-1, 1)


class EdgeModelError(InputError):
    """A .tflite file that is not a keras_rawaudio classifier, or does not match its labels."""


class EdgeClassifier:
    """A fixed-window waveform classifier in a .tflite file.

    predict(windows (n, window_samples) float32 in [-1, 1], or int16 PCM) → (n, num_classes)
    probabilities. Float, int8 and int16 input/output tensors are all handled (scale and zero
    point applied), so an int8_pcm16 file takes the same float windows as the others.
    `description` is the file's metadata (`keras_rawaudio.edge.metadata.ModelDescription`),
    None in a file without it.
    """

    def __init__(self, path, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.path = str(path)
        try:
            self.interpreter = Interpreter(model_path=self.path, num_threads=num_threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise EdgeModelError(
                f"{path} is not a loadable .tflite file ({str(error).splitlines()[0][:100]})"
            ) from None
        inputs, outputs = (
            self.interpreter.get_input_details(),
            self.interpreter.get_output_details(),
        )
        if (
            len(inputs) != 1
            or len(outputs) != 1
            or len(inputs[0]["shape"]) != 2
            or len(outputs[0]["shape"]) != 2
        ):
            raise EdgeModelError(
                f"{path} is not a keras_rawaudio classifier (one (1, samples) input, one (1, "
                f"classes) output)"
            )
        self.input, self.output = inputs[0], outputs[0]
        self.window_samples = int(self.input["shape"][1])
        self.num_classes = int(self.output["shape"][1])
        data = pathlib.Path(path).read_bytes()
        self.signatures = signatures(data)  # {key: {"inputs": [...], "outputs": [...]}}
        try:
            self.description = read_description(data)
        except (MetadataError, EventRuleError) as error:
            raise EdgeModelError(f"{path}: {error}") from None
        if self.description and len(self.description.labels) != self.num_classes:
            raise EdgeModelError(
                f"{path}: its metadata names {len(self.description.labels)} labels for "
                f"{self.num_classes} outputs"
            )

    @property
    def labels(self) -> list[str] | None:
        """The class names in the file's metadata, in output order (None without metadata)."""
        return list(self.description.labels) if self.description else None

    @property
    def event_rule(self) -> EventRule | None:
        """How the file's scores become events (its packed event_rule.json), None without it."""
        return self.description.event_rule if self.description else None

    @functools.cached_property
    def _operators(self):
        """(op name, output dtypes, output names) of every operator as written in the file, before
        any delegate."""
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        plain = Interpreter(
            self.path,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        tensors = {t["index"]: t for t in plain.get_tensor_details()}
        return [
            (
                op["op_name"],
                [tensors[i]["dtype"] for i in op["outputs"]],
                [tensors[i]["name"] for i in op["outputs"]],
            )
            for op in plain._get_ops_details()
        ]

    def ops(self) -> list[str]:
        """The sorted set of operator names in the file."""
        return sorted({name for name, _, _ in self._operators})

    def float_ops(self, float_layers=()) -> list[str]:
        """Operators that compute in float32, other than DEQUANTIZEs and the ops of the Keras
        layers `float_layers` (which an int8 export keeps in float on purpose)."""
        return sorted(
            {
                name
                for name, dtypes, outputs in self._operators
                if name != "DEQUANTIZE"
                and np.float32 in dtypes
                and not all(in_layers(o, float_layers) for o in outputs)
            }
        )

    def _quantize(self, x, details):
        scale, zero = details["quantization"]
        if details["dtype"] == np.float32 or scale == 0:
            return x.astype(details["dtype"])
        info = np.iinfo(details["dtype"])
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(details["dtype"])

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """(..., window_samples) float in [-1, 1] or int16 PCM → (n, num_classes) probabilities."""
        windows = np.asarray(windows)
        if windows.ndim == 0 or windows.shape[-1] != self.window_samples:
            raise InputError(
                f"{self.path} takes windows of {self.window_samples} samples; got an array of "
                f"shape "
                f"{windows.shape}"
            )
        if windows.dtype == np.int16:
            windows = windows * np.float32(
                PCM16_SCALE
            )  # exact: the int16 input file gets the samples back
        windows = windows.astype(np.float32).reshape(-1, self.window_samples)
        check_finite(windows)
        scores = np.empty((len(windows), self.num_classes), np.float32)
        scale, zero = self.output["quantization"]
        for i, window in enumerate(windows):
            self.interpreter.set_tensor(
                self.input["index"], self._quantize(window[None], self.input)
            )
            self.interpreter.invoke()
            raw = self.interpreter.get_tensor(self.output["index"])[0]
            scores[i] = (
                (raw.astype(np.float32) - zero) * scale
                if self.output["dtype"] != np.float32
                else raw
            )
        return scores
