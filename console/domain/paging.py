"""One page of a list read a page at a time, newest first (the archive, the corrections log)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generic, TypeVar

from console.domain.errors import InvalidInput

T = TypeVar("T")


def check_page_number(page: int) -> None:
    if page < 1:
        raise InvalidInput({"page": "must be 1 or more"})


@dataclass(frozen=True)
class Page(Generic[T]):
    entries: list[T]
    total: int  # entries on every page
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def first_number(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.entries else 0

    @property
    def last_number(self) -> int:
        return self.first_number + len(self.entries) - 1 if self.entries else 0
