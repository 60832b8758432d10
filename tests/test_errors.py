"""Every error a user can cause maps to the CLI's exit status 2, every runtime failure to 1."""

import pytest

from keras_rawaudio.audio_io import AudioError
from keras_rawaudio.data import DataError
from keras_rawaudio.edge import EdgeModelError
from keras_rawaudio.errors import InputError, RunError
from keras_rawaudio.evaluate import EvaluationError
from keras_rawaudio.export import ExportError
from keras_rawaudio.layouts import LayoutError
from keras_rawaudio.tfrecord_writer import WriteError
from keras_rawaudio.train import TrainingError


@pytest.mark.parametrize("error", [AudioError, DataError, EdgeModelError, EvaluationError, LayoutError, WriteError,
                                   TrainingError])
def test_bad_input_errors_are_input_errors(error):
    assert issubclass(error, InputError) and issubclass(error, ValueError) and not issubclass(error, RunError)


def test_a_failed_export_is_a_run_error():
    assert issubclass(ExportError, RunError) and not issubclass(ExportError, InputError)
