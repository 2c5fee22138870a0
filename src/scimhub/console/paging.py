"""Page numbers in a query string, for lists shown a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from scimhub.scim.numbers import bounded_int

#: Far enough for any list, small enough that an offset stays an int everywhere.
MAX_PAGE = 1_000_000


class BadPage(ValueError):
    """A page number that is not one: the page answers 400 and says why."""


@dataclass(frozen=True)
class Pager:
    request: Request
    param: str
    page: int
    size: int
    total: int | None = None
    has_more: bool = False

    @classmethod
    def read(cls, request: Request, size: int, param: str = "page") -> Pager:
        """Absent or empty is page 1; else ASCII digits from 1 to ``MAX_PAGE`` (``BadPage``)."""
        raw = request.query_params.get(param) or "1"
        page = bounded_int(raw, 1, MAX_PAGE)
        if page is None:
            raise BadPage(f"The page number must be a whole number from 1 to {MAX_PAGE:,}.")
        return cls(request, param, page, size)

    def counted(self, total: int) -> Pager:
        return Pager(self.request, self.param, self.page, self.size, total,
                     self.page * self.size < total)

    def open_ended(self, has_more: bool) -> Pager:
        """For lists too long to count: only whether a next page exists."""
        return Pager(self.request, self.param, self.page, self.size, None, has_more)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def start(self) -> int:
        """1-based, as SCIM's startIndex."""
        return self.offset + 1

    def shown(self, count: int) -> str:
        """'1-50 of 1,234' (with an en dash), or '51-100' when the total is not known."""
        if count == 0:
            return "none" if self.total in (None, 0) else f"none of {self.total:,}"
        span = f"{self.offset + 1:,}\u2013{self.offset + count:,}"
        return span if self.total is None else f"{span} of {self.total:,}"

    def url(self, page: int) -> str:
        url = self.request.url.include_query_params(**{self.param: page})
        return f"{url.path}?{url.query}"

    @property
    def previous_url(self) -> str | None:
        return self.url(self.page - 1) if self.page > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url(self.page + 1) if self.has_more else None
