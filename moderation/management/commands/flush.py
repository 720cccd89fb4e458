"""Django's flush, able to empty the append-only audit log on SQLite.

The audit table refuses DELETE through a trigger (incidents migration 0004). PostgreSQL flushes with
TRUNCATE, which that trigger does not see; SQLite flushes with DELETE, so the trigger is told to stand
aside for exactly the length of the flush. Emptying the whole database is the one way audit rows go.
"""

from __future__ import annotations

from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections


class Command(FlushCommand):
    def handle(self, **options):
        connection = connections[options["database"]]
        if connection.vendor != "sqlite":
            return super().handle(**options)
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'alcabala_audit_unlock'")
            unlock = cursor.fetchone() is not None
            if unlock:
                cursor.execute("INSERT INTO alcabala_audit_unlock (flag) VALUES (1)")
        try:
            return super().handle(**options)
        finally:
            if unlock:
                with connection.cursor() as cursor:
                    cursor.execute("DELETE FROM alcabala_audit_unlock")
