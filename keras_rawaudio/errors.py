"""The two kinds of failure every entry point reports in one line (no TensorFlow).

`InputError`: bad input or usage (a flag, a file, a dataset); the CLI exits with status 2.
`RunError`: a runtime failure of valid input (disk full, NaN loss, a failed export check);
the CLI exits with status 1. Each module's own error classes derive from one of them.
"""


class InputError(ValueError):
    """Bad input or usage; the message names the flag, file or row and what is wrong."""


class RunError(RuntimeError):
    """A run that could not finish; the message says what failed and what was kept."""
