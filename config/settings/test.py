"""The test suite: same code paths as production, fast password hashing."""

from __future__ import annotations

from pathlib import Path

from config.settings.base import *  # noqa: F403 -- settings modules extend the base namespace
from config.settings.base import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"].endswith("spatialite"):
    # A file, not :memory:, so that a Celery worker started by a test sees the same database.
    # Named after the main file, so that two runs on two files never share a test database.
    _main = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(_main.with_name(f"test-{_main.name}"))}

# Serve static files from the apps' folders, so tests need no collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
