"""The one registry type: a dict filled once per name, whose misses name the close matches."""

from __future__ import annotations

import difflib
from enum import Enum
from typing import Callable, Generic, TypeVar

from .errors import CsbenchError

T = TypeVar("T")


class Registry(dict, Generic[T]):
    """`what` names the kind of entry in messages ("suite", "dataset", ...). Registering a name twice is refused
    (two files or modules claiming one name would silently replace each other); a lookup of an unknown name
    fails in one line that suggests the nearest known names."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what

    def add(self, name: str, value: T) -> T:
        if name in self:
            raise CsbenchError(f"{self.what} {name!r} is registered twice")
        self[name] = value
        return value

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of `add`."""
        return lambda value: self.add(name, value)

    def get_or_fail(self, name: str) -> T:
        if name not in self:
            close = difflib.get_close_matches(name, list(self), n=3)
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise CsbenchError(f"unknown {self.what} {name!r}{hint} Known: {', '.join(sorted(self))}")
        return self[name]


class Choice(str, Enum):
    """A fixed set of string values (statuses, protocol settings): compared, printed and stored as its value."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)
