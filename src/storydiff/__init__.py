"""storydiff: find near-duplicate texts in a corpus and show exactly how the copies differ."""

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    """`__version__` is looked up when first asked for, so that importing the package (as the
    console script does before it can handle Ctrl-C) imports nothing else."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("storydiff")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0.0.0"
    globals()["__version__"] = found
    return found
