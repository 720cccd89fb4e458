# The trusted reporters' log is append-only in the database, as the moderation log is (incidents 0004, 0005):
# UPDATE, DELETE and (PostgreSQL) TRUNCATE are refused by triggers, which stand aside only while
# `alcabala_audit_unlock` holds a row; only the project's `flush` command writes one, for the length of a flush.

from django.db import migrations

PG_FORWARD = """
CREATE TABLE IF NOT EXISTS alcabala_audit_unlock (flag INTEGER NOT NULL);
CREATE OR REPLACE FUNCTION alcabala_trust_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND EXISTS (SELECT 1 FROM alcabala_audit_unlock) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'trust events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER trust_trustevent_append_only
    BEFORE UPDATE OR DELETE ON trust_trustevent
    FOR EACH ROW EXECUTE FUNCTION alcabala_trust_append_only();
CREATE TRIGGER trust_trustevent_no_truncate
    BEFORE TRUNCATE ON trust_trustevent
    FOR EACH STATEMENT EXECUTE FUNCTION alcabala_trust_append_only();
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS trust_trustevent_append_only ON trust_trustevent;
DROP TRIGGER IF EXISTS trust_trustevent_no_truncate ON trust_trustevent;
DROP FUNCTION IF EXISTS alcabala_trust_append_only();
"""
SQLITE_FORWARD = [
    "CREATE TABLE IF NOT EXISTS alcabala_audit_unlock (flag INTEGER NOT NULL)",
    """CREATE TRIGGER trust_trustevent_no_update BEFORE UPDATE ON trust_trustevent
    BEGIN SELECT RAISE(ABORT, 'trust events are append-only: UPDATE refused'); END""",
    """CREATE TRIGGER trust_trustevent_no_delete BEFORE DELETE ON trust_trustevent
    WHEN NOT EXISTS (SELECT 1 FROM alcabala_audit_unlock)
    BEGIN SELECT RAISE(ABORT, 'trust events are append-only: DELETE refused'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS trust_trustevent_no_update",
    "DROP TRIGGER IF EXISTS trust_trustevent_no_delete",
]


def _run(schema_editor, statements: list[str]) -> None:
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def lock(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _run(schema_editor, [PG_FORWARD])
    elif schema_editor.connection.vendor == "sqlite":
        _run(schema_editor, SQLITE_FORWARD)


def unlock(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _run(schema_editor, [PG_REVERSE])
    elif schema_editor.connection.vendor == "sqlite":
        _run(schema_editor, SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [
        ("trust", "0001_initial"),
        ("incidents", "0005_audit_no_truncate"),
    ]

    operations = [
        migrations.RunPython(lock, unlock),
    ]
