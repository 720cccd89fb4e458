"""What JSON Schema cannot say about /api/v1, told to schemathesis (SCHEMATHESIS_HOOKS=this file).

The schema names these strings by a `format` of ours; here each format gets a strategy that makes values the
server gives out or accepts, so that "a schema-valid request is accepted" is checked on the rest:
- `alcabala-cursor`, `alcabala-since`: the opaque cursors of `next` links, which only the server makes;
- `alcabala-bbox`: a box whose minimums do not exceed its maximums, longitudes and latitudes in range.
Loaded by schemathesis, outside Django: nothing of the project is imported.
"""

from __future__ import annotations

import base64

import schemathesis
from hypothesis import strategies as st


def _token(prefix: str, number: int) -> str:
    # As incidents/api/params.py encodes them (tests/api/test_schema.py holds the two together).
    return base64.urlsafe_b64encode(f"{prefix}:{number}".encode()).decode().rstrip("=")


def _box(lons: tuple[float, float], lats: tuple[float, float]) -> str:
    return ",".join(f"{value:.4f}" for value in (min(lons), min(lats), max(lons), max(lats)))


_LON = st.floats(min_value=-180, max_value=180, allow_nan=False)
_LAT = st.floats(min_value=-90, max_value=90, allow_nan=False)

schemathesis.openapi.format(
    "alcabala-cursor", st.integers(min_value=0, max_value=10**12).map(lambda n: _token("id", n))
)
schemathesis.openapi.format("alcabala-since", st.integers(min_value=0, max_value=10**12).map(lambda n: _token("v", n)))
schemathesis.openapi.format("alcabala-bbox", st.builds(_box, st.tuples(_LON, _LON), st.tuples(_LAT, _LAT)))
