"""Start-up checks of the basemap: an OpenStreetMap archive must be credited as its licence (ODbL) requires.

Reads only the archive's header and metadata; a missing or unreadable archive is not this check's business (the
map says the background is missing).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.checks import Warning, register


def archive_attribution(path) -> str:
    """The attribution an archive's own metadata gives ("" if none, or no archive)."""
    from pmtiles.reader import MmapSource, Reader

    try:
        with open(path, "rb") as handle:
            metadata = Reader(MmapSource(handle)).metadata()
    except (OSError, ValueError, json.JSONDecodeError):
        return ""
    return str(metadata.get("attribution") or "")


@register()
def basemap_credits_openstreetmap(app_configs=None, **kwargs) -> list[Warning]:
    if settings.MAP_TILE_URL or "openstreetmap" not in archive_attribution(settings.BASEMAP_FILE).lower():
        return []
    if "openstreetmap" in settings.BASEMAP_ATTRIBUTION.lower():
        return []
    return [
        Warning(
            f"The basemap archive {settings.BASEMAP_FILE} is OpenStreetMap data, which must be credited on the map "
            "(ODbL), but BASEMAP_ATTRIBUTION does not name OpenStreetMap.",
            hint="Set BASEMAP_ATTRIBUTION as the README's basemap section shows for an OpenStreetMap extract.",
            id="geo.W001",
        )
    ]
