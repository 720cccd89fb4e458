"""The OGC pages for people: the items page draws its own GeoJSON on our basemap, and the definition of /ogc/
renders in the docs viewer, both under the site's Content-Security-Policy and from our own origin only."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.factories import CARACAS, IncidentFactory, offset

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_items_page_maps_its_features_and_the_definition_renders(page, live_server):
    console, urls = [], []
    page.on("console", lambda message: console.append(message.text))
    page.on("request", lambda request: urls.append(request.url))
    for i, kind in enumerate(("roadblock", "roadblock", "hazard")):
        lon, lat = offset(*CARACAS, east_m=3000 * i)
        IncidentFactory(kind=kind, point=f"POINT({lon} {lat})", place=f"<b>Sitio {i}</b>")

    response = page.goto("/ogc/collections/incidents/items?f=html&kind=roadblock")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("#items-map")).to_have_attribute("data-drawn", "2", timeout=20_000)
    assert page.locator("#items-map path.leaflet-interactive").count() == 2
    page.locator("#items-map path.leaflet-interactive").first.hover()
    expect(page.locator(".leaflet-tooltip")).to_contain_text("<b>Sitio")  # text, never markup
    assert any(urlparse(url).path == "/basemap.pmtiles" for url in urls)
    assert any("kind=roadblock" in url and "f=json" in url for url in urls)  # the page's own GeoJSON link

    page.goto("/ogc/api.html")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/collections/incidents/queryables" in text for text in paths)

    assert [text for text in console if "Content Security Policy" in text] == []
    assert {urlparse(url).netloc for url in urls if not url.startswith(("data:", "blob:"))} == {
        urlparse(live_server.url).netloc
    }
