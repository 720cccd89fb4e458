# On PostgreSQL each incident carries its public Feature's JSON text, written by a trigger on every insert
# and update (incidents/public/stored.py installs the trigger function after each migrate, from the same SQL
# the list uses), and the key of the code and settings that wrote it. The list pastes the stored text when
# the key matches and falls back to building the Feature otherwise. The columns are not model fields: only
# the trigger writes them and only the list's raw SQL reads them. SQLite has neither.

from django.db import migrations

PG_FORWARD = """
ALTER TABLE incidents_incident ADD COLUMN IF NOT EXISTS public_feature text NULL;
ALTER TABLE incidents_incident ADD COLUMN IF NOT EXISTS public_feature_key varchar(32) NULL;
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS incidents_incident_public_feature ON incidents_incident;
DROP FUNCTION IF EXISTS alcabala_public_feature();
ALTER TABLE incidents_incident DROP COLUMN IF EXISTS public_feature_key;
ALTER TABLE incidents_incident DROP COLUMN IF EXISTS public_feature;
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
        ("incidents", "0005_audit_no_truncate"),
    ]

    operations = [
        migrations.RunPython(forward, reverse),
    ]
