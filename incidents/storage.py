"""Where report photos live: a private folder that no URL serves (DESIGN §6.3)."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage


def private_storage() -> FileSystemStorage:
    return FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT, base_url=None, file_permissions_mode=0o600)
