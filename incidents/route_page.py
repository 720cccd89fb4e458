"""The words of the map's route check (static/map/route.js), translated here and handed over as JSON."""

from __future__ import annotations

from django.utils.translation import gettext as _

from incidents.models import Kind


def route_strings() -> dict[str, str]:
    return {
        **{f"kind.{value}": str(label) for value, label in Kind.choices},
        "start": _("Start"),
        "end": _("End"),
        "stop": _("Stop {n}"),
        "placeholder": _("Place name, or lat, lon"),
        "find": _("Find"),
        "onMap": _("On the map"),
        "myPosition": _("My position"),
        "remove": _("Remove"),
        "notSet": _("Not chosen yet"),
        "tapMap": _("Tap the map to place: {what}"),
        "cancel": _("Cancel"),
        "searching": _("Searching…"),
        "noPlace": _("No place found for “{q}”."),
        "choose": _("Choose one:"),
        "picked": _("Point on the map ({lat}, {lon})"),
        "located": _("Your position"),
        "locating": _("Finding your position…"),
        "locateFailed": _("Could not get your position."),
        "checking": _("Checking the route…"),
        "found": _("{n} active incidents within {m} m of the route ({km} km), in order along it."),
        "foundOne": _("1 active incident within {m} m of the route ({km} km)."),
        "none": _("No active incident within {m} m of the route ({km} km)."),
        "more": _("Showing the first {n} of {total}."),
        "failed": _("The route could not be checked: {detail}"),
        "unreachable": _("Could not reach the server. Try again."),
        "needTwo": _("Choose a start and an end, or use a GPX or GeoJSON line."),
        "fileRoute": _("Line from a file or pasted: {n} points."),
        "simplified": _("The track of {n} points was simplified (the line moved at most {m} m)."),
        "emptyText": _("Paste a GPX or GeoJSON line, or choose a file."),
        "verified": _("Verified"),
        "unconfirmed": _("Unconfirmed"),
        "confidence": _("confidence {pct}%"),
        "along": _("km {km} of the route"),
        "off": _("{m} m off the route"),
        "noPlaceName": _("Unnamed place"),
    }
