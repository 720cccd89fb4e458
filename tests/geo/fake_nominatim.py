"""A Nominatim-shaped HTTP server on loopback: /search and /reverse answered in Nominatim's JSON format.

It stands in for the public internet only; geopy's real HTTP client talks to it. It records every
request with its own arrival time (time.monotonic() in the test process), so tests measure rates where
the service would.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LICENCE = "Data © OpenStreetMap contributors, ODbL 1.0. https://osm.org/copyright"

# name -> (lat, lon, address); points differ a little from the gazetteer's, so tests can tell who answered.
PLACES = {
    "maiquetia": (
        10.6001,
        -66.9502,
        {
            "road": "Avenida Soublette",
            "town": "Maiquetía",
            "state": "La Guaira",
            "country": "Venezuela",
            "country_code": "ve",
        },
    ),
    "petare": (
        10.4801,
        -66.8101,
        {"suburb": "Petare", "state": "Miranda", "country": "Venezuela", "country_code": "ve"},
    ),
    "madrid": (40.4167, -3.7033, {"city": "Madrid", "state": "Comunidad de Madrid", "country_code": "es"}),
}


@dataclass
class Request:
    at: float
    path: str
    query: dict[str, str]
    user_agent: str


@dataclass
class FakeNominatim:
    server: ThreadingHTTPServer
    requests: list[Request] = field(default_factory=list)
    fail_next: int = 0  # answer this many requests with 503 first
    status_on_failure: int = 503
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def arrivals(self, path: str | None = None) -> list[float]:
        return sorted(r.at for r in self.requests if path is None or r.path == path)


def _feature(name: str, lat: float, lon: float, address: dict, osm_id: int) -> dict:
    display = ", ".join(str(v) for k, v in address.items() if k != "country_code")
    return {
        "place_id": 100000 + osm_id,
        "licence": LICENCE,
        "osm_type": "node",
        "osm_id": osm_id,
        "lat": f"{lat:.7f}",
        "lon": f"{lon:.7f}",
        "class": "place",
        "type": "town",
        "place_rank": 16,
        "importance": 0.45,
        "addresstype": "town",
        "name": name,
        "display_name": display,
        "address": address,
        "boundingbox": [f"{lat - 0.02:.7f}", f"{lat + 0.02:.7f}", f"{lon - 0.02:.7f}", f"{lon + 0.02:.7f}"],
    }


def _fold(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def make_handler(state: FakeNominatim):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

        def _json(self, status: int, body) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlparse(self.path)
            query = {key: values[-1] for key, values in parse_qs(url.query).items()}
            with state.lock:
                state.requests.append(Request(time.monotonic(), url.path, query, self.headers.get("User-Agent", "")))
                failing = state.fail_next > 0
                if failing:
                    state.fail_next -= 1
            if failing:
                self._json(state.status_on_failure, {"error": "overloaded"})
            elif url.path == "/search":
                self._json(200, self._search(query))
            elif url.path == "/reverse":
                self._json(200, self._reverse(query))
            else:
                self._json(404, {"error": "not found"})

        def _search(self, query: dict[str, str]) -> list[dict]:
            text = _fold(query.get("q", ""))
            results = []
            for number, (name, (lat, lon, address)) in enumerate(PLACES.items(), start=1):
                if name in text:
                    results.append(_feature(name.title(), lat, lon, address, number))
            if text.startswith("lugar"):  # any "lugar N" exists, near Caracas: for the rate tests
                results.append(_feature(text, 10.5, -66.9, {"village": text, "state": "Miranda"}, 999))
            if query.get("bounded") == "1" and "viewbox" in query:
                lon1, lat1, lon2, lat2 = (float(v) for v in query["viewbox"].split(","))
                results = [
                    r
                    for r in results
                    if min(lon1, lon2) <= float(r["lon"]) <= max(lon1, lon2)
                    and min(lat1, lat2) <= float(r["lat"]) <= max(lat1, lat2)
                ]
            return results[: int(query.get("limit", "10"))]

        def _reverse(self, query: dict[str, str]) -> dict:
            lat, lon = float(query["lat"]), float(query["lon"])
            best = None
            for number, (name, (plat, plon, address)) in enumerate(PLACES.items(), start=1):
                distance = math.hypot(plat - lat, plon - lon)
                if distance < 0.2 and (best is None or distance < best[0]):
                    best = (distance, _feature(name.title(), plat, plon, address, number))
            return best[1] if best else {"error": "Unable to geocode"}

    return Handler


def start() -> FakeNominatim:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = FakeNominatim(server=server)
    server.RequestHandlerClass = make_handler(state)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state
