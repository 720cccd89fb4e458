from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.geo import fake_nominatim


@pytest.fixture
def fake_server() -> Iterator[fake_nominatim.FakeNominatim]:
    state = fake_nominatim.start()
    try:
        yield state
    finally:
        state.server.shutdown()
        state.server.server_close()


@pytest.fixture
def nominatim(fake_server, settings) -> fake_nominatim.FakeNominatim:
    """GEOCODER=nominatim against the fake server, at a rate that keeps tests quick."""
    settings.GEOCODER = "nominatim"
    settings.NOMINATIM_URL = fake_server.url
    settings.NOMINATIM_USER_AGENT = "alcabala-tests/1.0"
    settings.NOMINATIM_RATE_PER_S = 50
    settings.NOMINATIM_TIMEOUT_S = 2
    return fake_server
