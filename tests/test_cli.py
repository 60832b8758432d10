"""The one command-line convention: exit 0, 1 or 2, one line per error, --help."""

import re
import subprocess
import sys

import pytest

from conftest import ROOT

PROGRAM = """'''Doubles a number.'''
import sys
from absl import flags
from keras_rawaudio import cli
from keras_rawaudio.errors import InputError, RunError
from keras_rawaudio.files import write_atomic

def define_flags():
    flags.DEFINE_integer("number", None, "The number.", required=True, lower_bound=0)
    flags.DEFINE_float("scale", 2.0, "The factor.", lower_bound=0)

def main(argv):
    if flags.FLAGS.number == 7:
        raise InputError("--number 7 is unlucky")
    if flags.FLAGS.number == 8:
        raise RunError("disk full while writing 8")
    if flags.FLAGS.number == 9:  # where even root cannot write
        write_atomic("/sys/kernel/report.csv", "9")
    if flags.FLAGS.number == 10:
        raise KeyboardInterrupt
    if flags.FLAGS.number == 11:
        for n in range(200000):
            print(n)
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
        (
            ["--number=10"],
            130,
            "",
            "double: error: interrupted: what was finished is kept; the same command resumes",
        ),
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


def test_an_output_that_fails_is_one_line_naming_it_status_1():
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, "--number=9"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert re.fullmatch(r"double: error: /sys/kernel/report.csv: [A-Za-z -]+\n", result.stderr)


def test_a_full_standard_output_is_one_line_status_1():
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-c", PROGRAM, "--number=21"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert (result.returncode, result.stderr) == (
        1,
        "double: error: standard output: No space left on device\n",
    )


def test_a_closed_pipe_ends_quietly_with_sigpipes_status():
    process = subprocess.Popen(
        [sys.executable, "-c", PROGRAM, "--number=11"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.read(1) == "0"
    process.stdout.close()  # as `| head -c1` does
    assert process.wait(timeout=60) == 141
    assert process.stderr.read() == ""
