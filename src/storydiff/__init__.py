"""storydiff: find near-duplicate texts in a corpus and show exactly how the copies differ."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("storydiff")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
