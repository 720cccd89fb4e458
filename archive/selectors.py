from __future__ import annotations

import uuid

from archive.models import Export


def export_of_key(*, export_id: str, api_key_id: int) -> Export | None:
    """The export `export_id` if it belongs to this key; None otherwise (another key's reads as absent)."""
    try:
        key = uuid.UUID(export_id)
    except ValueError:
        return None
    return Export.objects.filter(pk=key, api_key_id=api_key_id).first()
