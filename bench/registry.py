"""One generic name -> factory registry, so every config name resolves with the same errors."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
C = TypeVar("C")


class UnknownNameError(KeyError):
    """A config named something no registry entry provides; the message lists the choices."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it readable
        return str(self.args[0])


class Registry(Generic[T]):
    """Maps names to factories; duplicate names are a programming error, unknown names a user one."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            choices = ", ".join(sorted(self._items)) or "(none registered)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; choose from: {choices}") from None

    def build(self: Registry[type[C]], name: str, **options: Any) -> C:
        """An instance of the class ``name`` built with ``options`` (a config's ``options:``
        mapping); an option it does not take is a ValueError naming it and the ones it does."""
        cls = self.get(name)
        accepted = list(inspect.signature(cls).parameters)
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ValueError(
                f"{self.kind} {name!r} has no option {', '.join(map(repr, unknown))}; "
                f"its options are: {', '.join(accepted) or '(none)'}"
            )
        return cls(**options)

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
