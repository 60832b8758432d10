"""The one command-line convention: exit 0, 1 or 2, one line per error, --help."""

import subprocess
import sys

import pytest

from conftest import ROOT

PROGRAM = """'''Doubles a number.'''
import sys
from absl import flags
from keras_rawaudio import cli
from keras_rawaudio.errors import InputError, RunError

def define_flags():
    flags.DEFINE_integer("number", None, "The number.", required=True, lower_bound=0)
    flags.DEFINE_float("scale", 2.0, "The factor.", lower_bound=0)

def main(argv):
    if flags.FLAGS.number == 7:
        raise InputError("--number 7 is unlucky")
    if flags.FLAGS.number == 8:
        raise RunError("disk full while writing 8")
    print(round(flags.FLAGS.scale * flags.FLAGS.number))
    return 0

cli.run(main, define_flags, ["double", *sys.argv[1:]])
"""


@pytest.mark.parametrize(
    "args, status, stdout, stderr",
    [
        (["--number=21"], 0, "42", ""),
        (["--number=7"], 2, "", "double: error: --number 7 is unlucky"),
        (["--number=8"], 1, "", "double: error: disk full while writing 8"),
        (
            ["--number=-1"],
            2,
            "",
            "double: error: flag --number=-1: -1 is not a non-negative integer",
        ),
        (
            [],
            2,
            "",
            "double: error: flag --number=None: Flag --number must have a value other than None.",
        ),
        (
            ["--numbr=1"],
            2,
            "",
            "double: error: Unknown command line flag 'numbr'. Did you mean: number ?",
        ),
        (["--number=1", "extra"], 2, "", "double: error: unexpected arguments: extra"),
        (["--number=1", "--scale=3"], 0, "3", ""),
        (["--number=1", "--scale=nan"], 2, "", "double: error: --scale=nan: not a finite number"),
        (["--number=1", "--scale=inf"], 2, "", "double: error: --scale=inf: not a finite number"),
    ],
)
def test_exit_status_and_one_line(args, status, stdout, stderr):
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert (result.returncode, result.stdout.strip(), result.stderr.strip()) == (
        status,
        stdout,
        stderr,
    )


def test_help_prints_the_docstring_and_flags_and_exits_0():
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0
    assert (
        result.stdout.startswith("Doubles a number.") and "--number: The number." in result.stdout
    )


def test_a_script_is_named_by_its_file(tmp_path):
    script = tmp_path / "double_it.py"
    script.write_text(PROGRAM.replace('["double", *sys.argv[1:]]', "sys.argv"))
    result = subprocess.run(
        [sys.executable, str(script), "--number=7"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert (result.returncode, result.stderr.strip()) == (
        2,
        "double_it: error: --number 7 is unlucky",
    )
