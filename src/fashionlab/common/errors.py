"""Errors that the stages turn into a one-line message and an exit status, never a traceback."""


class FashionlabError(Exception):
    """A problem the user can fix: bad parameters, damaged data, a missing file."""

    exit_code = 1


class ParamsError(FashionlabError):
    """`params.yaml` is missing, malformed or has a value out of range."""

    exit_code = 2


class DataError(FashionlabError):
    """An input file is missing, truncated, or differs from what was published."""


class TrainingError(FashionlabError):
    """Training cannot go on, e.g. the loss became NaN."""


class ParityError(FashionlabError):
    """A custom layer no longer computes what it should."""


class RevisionError(FashionlabError):
    """A revision named on the command line is unknown, or its recorded results cannot be compared."""

    exit_code = 2


class WriteError(FashionlabError):
    """An output could not be written (full disk, read-only file system, no permission); none was replaced."""

    exit_code = 74  # EX_IOERR in sysexits.h: "an error occurred while doing I/O on some file"

    def __init__(self, path: object, err: OSError):
        super().__init__(f"{path}: cannot write: {err.strerror or err}; no output was replaced")
