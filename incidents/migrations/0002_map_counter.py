from __future__ import annotations

from django.db import migrations


def create_counter(apps, schema_editor):
    Counter = apps.get_model("incidents", "Counter")
    Counter.objects.get_or_create(name="map", defaults={"value": 0})


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [migrations.RunPython(create_counter, migrations.RunPython.noop)]
