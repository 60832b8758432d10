"""Names a package exports without importing their modules until first use (no TensorFlow)."""

import importlib


def lazy_attributes(package: str, table: dict, namespace: dict):
    """A module `__getattr__` for `package`: `name` of `table` is imported from the submodule
    `package.<table[name]>` the first time it is used, then kept in `namespace` (the package's
    globals()).

    Example (in a package's `__init__.py`): `__getattr__ = lazy_attributes(__name__, {"Model":
    "models"}, globals())`.
    """

    def __getattr__(name):
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{table[name]}"), name)
        namespace[name] = value
        return value

    return __getattr__
