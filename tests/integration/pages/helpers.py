"""Helpers for the page tests: HTMX requests and a reader for ``data-testid`` figures."""

from __future__ import annotations

import re
from datetime import datetime
from html.parser import HTMLParser

from accounts.models import Member
from usage.services import record_usage
from usage.services.imports import Row, import_usage


def htmx(client, method: str, url: str, **kwargs):
    """An HTMX request: what htmx sends with every ``hx-get`` / ``hx-post``."""
    return getattr(client, method)(url, headers={"HX-Request": "true"}, **kwargs)


def record(member: Member, amount: int, at: datetime, zone: str = "domestic"):
    """Usage recorded as it happened, at ``at`` (lazily closing what is due then)."""
    return record_usage(member, bytes=amount, zone=zone, at=at, now=at)


def record_many(usages: list[tuple[Member, int, datetime, str]], *, now: datetime) -> None:
    """Many records at once, through the CSV import service (much faster than one by one):
    ``(member, bytes, at, zone)`` each."""
    rows = [
        Row(line, m.household.slug, m.username, at.isoformat(), str(amount), zone, "")
        for line, (m, amount, at, zone) in enumerate(usages, start=2)
    ]
    import_usage(rows, now=now)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Page(HTMLParser):
    """The elements of a page that carry a ``data-testid``, with their attributes and
    their text (spaces and new lines collapsed; no-break spaces kept)."""

    def __init__(self, html: str | bytes) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[dict] = []
        self._open: list[tuple[str, dict | None]] = []
        self.feed(html.decode() if isinstance(html, bytes) else html)
        self.close()
        for element in self.elements:
            element["text"] = re.sub(r"[ \t\r\n]+", " ", element["text"]).strip()

    def handle_starttag(self, tag, attrs):
        element = None
        if any(name == "data-testid" for name, _ in attrs):
            element = {**dict(attrs), "tag": tag, "text": ""}
            self.elements.append(element)
        if tag not in VOID:
            self._open.append((tag, element))

    def handle_endtag(self, tag):
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index][0] == tag:
                del self._open[index:]
                return

    def handle_data(self, data):
        for _, element in self._open:
            if element is not None:
                element["text"] += data

    def all(self, testid: str) -> list[dict]:
        return [e for e in self.elements if e["data-testid"] == testid]

    def one(self, testid: str) -> dict:
        found = self.all(testid)
        assert len(found) == 1, f"{len(found)} elements with data-testid={testid!r}"
        return found[0]

    def bytes(self, testid: str) -> int:
        return int(self.one(testid)["data-bytes"])

    def text(self, testid: str) -> str:
        return self.one(testid)["text"]

    def testids(self) -> set[str]:
        return {e["data-testid"] for e in self.elements}
