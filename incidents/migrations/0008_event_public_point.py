# Outbox events kept the incident's stored point, and the feed's and webhooks' areas matched against it:
# a bbox bisected on /feeds/incidents.atom learned the exact point. Events now keep their Feature's public,
# snapped point; this rewrites the rows written before.

from django.contrib.gis.geos import Point
from django.db import migrations


def snap_event_points(apps, schema_editor):
    IncidentEvent = apps.get_model("incidents", "IncidentEvent")
    for event in IncidentEvent.objects.only("id", "feature").iterator(chunk_size=1000):
        lon, lat = event.feature["geometry"]["coordinates"]
        IncidentEvent.objects.filter(pk=event.pk).update(point=Point(lon, lat, srid=4326))


class Migration(migrations.Migration):
    dependencies = [("incidents", "0007_incident_events")]

    operations = [migrations.RunPython(snap_event_points, migrations.RunPython.noop)]
