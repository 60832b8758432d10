"""The raw model's front-ends: waveform → (batch, T, C) non-negative frames, a learned
replacement for the FFT.

Each front-end is one module here that defines `FRONTEND`, a `Frontend`, and one line of
`keras_rawaudio.config.FRONTENDS` (its name → its module), which `ModelConfig` validates
against without importing Keras. `get(name)` loads it.
"""

import dataclasses
import importlib
from collections.abc import Callable

from keras_rawaudio.config import FRONTENDS
from keras_rawaudio.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Frontend:
    """What builds a front-end, and what the rest of the package needs to know of it.

    Args:
        build: (waveform (batch, samples), ModelConfig) → (batch, T, C) non-negative frames,
            before compression; its layers' names start with 'frontend_'.
        output_layer: ModelConfig → the name of the layer whose output `build` returns.
        filter_taps: model → (taps, C) real or complex taps of the first learned filters,
            whose magnitude response `explain` draws.
        filters_are_channels: whether filter c of `filter_taps` is output channel c (else the
            filters are a first layer that the next ones mix).
        filter_title: ModelConfig → what `explain` calls those filters.
        compression_gain: `LogCompression`'s initial gain on the frames (see each module).
        float_in_int8: the frames span more than 8 bits hold, so an int8 file keeps the front-end
            and what reads it in float32 (`keras_rawaudio.export.quantize.float_layers`).
    """

    build: Callable
    output_layer: Callable
    filter_taps: Callable
    filters_are_channels: bool
    filter_title: Callable
    compression_gain: float
    float_in_int8: bool


def get(name: str) -> Frontend:
    """The `Frontend` registered as `name` in `config.FRONTENDS`."""
    if name not in FRONTENDS:
        raise ConfigError(f"unknown front-end {name!r}; choose one of {', '.join(FRONTENDS)}")
    return importlib.import_module(FRONTENDS[name]).FRONTEND
