from __future__ import annotations

import re

import pytest

from tests.moderation import conftest as moderation_fixtures
from tests.moderation.conftest import verify
from trust import services

# The moderation tests' own users.
moderator = moderation_fixtures.moderator
citizen = moderation_fixtures.citizen


@pytest.fixture
def mod_client(client, moderator):
    """A moderator who passed both factors, reading the pages in English."""
    verify(client, moderator)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]


def from_network(address: str) -> dict[str, str]:
    return {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": address}


def shown_code(html: str) -> str:
    match = re.search(r'id="code-value">([^<]+)<', html)
    assert match, "no code on the page"
    return match.group(1)


@pytest.fixture
def enrolled(moderator):
    """A reporter enrolled by the moderator, with its one-time code: (enrolment, code)."""
    return services.enrol(label="T-17", actor=moderator)
