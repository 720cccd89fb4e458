"""The test suite: same code paths as production, fast password hashing."""

from __future__ import annotations

from config.settings.base import *  # noqa: F403 -- settings modules extend the base namespace
from config.settings.base import DATABASES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"].endswith("spatialite"):
    # A file, not :memory:, so that a Celery worker started by a test sees the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-spatialite.sqlite3")}

# Serve static files from the apps' folders, so tests need no collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
