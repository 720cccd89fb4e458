"""Django's flush, able to empty the append-only audit log.

The audit table refuses DELETE (SQLite, PostgreSQL) and TRUNCATE (PostgreSQL) through triggers
(incidents migrations 0004 and 0005). Those triggers stand aside while `alcabala_audit_unlock` holds a
row: this command writes one for exactly the length of the flush. Emptying the whole database is the
one way audit rows go; the test suite relies on it between tests.
"""

from __future__ import annotations

from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections

UNLOCK_TABLE = "alcabala_audit_unlock"


class Command(FlushCommand):
    def handle(self, **options):
        connection = connections[options["database"]]
        unlock = UNLOCK_TABLE in connection.introspection.table_names()
        if unlock:
            with connection.cursor() as cursor:
                cursor.execute(f"INSERT INTO {UNLOCK_TABLE} (flag) VALUES (1)")
        try:
            return super().handle(**options)
        finally:
            if unlock:
                with connection.cursor() as cursor:
                    cursor.execute(f"DELETE FROM {UNLOCK_TABLE}")
