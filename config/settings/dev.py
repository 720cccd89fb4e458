"""Local use and the embedded default (`scripts/run`)."""

from __future__ import annotations

from config.settings.base import *  # noqa: F403 -- settings modules extend the base namespace
