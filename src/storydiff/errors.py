"""The exceptions the core raises; the CLI maps each to a one-line message and an exit code."""


class StorydiffError(Exception):
    """Base class: the message is meant for the user, one line, naming the file and the remedy."""

    exit_code = 2


class InputError(StorydiffError):
    """The paths given cannot be used: missing, empty, or nothing matched the glob."""


class ConfigError(StorydiffError):
    """A setting or configuration file is invalid."""


class ChangedFilesError(StorydiffError):
    """Files changed or vanished since the report that a dedup plan was made from."""


class DestinationError(StorydiffError):
    """An output would overwrite a file or write into the input directory."""
