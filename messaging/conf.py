"""The messaging channels' settings with their defaults, in one place."""

from __future__ import annotations

from django.conf import settings

CHANNELS = ("smssync", "twilio", "telegram")
# How long a shared location waits for the message that says what is there, and a report without a place
# for the message that gives it.
PENDING_TTL_S = 10 * 60
# How long after sending it a sender may withdraw a report (BORRAR / CANCEL).
CANCEL_WINDOW_S = 60 * 60
# The kind a message is kept under when its kind was not understood (moderators see it was not, and correct it).
PLACEHOLDER_KIND = "hazard"
# Digits of a phone number dropped to make its block (architecture §3.5: a block of numbers is one source).
BLOCK_DIGITS_DROPPED = 3


def secret(channel: str) -> str | None:
    """The channel's shared secret (or Twilio's auth token); None while the channel is off."""
    name = {"smssync": "SMSSYNC_SECRET", "twilio": "TWILIO_AUTH_TOKEN", "telegram": "TELEGRAM_WEBHOOK_SECRET"}[channel]
    return getattr(settings, name, None) or None


def country_code() -> str:
    """The calling code of numbers written the national way (MESSAGING_COUNTRY_CODE)."""
    return str(getattr(settings, "MESSAGING_COUNTRY_CODE", "58"))
