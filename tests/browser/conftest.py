"""Playwright driving Debian's Chromium (never a downloaded browser) against a live server on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Lets routes see (and cut) a service worker's own requests, so "offline" means offline for it too.
os.environ.setdefault("PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS", "1")
# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test are still safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}; scripts/test installs Debian's chromium package.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser, live_server) -> Iterator:
    """A phone-sized browser context in Spanish with no service worker (faster, isolated)."""
    context = browser.new_context(**PHONE, locale="es-VE", base_url=live_server.url, service_workers="block")
    yield context
    context.close()


@pytest.fixture
def alerts() -> list:
    return []


@pytest.fixture
def page(phone, alerts):
    page = phone.new_page()
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    return page


class Network:
    """Offline for the page and for its service worker (context.set_offline alone misses the worker)."""

    def __init__(self, context):
        self.context = context

    @staticmethod
    def _cut(route):
        route.abort("internetdisconnected")

    def set(self, *, offline: bool) -> None:
        # Route handlers run in this process: none may stay installed while the test sleeps, or requests hang.
        if offline:
            self.context.route("**/*", self._cut)
        else:
            self.context.unroute("**/*", self._cut)
        self.context.set_offline(offline)
