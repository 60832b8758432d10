"""Classifies audio with an exported .tflite file, without TensorFlow: `python -m
keras_rawaudio.classify`.

This script is the same command for a checkout (a Raspberry Pi needs only the base install,
`pip install keras-rawaudio`, no TensorFlow); `--help` lists the flags.
"""

import pathlib
import sys

sys.path.insert(
    0, str(pathlib.Path(__file__).resolve().parents[1])
)  # this checkout's package first

from keras_rawaudio.classify import entry  # noqa: E402

if __name__ == "__main__":  # decode workers re-import this file
    entry()
