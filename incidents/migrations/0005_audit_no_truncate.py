# The audit log refuses TRUNCATE on PostgreSQL too (0004 refuses UPDATE and DELETE). Like SQLite's delete
# trigger, this one stands aside only while `alcabala_audit_unlock` holds a row, which only the project's
# `flush` command (moderation/management/commands/flush.py) writes, for the length of a flush.

from django.db import migrations

PG_FORWARD = """
CREATE TABLE IF NOT EXISTS alcabala_audit_unlock (flag INTEGER NOT NULL);
CREATE OR REPLACE FUNCTION alcabala_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM alcabala_audit_unlock) THEN
        RAISE EXCEPTION 'moderation events are append-only: TRUNCATE refused' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER incidents_moderationevent_no_truncate
    BEFORE TRUNCATE ON incidents_moderationevent
    FOR EACH STATEMENT EXECUTE FUNCTION alcabala_audit_no_truncate();
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS incidents_moderationevent_no_truncate ON incidents_moderationevent;
DROP FUNCTION IF EXISTS alcabala_audit_no_truncate();
DROP TABLE IF EXISTS alcabala_audit_unlock;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_FORWARD)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_REVERSE)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0004_moderation"),
    ]

    operations = [
        migrations.RunPython(forward, reverse),
    ]
