"""Each incident's public Feature text, written by PostgreSQL when the row is written.

Building 10,000 Features on every whole-map request costs the database most of the list's time (snapping,
four time formats and two JSON escapes a row). A BEFORE INSERT OR UPDATE trigger runs the very SQL the
list uses (`sql.features_sql`, generated from the field table, over the new row) and stores the text in
`public_feature`, with a key naming that SQL and the settings it was made with. The list pastes the stored
text where the key is the one its own code and settings give and the row has not expired since it was
written (read-time expiry changes the text); otherwise it builds the Feature as before. So a forgotten
write path, a changed PUBLIC_GRID_M or a new property can make the list slower, never wrong.

The function is (re)installed after every `migrate` (and the live rows written under another key are
rewritten then), so the trigger always runs the code that is deployed. SQLite has none of this.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from incidents import conf
from incidents.models import ACTIVE_STATUSES
from incidents.public import fields, sql
from incidents.public.fields import Context, model_columns

# Annotation name -> column, as the list's raw SQL reads them (not model fields: migration 0006 adds them).
COLUMNS = {
    "public_feature": '"incidents_incident"."public_feature"',
    "public_feature_key": '"incidents_incident"."public_feature_key"',
}
FUNCTION = "alcabala_public_feature"
TRIGGER = "incidents_incident_public_feature"
# Stored text never says "expired" on its own: the row's status as written (the list checks expiry when it reads).
_NEVER = "'-infinity'::timestamptz"

_keys: dict[tuple[float, int, tuple[fields.Field, ...]], tuple[str, str]] = {}


def _new_row() -> str:
    """The new row as the list's inner query gives it: the field table's columns, lon and lat."""
    columns = ", ".join(f"NEW.{name} AS {name}" for name in model_columns())
    return f"SELECT {columns}, ST_X(NEW.point) AS lon, ST_Y(NEW.point) AS lat"


def _feature_select(grid_m: float, step_s: int) -> tuple[str, str]:
    """(the SELECT giving the new row's Feature text, with every value inlined; its key)."""
    cached = _keys.get((grid_m, step_s, fields.FIELDS))
    if cached is None:
        ctx = Context(now=datetime.min.replace(tzinfo=UTC), grid_m=grid_m, step_s=step_s)
        select = sql.features_sql(_new_row(), ctx).replace("%s", _NEVER)
        key = hashlib.sha256(select.encode()).hexdigest()[:32]
        cached = _keys[(grid_m, step_s, fields.FIELDS)] = (select, key)
    return cached


def current_key() -> str | None:
    """The key of text stored by this code under the current settings; None where nothing is stored."""
    if connection.vendor != "postgresql":
        return None
    return _feature_select(conf.public_grid_m(), conf.public_time_step_s())[1]


def install(db: BaseDatabaseWrapper) -> None:
    """Create or replace the trigger function for the current code and settings; rewrite stale live rows."""
    if db.vendor != "postgresql":
        return
    with db.cursor() as cursor:
        columns = {info.name for info in db.introspection.get_table_description(cursor, "incidents_incident")}
        if "public_feature" not in columns:
            return  # migrated back before 0006
        select, key = _feature_select(conf.public_grid_m(), conf.public_time_step_s())
        cursor.execute(
            f"""
            CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $body$
            BEGIN
                IF NEW.point IS NULL THEN
                    NEW.public_feature := NULL;
                    NEW.public_feature_key := NULL;
                ELSE
                    SELECT f.feature INTO NEW.public_feature FROM ({select}) AS f;
                    NEW.public_feature_key := '{key}';
                END IF;
                RETURN NEW;
            END
            $body$ LANGUAGE plpgsql
            """
        )
        cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON incidents_incident")
        cursor.execute(
            f"CREATE TRIGGER {TRIGGER} BEFORE INSERT OR UPDATE ON incidents_incident "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
        )
        # Live rows written by other code or settings: an update runs the trigger again. Ended rows keep
        # theirs (the list builds those afresh when asked for them).
        cursor.execute(
            "UPDATE incidents_incident SET public_feature_key = NULL "
            "WHERE status = ANY(%s) AND public_feature_key IS DISTINCT FROM %s",
            [[status.value for status in ACTIVE_STATUSES], key],
        )
