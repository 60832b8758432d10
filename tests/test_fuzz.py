"""Property-based tests (hypothesis) of the two ways in: every command's flag parser and the
configuration API (`DataOptions`, `Schedule`, `ModelConfig` through `preset_config`, `from_preset`).

Whatever value is given, the answer is either acceptance of a value of the right type within its
bounds, or one line naming the flag or field (exit status 2, or a ConfigError), with nothing
written; never a traceback or another exception type.
"""

import contextlib
import dataclasses
import importlib
import io
import math

import pytest
from absl import flags
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keras_rawaudio import cli
from keras_rawaudio.config import ModelConfig
from keras_rawaudio.data.options import DataOptions
from keras_rawaudio.errors import ConfigError, InputError
from keras_rawaudio.presets import preset_config
from keras_rawaudio.train.schedule import Schedule

COMMANDS = [
    "make_tfrecords",
    "train.__main__",
    "ablate",
    "evaluate",
    "export.__main__",
    "classify",
    "evaluate_streams",
    "explain",
    "demo",
]

# What a user or a script might pass: numbers of every size and kind, and text that is not one.
FLAG_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", " ", "1e999", "-0", "0x10", "1_000", "½", "true", "None", "1,2"]),
    st.text(max_size=6),
)
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**30), 10**30),
    st.booleans(),
    st.text(max_size=4),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


def numeric_flags(module_name):
    """(module, {flag name: absl flag}) of the command's own int and float flags."""
    module = importlib.import_module(f"keras_rawaudio.{module_name}")
    before = set(flags.FLAGS)
    module.define_flags()
    names = set(flags.FLAGS) - before
    own = {name: flags.FLAGS[name] for name in names}
    return (
        module,
        {
            name: flag
            for name, flag in own.items()
            if isinstance(flag.parser, (flags.IntegerParser, flags.FloatParser))
        },
        names,
    )


def required_arguments(names) -> list[str]:
    """A valid value of each required flag (an enum's first choice, else any text)."""
    return [
        f"--{n}={getattr(flags.FLAGS[n].parser, 'enum_values', ['x'])[0]}"
        for n in sorted(names)
        if flags.FLAGS[n].default is None and _required(n)
    ]


def _required(name) -> bool:
    return any(
        "must have a value other than None" in getattr(validator, "message", "")
        for validator in flags.FLAGS[name].validators
    )


@pytest.mark.parametrize("module_name", COMMANDS)
def test_every_numeric_flag_takes_a_bounded_finite_number_or_one_line(module_name, tmp_path):
    module, numeric, names = numeric_flags(module_name)
    stage = module_name.split(".")[0]
    required = required_arguments(names)
    parsed = {}

    def probe(argv):  # what main would be given: the parsed values
        parsed.update(cli.flag_values())
        return 0

    probe.__module__ = module.__name__
    probe.takes_positional = True

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(name=st.sampled_from(sorted(numeric)), text=FLAG_TEXT)
    def check(name, text):
        flags.FLAGS.unparse_flags()
        parsed.clear()
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            try:
                cli.run(probe, lambda: None, [stage, *required, f"--{name}={text}"])
            except SystemExit as exit:
                status = exit.code
        lines = stderr.getvalue().strip().splitlines()
        if status == 2:
            assert len(lines) == 1 and lines[0].startswith(f"{stage}: error: "), lines
            assert f"--{name}" in lines[0], lines
        else:
            assert status == 0 and not lines, (status, lines)
            value, flag = parsed[name], numeric[name]
            assert value is not None and math.isfinite(value)
            assert flag.parser.lower_bound is None or value >= flag.parser.lower_bound
            assert flag.parser.upper_bound is None or value <= flag.parser.upper_bound
        assert not list(tmp_path.iterdir())  # nothing written

    try:
        check()
    finally:
        for name in names:
            delattr(flags.FLAGS, name)


def flag_fields(cls):
    return [f.name for f in dataclasses.fields(cls) if "help" in f.metadata]


@pytest.mark.parametrize(
    "make, names",
    [
        (lambda name, value: DataOptions(**{name: value}), flag_fields(DataOptions)),
        (lambda name, value: Schedule(**{name: value}), flag_fields(Schedule)),
        (lambda name, value: preset_config("tiny", 2, **{name: value}), flag_fields(ModelConfig)),
    ],
    ids=["DataOptions", "Schedule", "ModelConfig"],
)
def test_every_configuration_field_is_checked_by_name(make, names):
    @settings(max_examples=150, deadline=None)
    @given(name=st.sampled_from(names), value=VALUES)
    def check(name, value):
        try:
            made = make(name, value)
        except InputError as error:  # ConfigError, or a cross-field check
            assert name in str(error) or "mel range" in str(error), str(error)
            return
        accepted = getattr(made, name)
        assert accepted is None or isinstance(accepted, (bool, int, float, str))
        if isinstance(accepted, float):
            assert math.isfinite(accepted)

    check()


@given(num_classes=VALUES)
@settings(max_examples=60, deadline=None)
def test_from_preset_takes_a_whole_number_of_classes_or_names_it(num_classes):
    try:
        config = preset_config("tiny", num_classes)
    except ConfigError as error:
        assert "num_classes" in str(error)
        return
    assert type(config.num_classes) is int and config.num_classes >= 1
