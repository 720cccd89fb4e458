"""Where report photos live: a private folder that no URL serves (architecture §6.3)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
    """Files under settings.PRIVATE_MEDIA_ROOT, read when used rather than when the model was imported,
    so that the folder follows the setting (tests point it at a temporary directory)."""

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    # Only the app's user reads photos, unless nginx serves them to moderators (X-Accel-Redirect): then
    # nginx's user, put in the app's group (deploy/README.md), must read them too, and nobody else.
    @property
    def file_permissions_mode(self) -> int:
        return 0o640 if settings.PRIVATE_MEDIA_X_ACCEL_PREFIX else 0o600

    @property
    def directory_permissions_mode(self) -> int:
        return 0o750 if settings.PRIVATE_MEDIA_X_ACCEL_PREFIX else 0o700


def private_storage() -> FileSystemStorage:
    return PrivateStorage(base_url=None)
