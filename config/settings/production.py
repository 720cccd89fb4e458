"""Production: no secret defaults, HTTPS assumed."""

from __future__ import annotations

from config.env import env_bool, env_int, env_str
from config.settings.base import *  # noqa: F403 -- settings modules extend the base namespace

SECRET_KEY = env_str("SECRET_KEY", required=True)
DEBUG = False
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

# `manage.py check --deploy` is clean with these settings, except for what is silenced here, on purpose:
# - security.W003: CSRF protection is on, through config.middleware.NoReferrerCsrfMiddleware, a subclass of
#   Django's CsrfViewMiddleware that the check does not recognise by name.
# - security.W021: HSTS preload is a commitment to the browsers' preload list; SECURE_HSTS_PRELOAD opts in.
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W003"]  # noqa: F405 -- from the base settings
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")
