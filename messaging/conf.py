"""The messaging channels' settings with their defaults, in one place."""

from __future__ import annotations

from django.conf import settings

CHANNELS = ("smssync", "twilio", "telegram")
# How long a shared location waits for the message that says what is there.
PENDING_TTL_S = 10 * 60
# Digits of a phone number dropped to make its block (architecture §3.5: a block of numbers is one source).
BLOCK_DIGITS_DROPPED = 3


def secret(channel: str) -> str | None:
    """The channel's shared secret (or Twilio's auth token); None while the channel is off."""
    name = {"smssync": "SMSSYNC_SECRET", "twilio": "TWILIO_AUTH_TOKEN", "telegram": "TELEGRAM_WEBHOOK_SECRET"}[channel]
    return getattr(settings, name, None) or None
