"""Errors that the command line prints as one line, without a stack trace."""


class CsbenchError(Exception):
    """A problem the user can fix; its message says what and how."""


class DatasetMissing(CsbenchError):
    pass


class ChecksumMismatch(CsbenchError):
    pass


class GeneratorError(CsbenchError):
    """A generator file failed to load or returned samples that break the contract."""
