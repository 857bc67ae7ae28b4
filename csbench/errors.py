"""Errors that the command line prints as one line, without a stack trace, and the cleaning of outside text in them."""

import re
import unicodedata


class CsbenchError(Exception):
    """A problem the user can fix; its message says what and how."""


class DatasetMissing(CsbenchError):
    pass


class ChecksumMismatch(CsbenchError):
    pass


class GeneratorError(CsbenchError):
    """A generator file failed to load or returned samples that break the contract."""


MARKUP_TAG = re.compile(r"\[([A-Za-z#/@\\][^\[\]]*)\]")
MARKUP_OPEN = re.compile(r"\[(?=[A-Za-z#/@\\])")


def one_line(text: object, limit: int = 300) -> str:
    """Text made safe to print as plain text (never parsed as markup) in one line: no control or format characters
    (escape sequences, bidi overrides), one line of bounded length."""
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in str(text)[:4 * limit])
    kept = " ".join(kept.split())
    return kept if len(kept) <= limit else kept[: limit - 3] + "..."


def clean(text: object, limit: int = 300) -> str:
    """Text from outside (a child's output, a URL, a file or folder name) made safe to print inside rich markup: as
    `one_line`, and a bracket that could open a rich tag becomes a parenthesis."""
    return one_line(MARKUP_OPEN.sub("(", MARKUP_TAG.sub(r"(\1)", one_line(text, 4 * limit))), limit)
