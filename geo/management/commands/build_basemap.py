"""Build the embedded basemap (geo/basemap.py) for DEPLOYMENT_AREA into BASEMAP_FILE.

scripts/run asks `--check` at every start and builds when the file is missing or was built for another
area; the Docker web container runs `--if-stale`. An archive not built here (an OpenStreetMap extract) is never
overwritten by either.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from geo import basemap
from geo.area import deployment_area
from geo.gazetteer import Gazetteer

OSM_MAX_ZOOM = 15  # Protomaps builds' highest zoom


class Command(BaseCommand):
    help = "Build the embedded basemap (Natural Earth and GeoNames) of the deployment area as a PMTiles archive."

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path, help="where to write it (default: BASEMAP_FILE)")
        parser.add_argument("--if-missing", action="store_true", help="do nothing when the file exists")
        parser.add_argument(
            "--if-stale",
            action="store_true",
            help="build only when the file is missing or was built here for another DEPLOYMENT_AREA",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="build nothing; exit 1 (saying why) when --if-stale would build, 0 otherwise",
        )
        parser.add_argument(
            "--osm-command",
            action="store_true",
            help="build nothing; print the `pmtiles extract` command that cuts this area out of a Protomaps build",
        )

    def handle(
        self,
        *args,
        output: Path | None = None,
        if_missing: bool = False,
        if_stale: bool = False,
        check: bool = False,
        osm_command: bool = False,
        **options,
    ):
        target = output or Path(settings.BASEMAP_FILE)
        if check or if_stale:
            reason = basemap.stale_reason(target, deployment_area().extent)
            if check:
                if reason is None:
                    return
                self.stderr.write(f"The basemap must be built: {reason}.")
                raise SystemExit(1)
            if reason is None:
                return
        if osm_command:
            bbox = ",".join(f"{v:.4f}".rstrip("0").rstrip(".") for v in basemap.padded_bounds(deployment_area().extent))
            self.stdout.write(
                f"pmtiles extract https://build.protomaps.com/YYYYMMDD.pmtiles {target.parent / 'osm.pmtiles'} "
                f"--bbox={bbox} --maxzoom={OSM_MAX_ZOOM}"
            )
            return
        if if_missing and target.exists():
            return
        source = Path(settings.BASEMAP_SOURCE)
        if not (source / "land-10m.json").exists():
            raise CommandError(
                f"Natural Earth data not found in {source}: run `npm ci` (package.json pins world-atlas)."
            )
        started = time.monotonic()
        area = deployment_area()
        towns = [basemap.Town(p.name, p.population, p.lon, p.lat) for p in Gazetteer(area).places]
        counts = basemap.build(output=target, area_extent=area.extent, source=source, towns=towns)
        self.stdout.write(
            f"Basemap: {target} ({counts['size'] / 1024:.0f} KiB, {counts['tiles']} tiles, "
            f"{len(towns)} places) in {time.monotonic() - started:.1f} s"
        )
