"""The API docs page renders in Chromium under the site's Content-Security-Policy, from our own files only."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_docs_render_under_the_csp_with_no_third_party_request(page, live_server):
    console, hosts = [], set()
    page.on("console", lambda message: console.append(message.text))
    page.on("request", lambda request: hosts.add(urlparse(request.url).netloc))
    response = page.goto("/api/v1/docs")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/incidents/changes" in text for text in paths)
    assert [text for text in console if "Content Security Policy" in text] == []
    assert hosts == {urlparse(live_server.url).netloc}
