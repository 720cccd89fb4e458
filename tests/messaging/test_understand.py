"""The table of realistic messages: what share is understood (kind and place), and which ones are not.

The share and the misses are recorded in docs/benchmarks.md. KNOWN_MISSES lists the cases understood
wrongly today: the test fails if a new one fails, and also if a known one is fixed (so the list and the
benchmark are updated with it).
"""

from __future__ import annotations

import math

import pytest

from geo.geocoding import locate
from messaging.understand import Command, command, fold, is_noise, understand
from tests.messaging.cases import CASES

KNOWN_MISSES = {
    # The gazetteer reads "vía a La Guaira" as a road's name and places no road: a moderator places it.
    "tranca en la via a La Guaira",
    # Caracas's neighbourhoods are not in the gazetteer; Altamira is also a town in Barinas, 400 km away.
    "Barricada en Altamira, Caracas",
}


def _km(a, b) -> float:
    return math.hypot((a.x - b.x) * 111.32 * math.cos(math.radians(a.y)), (a.y - b.y) * 111.32)


def place_matches(found, expected) -> bool:
    if expected is None:  # nothing in it names a place: the reply asks for one
        return found.lat_lon is None and (found.place_text == "" or locate(found.place_text) is None)
    if isinstance(expected, tuple):
        return found.lat_lon is not None and found.lat_lon == pytest.approx(expected)
    if found.lat_lon is not None or not found.place_text:
        return False
    want = locate(expected)
    if want is None:  # a place the gazetteer does not know: the words must reach the moderator
        return fold(expected) in fold(found.place_text)
    got = locate(found.place_text)
    return got is not None and _km(got, want) < 2


def misses() -> dict[str, str]:
    out = {}
    for text, kind, place, minutes in CASES:
        found = understand(text)
        wrong = []
        if found.kind != kind:
            wrong.append(f"kind {found.kind!r}, expected {kind!r}")
        if not place_matches(found, place):
            wrong.append(f"place {found.lat_lon or found.place_text!r}, expected {place!r}")
        if found.minutes_ago != minutes:
            wrong.append(f"time {found.minutes_ago!r}, expected {minutes!r}")
        if wrong:
            out[text] = "; ".join(wrong)
    return out


def test_the_table_has_at_least_sixty_messages_in_both_languages():
    assert len(CASES) >= 60
    assert len({text for text, *_ in CASES}) == len(CASES)
    languages = [understand(text).language for text, *_ in CASES]
    assert languages.count("en") >= 8 and languages.count("es") >= 40


def test_the_table_is_understood_but_for_the_known_misses():
    found = misses()
    share = 1 - len(found) / len(CASES)
    print(f"\nunderstood {len(CASES) - len(found)}/{len(CASES)} ({share:.0%})")
    for text, why in found.items():
        print(f"  {text!r}: {why}")
    assert set(found) == KNOWN_MISSES, found
    assert share >= 0.9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AYUDA", Command("help")),
        ("help", Command("help")),
        ("Ayuda?", Command("help")),
        ("SIGUE 12", Command("still", 12)),
        ("sigue #12", Command("still", 12)),
        ("YA NO 33", Command("gone", 33)),
        ("ya no está 33", Command("gone", 33)),
        ("STILL 7", Command("still", 7)),
        ("gone 7", Command("gone", 7)),
        ("SIGUE", Command("still")),
        ("ya no", Command("gone")),
        ("Gone!", Command("gone")),
        ("BORRAR", Command("cancel")),
        ("cancelar", Command("cancel")),
        ("Cancel.", Command("cancel")),
        ("?", Command("help")),
        ("sigue la alcabala en petare", None),
        ("borrar la alcabala de petare", None),
        ("alcabala en petare", None),
    ],
)
def test_commands_are_recognised_and_reports_are_not_commands(text, expected):
    assert command(text) == expected


def test_the_language_is_the_senders():
    assert understand("checkpoint near Chacao").language == "en"
    assert understand("alcabala en Chacao").language == "es"
    assert understand("GNB").language == "es"  # the deployment's own language when nothing says otherwise


@pytest.mark.parametrize(
    ("text", "noise"),
    [
        ("hola", True),
        ("Buenas noches!!", True),
        ("ok, gracias", True),
        ("\U0001f44d\U0001f44d", True),
        ("", True),
        ("hola, hay una alcabala", False),
        ("hola quien es", False),
        ("12", False),
        ("https://maps.google.com/?q=10.48,-66.90", False),
        ("Petare", False),
    ],
)
def test_greetings_alone_are_noise_and_anything_more_is_content(text, noise):
    assert is_noise(text) is noise


def test_of_the_table_only_the_greetings_are_noise_and_no_report_is_a_command():
    assert {text for text, *_ in CASES if is_noise(text)} == {"hola", "gracias!!"}
    assert all(command(text) is None for text, *_ in CASES)
