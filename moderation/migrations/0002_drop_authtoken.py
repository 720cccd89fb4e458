"""Drop DRF's authtoken table: its tokens were kept in plain text, and nothing reads them any more.

rest_framework.authtoken left INSTALLED_APPS when the moderation API moved to hashed, expiring tokens
(moderation.ModeratorToken). Its migration records go too, so that installing the app again would
create its table afresh. Nothing to undo: the old tokens are not to come back.
"""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("moderation", "0001_initial")]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL("DELETE FROM django_migrations WHERE app = 'authtoken'", reverse_sql=migrations.RunSQL.noop),
    ]
