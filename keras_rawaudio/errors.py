"""The two kinds of failure every entry point reports in one line (no TensorFlow).

`InputError`: bad input or usage (a flag, a file, a dataset); the CLI exits with status 2.
`RunError`: a runtime failure of valid input (disk full, NaN loss, a failed export check);
the CLI exits with status 1. Each module's own error classes derive from one of them;
`ConfigError` is every configuration dataclass's (`ModelConfig`, `DataOptions`, `Schedule`).
`check_choices` and `check_distinct` check a list flag's values.
"""

import collections


class InputError(ValueError):
    """Bad input or usage; the message names the flag, file or row and what is wrong."""


class ConfigError(InputError):
    """A configuration field out of its range; the message names the field and its value."""


class RunError(RuntimeError):
    """A run that could not finish; the message says what failed and what was kept."""


def check_distinct(flag, values):
    """Raises InputError if a value of --flag is given twice (it would count twice)."""
    repeated = sorted(value for value, count in collections.Counter(values).items() if count > 1)
    if repeated:
        raise InputError(f"--{flag} repeats {', '.join(map(str, repeated))}")


def check_choices(flag, values, choices, kind):
    """Raises InputError unless `values` of --flag are distinct `choices`, at least one; `kind`
    names them in the message ('runs', 'modes')."""
    unknown = sorted(set(values) - set(choices))
    if unknown or not values:
        raise InputError(
            f"--{flag}: unknown {kind} {unknown or 'none given'}; choose from {', '.join(choices)}"
        )
    check_distinct(flag, values)
