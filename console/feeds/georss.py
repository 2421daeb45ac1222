"""GeoRSS Simple on feed entries (issue 17): every polygon and circle of an incident's mapped
area. feedgen's own geo extension holds one polygon and no circle; this one writes each shape
as its own element (`georss:polygon` and `georss:circle` may repeat)."""

from __future__ import annotations

from typing import Any

from feedgen.ext.base import BaseEntryExtension
from feedgen.ext.geo import GeoExtension
from feedgen.feed import FeedGenerator

GEORSS_NS = "http://www.georss.org/georss"


class _AreaShapes(BaseEntryExtension):  # type: ignore[misc]
    polygons: tuple[str, ...] = ()  # "lat lon lat lon ..."
    circles: tuple[str, ...] = ()  # "lat lon radius-in-meters"

    def extend_atom(self, entry: Any) -> Any:
        for name, shapes in (("polygon", self.polygons), ("circle", self.circles)):
            for text in shapes:
                element = entry.makeelement(f"{{{GEORSS_NS}}}{name}", {})
                element.text = text
                entry.append(element)
        return entry

    def extend_rss(self, entry: Any) -> Any:
        return self.extend_atom(entry)


def load_georss(feed: FeedGenerator) -> None:
    """Only for a feed with an area among its entries: feeds without one keep their bytes."""
    feed.register_extension("geo", GeoExtension, _AreaShapes)


def set_shapes(entry: Any, polygons: tuple[str, ...], circles: tuple[str, ...]) -> None:
    entry.geo.polygons, entry.geo.circles = polygons, circles
