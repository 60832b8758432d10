import dataclasses

import numpy as np
import pytest

from keras_rawaudio.edge.metadata import (
    MetadataError,
    ModelDescription,
    describe,
    metadata_flatbuffer,
    read_description,
    signatures,
)

DESCRIPTION = ModelDescription(
    "tones", "Beeps, buzzes and hums from raw audio.", "7", 16000, ("beep", "buzz", "hum")
)


def test_described_model_reads_back_and_runs_unchanged(plain_tflite):
    from ai_edge_litert.interpreter import Interpreter

    plain_model = plain_tflite.read_bytes()
    assert read_description(plain_model) is None
    described = describe(plain_model, DESCRIPTION)
    assert read_description(described) == DESCRIPTION
    assert (
        signatures(described)
        == DESCRIPTION.signatures()
        == {"serving_default": {"inputs": ["waveform"], "outputs": ["scores"]}}
    )
    x = np.random.default_rng(1).uniform(-1, 1, (1, 16000)).astype("float32")
    before = Interpreter(model_content=plain_model)
    before.allocate_tensors()
    before.set_tensor(before.get_input_details()[0]["index"], x)
    before.invoke()
    after = Interpreter(model_content=described)
    assert after.get_signature_list() == {
        "serving_default": {"inputs": ["waveform"], "outputs": ["scores"]}
    }
    runner = after.get_signature_runner("serving_default")
    np.testing.assert_array_equal(
        runner(waveform=x)["scores"], before.get_tensor(before.get_output_details()[0]["index"])
    )
    # Describing again replaces the metadata rather than adding a second copy.
    again = describe(described, dataclasses.replace(DESCRIPTION, version="8"))
    assert read_description(again).version == "8" and len(again) < len(described) + 100


def test_metadata_follows_the_public_schema():
    """Decoded with the code that MediaPipe generated from metadata_schema.fbs."""
    from mediapipe.tasks.metadata import metadata_schema_py_generated as schema

    metadata = schema.ModelMetadata.GetRootAs(metadata_flatbuffer(DESCRIPTION), 0)
    assert (metadata.Name(), metadata.Description(), metadata.Version()) == (
        b"tones",
        DESCRIPTION.description.encode(),
        b"7",
    )
    assert metadata.MinParserVersion() == b"1.3.0"
    subgraph = metadata.SubgraphMetadata(0)
    waveform, scores = subgraph.InputTensorMetadata(0), subgraph.OutputTensorMetadata(0)
    assert waveform.Name() == b"waveform" and scores.Name() == b"scores"
    content = waveform.Content()
    assert content.ContentPropertiesType() == schema.ContentProperties.AudioProperties
    audio = schema.AudioProperties()
    audio.Init(content.ContentProperties().Bytes, content.ContentProperties().Pos)
    assert (audio.SampleRate(), audio.Channels()) == (16000, 1)
    labels = scores.AssociatedFiles(0)
    assert (labels.Name(), labels.Type()) == (
        b"labels.txt",
        schema.AssociatedFileType.TENSOR_AXIS_LABELS,
    )


def test_labels_must_match_the_outputs(plain_tflite):
    with pytest.raises(MetadataError, match="2 labels for 3 outputs"):
        describe(plain_tflite.read_bytes(), ModelDescription("x", "y", "1", 16000, ("a", "b")))
