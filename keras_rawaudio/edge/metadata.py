"""TFLite model metadata and a serving signature for an exported classifier; no TensorFlow.

MediaPipe Tasks' `AudioClassifier` loads only files that describe themselves with TFLite
Model Metadata (the public schema `metadata_schema.fbs`, file identifier "M001"): the input as
audio (sample rate, channels) and the output's class names as a TENSOR_AXIS_LABELS file packed
into the model. This module writes that metadata with the `flatbuffers` builder (a dependency
of LiteRT), adds a `serving_default` signature (input `waveform`, output `scores`), and reads
both back, so the export report and the edge runner get them from the file itself.

The associated files live in a zip archive appended to the flatbuffer, as the TFLite Support
metadata populator writes them; a LiteRT interpreter ignores the trailing bytes.

Example:

    description = ModelDescription("drums", "Drum hits from raw audio", "1", 16000, ("kick",
    "snare"))
    tagged = describe(flatbuffer_bytes, description)
    read_description(tagged) == description  # True
"""

import dataclasses
import io
import zipfile

import flatbuffers
import numpy as np
from flatbuffers import number_types

from keras_rawaudio.events import RULE_FILE, EventRule

METADATA_NAME = "TFLITE_METADATA"  # the name TFLite tools look for among the model's metadata
FILE_IDENTIFIER = b"M001"
MODEL_FILE_IDENTIFIER = b"TFL3"
MIN_PARSER_VERSION = "1.3.0"  # the schema version that added AudioProperties
SIGNATURE_KEY = "serving_default"
AUDIO_PROPERTIES = 4  # index of AudioProperties in the ContentProperties union
TENSOR_AXIS_LABELS = 2  # AssociatedFileType of a file with one label per output class
DESCRIPTIONS = 1  # AssociatedFileType of the event rule file (MediaPipe ignores it)


RULE_DESCRIPTION = (
    "How the scores become events: per-class thresholds, release (hysteresis), hold and minimum "
    "duration in seconds (JSON; keras_rawaudio.events.EventRule)."
)


class MetadataError(ValueError):
    """A file whose metadata cannot be read as a keras_rawaudio classifier's."""


@dataclasses.dataclass(frozen=True)
class ModelDescription:
    """What an exported classifier says about itself.

    Args:
        name: the model's name.
        description: one sentence on what it classifies and how its scores are meant.
        version: the model's version string.
        sample_rate: the input waveform's sample rate in Hz.
        labels: one class name per output score, in output order.
        channels: the input's channel count (mono: 1).
        input_name, output_name: tensor names in the metadata and the signature.
        labels_file: the name of the packed labels file.
        event_rule: how the scores become events (`keras_rawaudio.events.EventRule`), packed as
            the JSON file RULE_FILE beside the labels; None: the file has none.
    """

    name: str
    description: str
    version: str
    sample_rate: int
    labels: tuple
    channels: int = 1
    input_name: str = "waveform"
    output_name: str = "scores"
    labels_file: str = "labels.txt"
    event_rule: EventRule | None = None

    def __post_init__(self):
        object.__setattr__(self, "labels", tuple(self.labels))
        if self.event_rule and len(self.event_rule.thresholds) != len(self.labels):
            raise MetadataError(
                f"an event rule of {len(self.event_rule.thresholds)} thresholds for "
                f"{len(self.labels)} labels"
            )

    def signatures(self) -> dict:
        """The signature `describe` writes, as `signatures` reads it back."""
        return {SIGNATURE_KEY: {"inputs": [self.input_name], "outputs": [self.output_name]}}


# --- writing -------------------------------------------------------------------------------------


def _vector(builder, offsets):
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def _table(builder, fields):
    """Builds a table from {slot: (kind, value)}; kind is "offset", "uint32", "uint8" or "int8"."""
    builder.StartObject(max(fields) + 1)
    prepend = {
        "offset": builder.PrependUOffsetTRelativeSlot,
        "uint32": builder.PrependUint32Slot,
        "uint8": builder.PrependUint8Slot,
        "int8": builder.PrependInt8Slot,
    }
    for slot, (kind, value) in sorted(fields.items(), reverse=True):
        prepend[kind](slot, value, 0)
    return builder.EndObject()


def metadata_flatbuffer(description: ModelDescription) -> bytes:
    """The ModelMetadata flatbuffer ("M001") of `description`."""
    builder = flatbuffers.Builder(1024)
    s = builder.CreateString
    # AssociatedFile: name 0, description 1, type 2.
    labels_file = _table(
        builder,
        {
            0: ("offset", s(description.labels_file)),
            1: ("offset", s("Class names, one per line, in output order.")),
            2: ("int8", TENSOR_AXIS_LABELS),
        },
    )
    files = [labels_file]
    if description.event_rule:
        files.append(
            _table(
                builder,
                {
                    0: ("offset", s(RULE_FILE)),
                    1: ("offset", s(RULE_DESCRIPTION)),
                    2: ("int8", DESCRIPTIONS),
                },
            )
        )
    # AudioProperties: sample_rate 0, channels 1. Content: content_properties_type 0,
    # content_properties 1.
    audio = _table(
        builder, {0: ("uint32", description.sample_rate), 1: ("uint32", description.channels)}
    )
    content = _table(builder, {0: ("uint8", AUDIO_PROPERTIES), 1: ("offset", audio)})
    # TensorMetadata: name 0, description 1, dimension_names 2, content 3, ..., associated_files 6.
    waveform = _table(
        builder,
        {
            0: ("offset", s(description.input_name)),
            1: ("offset", s(f"Mono float32 waveform in [-1, 1] at {description.sample_rate} Hz.")),
            3: ("offset", content),
        },
    )
    scores = _table(
        builder,
        {
            0: ("offset", s(description.output_name)),
            1: (
                "offset",
                s("Independent per-class probabilities (sigmoid): several classes can be present."),
            ),
            6: ("offset", _vector(builder, files)),
        },
    )
    # SubGraphMetadata: name 0, description 1, input_tensor_metadata 2, output_tensor_metadata 3.
    subgraph = _table(
        builder,
        {2: ("offset", _vector(builder, [waveform])), 3: ("offset", _vector(builder, [scores]))},
    )
    # ModelMetadata: name 0, description 1, version 2, subgraph_metadata 3, ..., min_parser_version
    # 7.
    root = _table(
        builder,
        {
            0: ("offset", s(description.name)),
            1: ("offset", s(description.description)),
            2: ("offset", s(description.version)),
            3: ("offset", _vector(builder, [subgraph])),
            7: ("offset", s(MIN_PARSER_VERSION)),
        },
    )
    builder.Finish(root, file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def pack_model(model) -> bytes:
    """A .tflite file from its flatbuffer object (`schema_py_generated.ModelT`)."""
    builder = flatbuffers.Builder(1 << 16)
    builder.Finish(model.Pack(builder), file_identifier=MODEL_FILE_IDENTIFIER)
    return bytes(builder.Output())


def describe(flatbuffer: bytes, description: ModelDescription) -> bytes:
    """`flatbuffer` (a one-input, one-output TFLite model) with `description` as its metadata,
    a `serving_default` signature, and the labels file packed in."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    subgraph = model.subgraphs[0]
    if len(subgraph.inputs) != 1 or len(subgraph.outputs) != 1:
        raise MetadataError("a classifier has one input and one output tensor")
    if len(description.labels) != int(subgraph.tensors[subgraph.outputs[0]].shape[-1]):
        raise MetadataError(
            f"{len(description.labels)} labels for "
            f"{subgraph.tensors[subgraph.outputs[0]].shape[-1]} outputs"
        )
    signature = schema.SignatureDefT()
    signature.signatureKey = SIGNATURE_KEY
    signature.subgraphIndex = 0
    signature.inputs = [_tensor_map(schema, description.input_name, subgraph.inputs[0])]
    signature.outputs = [_tensor_map(schema, description.output_name, subgraph.outputs[0])]
    model.signatureDefs = [signature]

    kept = []
    for entry in model.metadata or []:
        if _text(entry.name) == METADATA_NAME:  # described before: replace it
            model.buffers[entry.buffer] = schema.BufferT()
        else:
            kept.append(entry)
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(metadata_flatbuffer(description), np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_NAME, len(model.buffers) - 1
    model.metadata = kept + [entry]

    packed = io.BytesIO(pack_model(model))
    with zipfile.ZipFile(packed, "a", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(
            description.labels_file, "".join(f"{label}\n" for label in description.labels)
        )
        if description.event_rule:
            archive.writestr(RULE_FILE, description.event_rule.to_json())
    return packed.getvalue()


def _tensor_map(schema, name, index):
    tensor_map = schema.TensorMapT()
    tensor_map.name, tensor_map.tensorIndex = name, index
    return tensor_map


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


# --- reading -------------------------------------------------------------------------------------


class _Table:
    """Read access to one table of a flatbuffer by field slot."""

    def __init__(self, table):
        self.table = table

    def _offset(self, slot):
        return self.table.Offset(4 + 2 * slot)

    def string(self, slot):
        o = self._offset(slot)
        return self.table.String(o + self.table.Pos).decode() if o else None

    def scalar(self, slot, flags):
        o = self._offset(slot)
        return self.table.Get(flags, o + self.table.Pos) if o else 0

    def child(self, slot):
        o = self._offset(slot)
        return (
            _Table(
                flatbuffers.table.Table(self.table.Bytes, self.table.Indirect(o + self.table.Pos))
            )
            if o
            else None
        )

    def children(self, slot):
        o = self._offset(slot)
        if not o:
            return []
        start = self.table.Vector(o)
        return [
            _Table(flatbuffers.table.Table(self.table.Bytes, self.table.Indirect(start + 4 * i)))
            for i in range(self.table.VectorLen(o))
        ]


def _metadata_bytes(model_bytes):
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(model_bytes, 0)
    for i in range(model.MetadataLength()):
        if model.Metadata(i).Name() == METADATA_NAME.encode():
            return model.Buffers(model.Metadata(i).Buffer()).DataAsNumpy().tobytes()
    return None


def read_description(model_bytes: bytes) -> ModelDescription | None:
    """The ModelDescription written by `describe`, or None for a file without metadata."""
    data = _metadata_bytes(model_bytes)
    if data is None:
        return None
    if not flatbuffers.util.BufferHasIdentifier(data, 0, FILE_IDENTIFIER):
        raise MetadataError("its TFLITE_METADATA is not a TFLite metadata flatbuffer")
    root = _Table(
        flatbuffers.table.Table(
            bytearray(data), flatbuffers.encode.Get(flatbuffers.packer.uoffset, data, 0)
        )
    )
    subgraphs = root.children(3)
    inputs, outputs = (
        (subgraphs[0].children(2), subgraphs[0].children(3)) if subgraphs else ([], [])
    )
    if len(inputs) != 1 or len(outputs) != 1:
        raise MetadataError("its metadata does not describe one input and one output tensor")
    content = inputs[0].child(3)
    if content is None or content.scalar(0, number_types.Uint8Flags) != AUDIO_PROPERTIES:
        raise MetadataError("its input is not described as audio")
    audio = content.child(1)
    labels_files = [
        f
        for f in outputs[0].children(6)
        if f.scalar(2, number_types.Int8Flags) == TENSOR_AXIS_LABELS
    ]
    if not labels_files:
        raise MetadataError("its output has no labels file")
    labels_file = labels_files[0].string(0)
    has_rule = any(
        f.string(0) == RULE_FILE and f.scalar(2, number_types.Int8Flags) == DESCRIPTIONS
        for f in outputs[0].children(6)
    )
    try:
        with zipfile.ZipFile(io.BytesIO(model_bytes)) as archive:
            labels = archive.read(labels_file).decode().splitlines()
            rule = archive.read(RULE_FILE).decode() if has_rule else None
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError):
        raise MetadataError(
            f"a file named in its metadata ({labels_file!r}"
            f"{f' or {RULE_FILE!r}' if has_rule else ''}) is not packed in it"
        ) from None
    event_rule = EventRule.from_json(rule, len(labels), f"its packed {RULE_FILE}") if rule else None
    return ModelDescription(
        name=root.string(0),
        description=root.string(1),
        version=root.string(2),
        sample_rate=audio.scalar(0, number_types.Uint32Flags),
        channels=audio.scalar(1, number_types.Uint32Flags),
        labels=tuple(labels),
        input_name=inputs[0].string(0),
        output_name=outputs[0].string(0),
        labels_file=labels_file,
        event_rule=event_rule,
    )


def signatures(model_bytes: bytes) -> dict:
    """{signature key: {"inputs": [names], "outputs": [names]}} of a TFLite model."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(model_bytes, 0)
    result = {}
    for i in range(model.SignatureDefsLength()):
        signature = model.SignatureDefs(i)
        result[signature.SignatureKey().decode()] = {
            "inputs": [
                signature.Inputs(j).Name().decode() for j in range(signature.InputsLength())
            ],
            "outputs": [
                signature.Outputs(j).Name().decode() for j in range(signature.OutputsLength())
            ],
        }
    return result
