"""Weight of the report page as a phone loads it (architecture §7: ≤ 60 KB compressed in total, tiles aside).

The pin map draws our own basemap (protomaps-leaflet and the checkout's var/basemap.pmtiles): the renderer counts
with the page, the archive's ranges apart, as basemap data.

Starts the app with gunicorn on a scratch SpatiaLite database, loads /report in Debian's Chromium at
390×844 and adds up every response; then opens the pin map (which loads Leaflet on demand) and adds
that too. "Compressed" is what the server sent when it compressed, otherwise the body gzipped at
level 6, as any front proxy would. Run: .venv/bin/python bench/report_page.py [--write]
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchdocs import record_section
from common import free_port

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 60 * 1024
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def start_server(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DATABASE_URL": f"spatialite:///{workdir / 'bench.sqlite3'}",
        "VAR_DIR": str(workdir),
        "BASEMAP_FILE": os.environ.get("BASEMAP_FILE") or str(ROOT / "var" / "basemap.pmtiles"),
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens: the page must not need it
    }
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        [
            python,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)
            return server, base
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start")


def weigh(responses) -> list[tuple[str, int, int]]:
    rows = []
    for response in responses:
        body = response.body()
        encoding = (response.headers.get("content-encoding") or "").lower()
        sent = int(response.headers.get("content-length") or len(body)) if encoding else len(gzip.compress(body, 6))
        rows.append((response.url, len(body), sent))
    return rows


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        server, base = start_server(Path(tmp))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                context = browser.new_context(viewport={"width": 390, "height": 844}, service_workers="block")
                page = context.new_page()
                first: list = []
                later: list = []
                phase = {"now": first}
                page.on("response", lambda response: phase["now"].append(response))
                page.goto(f"{base}/report", wait_until="networkidle")
                overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
                phase["now"] = later
                page.route("**/tile.openstreetmap.org/**", lambda route: route.abort())
                page.click("#pick")
                page.wait_for_selector(".leaflet-container")
                page.wait_for_timeout(500)
                initial = weigh([r for r in first if r.url.startswith(base)])
                on_demand = weigh([r for r in later if r.url.startswith(base)])
                basemap = [row for row in on_demand if row[0].endswith("/basemap.pmtiles")]
                on_demand = [row for row in on_demand if row not in basemap]
                browser.close()
        finally:
            server.terminate()
            server.wait(10)

    def table(rows):
        for url, raw, sent in rows:
            print(f"  {url.replace(base, ''):50} {raw / 1024:7.1f} KB raw {sent / 1024:7.1f} KB compressed")

    total = sum(sent for _, _, sent in initial)
    extra = sum(sent for _, _, sent in on_demand)
    print("report page, first load:")
    table(initial)
    print(f"  total: {total / 1024:.1f} KB compressed (budget {BUDGET // 1024} KB)")
    print("on demand, 'Pick on a map' (Leaflet, tiles aside):")
    table(on_demand)
    print(f"  total with the map: {(total + extra) / 1024:.1f} KB compressed (budget {BUDGET // 1024} KB)")
    basemap_kb = sum(sent for _, _, sent in basemap) / 1024
    print(f"  basemap data (/basemap.pmtiles, {len(basemap)} ranges): {basemap_kb:.1f} KB")
    print(f"  horizontal overflow at 390 px: {'yes' if overflow else 'no'}")
    if "--write" in sys.argv:
        record(total, total + extra, overflow, basemap_kb)
    if total + extra > BUDGET or overflow:
        raise SystemExit("over budget")


def record(total: int, with_map: int, overflow: bool, basemap_kb: float) -> None:
    marker = "## Report page weight"
    section = (
        f"{marker}\n\n`bench/report_page.py`, Chromium at 390×844, {time.strftime('%Y-%m-%d')}.\n\n"
        "| what | compressed | budget |\n| --- | --- | --- |\n"
        f"| first load (HTML, CSS, JS, icons) | {total / 1024:.1f} KB | 60 KB |\n"
        f"| with the pin map opened (Leaflet and protomaps-leaflet on demand, basemap data aside) | "
        f"{with_map / 1024:.1f} KB | 60 KB |\n"
        f"| the pin map's basemap data (ranges of `/basemap.pmtiles`) | {basemap_kb:.1f} KB | — |\n"
        f"| horizontal overflow at 390 px | {'yes' if overflow else 'none'} | none |\n"
    )
    record_section(section)


if __name__ == "__main__":
    main()
