"""The one command-line convention of every entry point (absl flags; no TensorFlow).

Each CLI module has `define_flags()` and `main(argv) -> int`, and runs through `run`:

  * `--help` prints the module's usage and flags and exits 0;
  * a flag error (unknown, malformed, missing, out of range, a number that is nan or ±inf)
    prints one line, exit status 2;
  * `main` raising `InputError` prints one line, exit status 2; `RunError`, exit status 1;
  * output that fails (a full or read-only device, no permission) prints one line naming the
    path, exit status 1; standard output closed by its reader (`| head`) ends the command quietly
    with status 141, as SIGPIPE would;
  * Ctrl-C prints one line, exit status 130: what was finished is kept (every file is written
    atomically, `files.atomic_path`) and the same command resumes, as after a kill;
  * otherwise the exit status is what `main` returns (0: success).
"""

import dataclasses
import math
import os
import sys
import typing

from absl import app, flags

from keras_rawaudio.errors import InputError, RunError
from keras_rawaudio.files import write_failure

CLOSED_PIPE_STATUS = 141  # 128 + SIGPIPE
INTERRUPTED_STATUS = 130  # 128 + SIGINT

HELP_FLAGS = ("--help", "-help", "-h", "--helpshort", "-?", "--helpfull")


def program_name(main, argv0) -> str:
    """`train` for keras_rawaudio.train.main, also when run as `python -m`; else argv[0]'s name."""
    module = main.__module__
    if module == "__main__":
        module = getattr(sys.modules["__main__"].__spec__, "name", None) or argv0
    return (
        module.removesuffix(".__main__").removesuffix(".py").rsplit("/", 1)[-1].rsplit(".", 1)[-1]
    )


def _own_modules() -> list[str]:
    """The modules whose flags the entry point defined (absl's and TensorFlow's left out)."""
    return [
        m for m in flags.FLAGS.flags_by_module_dict() if "keras_rawaudio" in m or m == sys.argv[0]
    ]


def flag_values() -> dict:
    """{name: value} of the entry point's own flags."""
    by_module = flags.FLAGS.flags_by_module_dict()
    return {f.name: f.value for m in _own_modules() for f in by_module[m]}


def usage(main) -> str:
    """The module docstring, then the help of every flag it defined."""
    doc = (sys.modules[main.__module__].__doc__ or "").strip()
    return "\n\n".join([doc, *(flags.FLAGS.module_help(m) for m in _own_modules())]) + "\n"


def run(main, define_flags, argv=None):
    """Defines the flags, parses `argv` (default sys.argv) and exits with `main`'s status."""
    define_flags()
    argv = list(sys.argv if argv is None else argv)
    name = program_name(main, argv[0])

    def parse(arguments):
        if any(a.split("=")[0] in HELP_FLAGS for a in arguments[1:]):
            print(usage(main))
            sys.exit(0)
        try:
            remaining = flags.FLAGS(arguments)
        except flags.Error as error:
            print(f"{name}: error: {str(error).splitlines()[0]}", file=sys.stderr)
            sys.exit(2)
        infinite = next(
            (
                f"--{n}={v}"
                for n, v in flag_values().items()
                if isinstance(v, float) and not math.isfinite(v)
            ),
            None,
        )
        if infinite:  # absl's bounds let nan and ±inf through
            print(f"{name}: error: {infinite}: not a finite number", file=sys.stderr)
            sys.exit(2)
        return remaining

    def checked_main(arguments):
        if len(arguments) > 1 and not getattr(main, "takes_positional", False):
            print(
                f"{name}: error: unexpected arguments: {' '.join(arguments[1:])}", file=sys.stderr
            )
            sys.exit(2)
        sys.exit(call(main, arguments, name))

    app.run(checked_main, argv=argv, flags_parser=parse)


def call(main, argv, name) -> int:
    """`main(argv)`'s status, each failure as the module docstring says (one line on stderr)."""
    try:
        status = main(argv) or 0
        sys.stdout.flush()  # output that cannot be written fails here, not at exit
        return status
    except InputError as error:
        return fail(name, error, 2)
    except RunError as error:
        return fail(name, error, 1)
    except BrokenPipeError:
        return closed_pipe()
    except KeyboardInterrupt:
        fail(name, "interrupted: what was finished is kept; the same command resumes", 0)
        interrupted_exit()
    except (OSError, RuntimeError) as error:  # a RuntimeError: h5py's full disk
        reason = write_failure(error)
        if reason is None:
            raise
        where = getattr(error, "filename", None)
        if where is None:  # the standard output: nothing more can go there
            silence_stdout()
        return fail(name, f"{where or 'standard output'}: {reason}", 1)


def fail(name, message, status) -> int:
    try:
        print(f"{name}: error: {message}", file=sys.stderr, flush=True)
    except OSError:
        pass  # stderr itself is gone
    return status


def interrupted_exit():
    """Ends the process at once with INTERRUPTED_STATUS, as a kill would but after the line:
    the interpreter's own exit would join threads that an interrupted pool may have left
    waiting forever (concurrent.futures' manager thread), and every file is already whole."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(INTERRUPTED_STATUS)


def closed_pipe() -> int:
    """The reader of stdout went away: no more output, no message."""
    silence_stdout()
    return CLOSED_PIPE_STATUS


def silence_stdout():
    """Points stdout at /dev/null, so that the flush at exit does not fail again (Python's own
    advice for a closed pipe)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout replaced by an object without a descriptor
        pass


def check_flags_apply(table: dict, mode: str, described: str):
    """InputError naming the first flag given on the command line whose modes (`table`: flag
    name → the modes it applies to) do not include `mode` (`described` names it: "--layout=csv")."""
    for name, modes in table.items():
        if flags.FLAGS[name].present and mode not in modes:
            raise InputError(
                f"--{name} does not apply to {described} (it is for {', '.join(modes)})"
            )


def positional(main):
    """Marks a `main` that takes positional arguments (files) after the flags."""
    main.takes_positional = True
    return main


def flag_fields(cls, exclude=()) -> list:
    """The fields of dataclass `cls` that are also flags (those with a help, `config.field`)."""
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata and f.name not in exclude]


def define_field_flags(cls, defaults=None, exclude=(), preset_default=False):
    """Defines a flag for each of `flag_fields(cls, exclude)`, of the field's type, help, bounds
    and choices. Its default is the field's value in `defaults` (an instance of `cls`; None:
    the field's default), or None with `preset_default`, where a flag that is not given leaves
    the preset's value."""
    for field in flag_fields(cls, exclude):
        meta = field.metadata
        default = (
            None if preset_default else getattr(defaults, field.name) if defaults else field.default
        )
        help_text = meta["help"] + (
            f" ({cls.__name__} field; default: the preset's)" if preset_default else ""
        )
        kind = next((a for a in typing.get_args(field.type) if a is not type(None)), field.type)
        if meta["choices"]:
            flags.DEFINE_enum(field.name, default, list(meta["choices"]), help_text)
        elif kind is bool:
            flags.DEFINE_bool(field.name, default, help_text)
        elif kind is str:
            flags.DEFINE_string(field.name, default, help_text)
        else:
            define = flags.DEFINE_integer if kind is int else flags.DEFINE_float
            define(
                field.name, default, help_text, lower_bound=meta["lower"], upper_bound=meta["upper"]
            )


def field_values(cls, exclude=(), given_only=False) -> dict:
    """{name: flag value} of `flag_fields(cls, exclude)` (with `given_only`, those not None)."""
    values = {f.name: flags.FLAGS[f.name].value for f in flag_fields(cls, exclude)}
    return {k: v for k, v in values.items() if v is not None} if given_only else values
