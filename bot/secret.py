"""A value that must never be printed, logged or shown in a traceback by accident."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")

MASK = "**********"


class Secret(Generic[T]):
    """Wraps a secret so that ``str``, ``repr`` and f-strings print ``**********``.

    The wrapped value is only reachable through :meth:`reveal`, which makes every place
    that needs the real value easy to find with a search.
    """

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def reveal(self) -> T:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, format_spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Secret values cannot be pickled")
