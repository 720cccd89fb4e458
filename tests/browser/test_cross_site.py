"""Another site's page cannot make a visitor's Chromium file reports or votes (issue 14, finding 4).

The attacker's page is served by a small HTTP server on a second loopback origin (127.0.0.1 against the live
server's localhost: two sites); it tries what a page can do without a CORS preflight.
"""

from __future__ import annotations

import http.server
import logging
import threading
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from incidents.models import Report
from tests.browser.conftest import PHONE
from tests.conftest import wait_until
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db(transaction=True)

ATTACK = """<!doctype html><html><body>
<iframe name="sink" id="sink"></iframe>
<form id="f" method="post" enctype="multipart/form-data" action="{app}/api/v1/reports" target="sink">
  <input name="client_id" value="{form_id}"><input name="kind" value="checkpoint">
  <input name="location" value='{{"type": "Point", "coordinates": [-66.9036, 10.4806]}}'>
  <input name="device" value="visitor-1">
</form>
<iframe id="boxed" sandbox="allow-scripts" srcdoc="{boxed}"></iframe>
<script>
const app = "{app}";
const done = [];
const finish = (name) => {{ done.push(name); document.title = done.sort().join(","); }};
window.addEventListener("message", (event) => finish("sandboxed"));
document.getElementById("sink").addEventListener("load", () => finish("form"), {{ once: true }});
document.getElementById("f").submit();
const form = new FormData();
form.append("client_id", "{fetch_id}"); form.append("kind", "checkpoint"); form.append("device", "visitor-2");
form.append("location", JSON.stringify({{type: "Point", coordinates: [-66.9036, 10.4806]}}));
fetch(app + "/api/v1/reports", {{method: "POST", mode: "no-cors", body: form}}).then(() => finish("multipart"));
fetch(app + "/api/v1/reports", {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}},
  body: JSON.stringify({{client_id: "{text_id}", kind: "checkpoint", device: "visitor-3",
    location: {{type: "Point", coordinates: [-66.9036, 10.4806]}}}})}}).then(() => finish("text"));
fetch(app + "/api/v1/incidents/{incident}/votes", {{method: "POST", mode: "no-cors",
  headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify({{still_there: false, device: "visitor-4"}})}})
  .then(() => finish("vote"));
</script></body></html>"""

# A sandboxed frame has an opaque origin: its requests say Origin: null.
BOXED = (
    "<script>fetch('{app}/api/v1/reports', {{method: 'POST', mode: 'no-cors', headers: {{'Content-Type': "
    "'text/plain'}}, body: JSON.stringify({{client_id: '{boxed_id}', kind: 'checkpoint', location: {{type: "
    "'Point', coordinates: [-66.9036, 10.4806]}}}})}}).then(() => parent.postMessage('done', '*'))</script>"
)


@pytest.fixture
def attacker_site() -> Iterator[dict]:
    """An HTTP server on 127.0.0.1 that serves whatever page the test puts in `pages`."""
    pages: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output quiet
            pass

        def do_GET(self):
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_port}", "pages": pages}
    finally:
        server.shutdown()
        server.server_close()


def test_another_sites_page_cannot_make_a_visitors_browser_report_or_vote(browser, live_server, attacker_site, caplog):
    app = live_server.url
    assert urlparse(app).hostname != urlparse(attacker_site["url"]).hostname  # two sites, not two ports
    incident = IncidentFactory()
    ids = {name: str(uuid.uuid4()) for name in ("form_id", "fetch_id", "text_id", "boxed_id")}
    boxed = BOXED.format(app=app, boxed_id=ids["boxed_id"]).replace("'", "&#39;")
    html = ATTACK.format(app=app, incident=incident.pk, boxed=boxed, **ids)
    attacker_site["pages"]["/"] = html.encode()
    caplog.set_level(logging.WARNING, logger="django.request")

    def refused() -> list[tuple[str, int]]:
        # The server's own account of what it answered: Playwright does not see a sandboxed frame's requests.
        return sorted((r.getMessage(), r.status_code) for r in caplog.records if r.name == "django.request")

    context = browser.new_context(**PHONE, service_workers="block")
    try:
        page = context.new_page()
        page.goto(attacker_site["url"] + "/")
        page.wait_for_function("document.title === 'form,multipart,sandboxed,text,vote'", timeout=20_000)
    finally:
        context.close()
    assert Report.objects.count() == 0
    wait_until(lambda: len(refused()) >= 5, timeout=10)
    reports, votes = ("Forbidden: /api/v1/reports", 403), (f"Forbidden: /api/v1/incidents/{incident.pk}/votes", 403)
    assert refused() == sorted([reports] * 4 + [votes])
    incident.refresh_from_db()
    assert incident.gone == 0


NEWSROOM = b"<!doctype html><html><head><title>A newsroom's map</title></head><body></body></html>"
NEWSROOM_READS = """async ({app, id, clientId, route}) => {
  const out = {};
  const list = await fetch(app + "/api/v1/incidents");
  out.ids = (await list.json()).features.map((f) => f.id);
  out.etag = list.headers.get("ETag");
  const csv = await fetch(app + "/api/v1/incidents?format=csv");
  out.disposition = csv.headers.get("Content-Disposition");
  out.header = (await csv.text()).split("\\r\\n")[0];
  // If-None-Match is no simple header: this one needs a preflight.
  out.again = (await fetch(app + "/api/v1/incidents", {headers: {"If-None-Match": out.etag}})).status;
  const along = await fetch(app + "/api/v1/route-check", {method: "POST",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({route})});
  out.along = (await along.json()).numberMatched;
  const attempt = async (url, init) => {
    try { await fetch(url, init); return "read"; } catch (error) { return "refused"; }
  };
  out.report = await attempt(app + "/api/v1/reports", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({client_id: clientId, kind: "checkpoint", device: "visitor",
      location: {type: "Point", coordinates: [-66.9036, 10.4806]}})});
  out.vote = await attempt(app + `/api/v1/incidents/${id}/votes`, {method: "POST",
    headers: {"Content-Type": "text/plain"}, body: JSON.stringify({still_there: false, device: "visitor"})});
  return out;
}"""


def test_another_sites_page_reads_the_public_incidents_but_its_writes_are_refused(
    browser, live_server, attacker_site, caplog
):
    app = live_server.url
    incident = IncidentFactory()
    attacker_site["pages"]["/"] = NEWSROOM
    caplog.set_level(logging.WARNING, logger="django.request")
    route = {"type": "LineString", "coordinates": [[-66.95, 10.4806], [-66.85, 10.4806]]}
    context = browser.new_context(service_workers="block")
    try:
        page = context.new_page()
        page.goto(attacker_site["url"] + "/")
        seen = page.evaluate(
            NEWSROOM_READS, {"app": app, "id": incident.pk, "clientId": str(uuid.uuid4()), "route": route}
        )
    finally:
        context.close()
    assert seen["ids"] == [incident.pk] and seen["etag"]
    assert seen["disposition"].startswith('attachment; filename="alcabala-incidents-')
    assert seen["header"].startswith("id,lon,lat,kind,")
    assert seen["again"] == 304 and seen["along"] == 1
    # The JSON report never left the browser (its preflight got no permission); the text/plain vote was sent,
    # refused by the server, and its answer hidden from the page.
    assert seen["report"] == seen["vote"] == "refused"
    assert Report.objects.count() == 0
    incident.refresh_from_db()
    assert incident.gone == 0
    forbidden = [r.getMessage() for r in caplog.records if r.name == "django.request" and r.status_code == 403]
    assert forbidden == [f"Forbidden: /api/v1/incidents/{incident.pk}/votes"]
