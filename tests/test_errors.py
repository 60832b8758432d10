"""Every error a user can cause maps to the CLI's exit status 2, every runtime failure to 1."""

import pytest

from keras_rawaudio.audio_io import AudioError
from keras_rawaudio.data import DataError
from keras_rawaudio.data.writer import WriteError
from keras_rawaudio.edge import EdgeModelError
from keras_rawaudio.errors import InputError, RunError, check_choices, check_distinct
from keras_rawaudio.export import ExportError
from keras_rawaudio.layouts import LayoutError
from keras_rawaudio.train import TrainingError
from keras_rawaudio.train.run_directory import EvaluationError


@pytest.mark.parametrize(
    "error",
    [
        AudioError,
        DataError,
        EdgeModelError,
        EvaluationError,
        LayoutError,
        WriteError,
        TrainingError,
    ],
)
def test_bad_input_errors_are_input_errors(error):
    assert (
        issubclass(error, InputError)
        and issubclass(error, ValueError)
        and not issubclass(error, RunError)
    )


def test_a_failed_export_is_a_run_error():
    assert issubclass(ExportError, RunError) and not issubclass(ExportError, InputError)


@pytest.mark.parametrize(
    "values, message",
    [
        (("b", "c"), r"^--x: unknown kinds \['c'\]; choose from a, b$"),
        ((), r"^--x: unknown kinds none given; choose from a, b$"),
        (("b", "a", "b"), r"^--x repeats b$"),
    ],
)
def test_check_choices_names_the_flag_and_the_values(values, message):
    with pytest.raises(InputError, match=message):
        check_choices("x", values, ("a", "b"), "kinds")
    check_choices("x", ("b", "a"), ("a", "b"), "kinds")  # distinct choices pass


def test_check_distinct_names_each_repeated_value_once():
    with pytest.raises(InputError, match=r"^--seeds repeats 2, 10$"):
        check_distinct("seeds", (10, 2, 10, 2, 10, 3))
    check_distinct("seeds", (0, 1, 2))
