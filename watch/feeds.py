"""The Atom feed of an area: `/feeds/incidents.atom?bbox=minLon,minLat,maxLon,maxLat&kind=a,b`.

One entry per public event (an incident appeared on the map, was verified, ended or was withdrawn), the
newest FEED_MAX_ENTRIES of the last FEED_DAYS days. Entries show only what the public API shows: the
event's public Feature (snapped point, rounded times). Titles and summaries follow the page language.
An unchanged feed is answered 304 from the map version in Redis, without the database.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from consumers import throttle
from geo.spatial import bbox_bounds, floor_time
from incidents import conf as incidents_conf
from incidents.api import etag, params
from incidents.models import EventType, IncidentEvent, Kind, Status
from incidents.public import fields
from watch import conf, selectors

GEORSS = "http://www.georss.org/georss"


class AtomWithPoints(Atom1Feed):
    """Atom 1.0 with a GeoRSS-Simple point on each entry, so that map-aware readers can place it."""

    def root_attributes(self) -> dict[str, str]:
        return {**super().root_attributes(), "xmlns:georss": GEORSS}

    def add_item_elements(self, handler, item) -> None:
        super().add_item_elements(handler, item)
        if item.get("point"):
            handler.addQuickElement("georss:point", item["point"])


def _title(event: IncidentEvent) -> str:
    properties = event.feature["properties"]
    lon, lat = event.feature["geometry"]["coordinates"]
    values = {"kind": Kind(event.kind).label, "place": properties["place"] or f"{lat:.4f}, {lon:.4f}"}
    if event.type == EventType.PUBLISHED:
        return _("%(kind)s reported near %(place)s") % values
    if event.type == EventType.VERIFIED:
        return _("%(kind)s verified near %(place)s") % values
    if event.type == EventType.UNPUBLISHED:
        return _("%(kind)s withdrawn from the map near %(place)s") % values
    if event.status == Status.CLEARED:
        return _("%(kind)s reported gone near %(place)s") % values
    if event.status == Status.REJECTED:
        return _("%(kind)s rejected by moderators near %(place)s") % values
    return _("%(kind)s expired near %(place)s") % values


def _summary(event: IncidentEvent) -> str:
    """Every labelled public property of the event's Feature, as the field table shows it to a person,
    and the snapped point. HTML built with escaping throughout: place and note are user text (architecture §6.7)."""
    properties = event.feature["properties"]
    lon, lat = event.feature["geometry"]["coordinates"]
    rows = fields.display_rows(properties)
    rows.append((_("Location"), f"{lat}, {lon}"))
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", rows))


class IncidentFeed(Feed):
    feed_type = AtomWithPoints
    author_name = "Alcabala"

    def get_object(self, request: HttpRequest, *args, **kwargs) -> dict:
        return {"request": request, **kwargs}

    def title(self, obj: dict) -> str:
        return _("Alcabala: checkpoints and dangers in the area you watch")

    def subtitle(self, obj: dict) -> str:
        parts = []
        if obj["bbox"] is not None:
            parts.append(_("Area: %(bbox)s") % {"bbox": ", ".join(f"{v:g}" for v in bbox_bounds(obj["bbox"]))})
        if obj["kinds"]:
            parts.append(_("Kinds: %(kinds)s") % {"kinds": ", ".join(str(Kind(k).label) for k in obj["kinds"])})
        parts.append(
            _("Incidents that appear on the map, are verified or end, from the last %(days)d days.")
            % {"days": conf.FEED_DAYS}
        )
        return " · ".join(parts)

    def link(self, obj: dict) -> str:
        return reverse("map")

    def feed_url(self, obj: dict) -> str:
        request = obj["request"]
        query = {}
        if obj["bbox"] is not None:
            query["bbox"] = ",".join(f"{v:g}" for v in bbox_bounds(obj["bbox"]))
        if obj["kinds"]:
            query["kind"] = ",".join(obj["kinds"])
        url = request.build_absolute_uri(request.path)
        return f"{url}?{urlencode(query)}" if query else url

    def feed_guid(self, obj: dict) -> str:
        return self.feed_url(obj)

    def items(self, obj: dict) -> list[IncidentEvent]:
        self._host = obj["request"].get_host().rsplit(":", 1)[0].strip("[]") or "localhost"
        return list(selectors.feed_events(bbox=obj["bbox"], kinds=obj["kinds"]))

    def item_title(self, item: IncidentEvent) -> str:
        return _title(item)

    def item_description(self, item: IncidentEvent) -> str:
        return _summary(item)

    def item_link(self, item: IncidentEvent) -> str:
        lon, lat = item.feature["geometry"]["coordinates"]
        query = urlencode({"kind": item.kind, "z": 15, "lat": f"{lat:.5f}", "lon": f"{lon:.5f}"})
        return f"{reverse('map')}?{query}"

    def item_guid(self, item: IncidentEvent) -> str:
        # A tag: URI (RFC 4151) that never changes for this event, whatever the entry's text.
        return f"tag:{self._host},{item.created_at:%Y-%m-%d}:alcabala/event/{item.pk}"

    def item_guid_is_permalink(self, item: IncidentEvent) -> bool:
        return False

    def item_pubdate(self, item: IncidentEvent) -> datetime:
        return floor_time(item.created_at, incidents_conf.public_time_step_s())

    def item_updateddate(self, item: IncidentEvent) -> datetime:
        return self.item_pubdate(item)

    def item_categories(self, item: IncidentEvent) -> list[str]:
        return [item.kind, item.type, item.feature["properties"]["status"]]

    def item_extra_kwargs(self, item: IncidentEvent) -> dict:
        lon, lat = item.feature["geometry"]["coordinates"]
        return {"point": f"{lat} {lon}"}


@require_GET
def incident_feed(request: HttpRequest) -> HttpResponse:
    # A bad parameter or key, or too many reads: the DomainError travels up to config.errors' middleware.
    bbox = params.parse_bbox(request.GET.get("bbox"))
    kinds = params.parse_kinds(request.GET.get("kind"))
    throttle.check_key(request)
    tag = etag.compute(request, "feed", get_language() or "")
    if etag.matches(request, tag):
        return etag.not_modified(tag)
    throttle.check_read(request)
    # One Feed per request: entries' ids use the request's host name.
    response = IncidentFeed()(request, bbox=bbox, kinds=kinds)
    response["ETag"] = tag
    response["Cache-Control"] = "no-cache"
    response["Vary"] = "Accept-Language, Cookie"
    return response
