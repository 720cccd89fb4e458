from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, Point
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletAdminWidget
from leaflet.forms.widgets import LeafletWidget

from geo.geocoding import parse_coordinates
from incidents.models import Kind


class LoginForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(render_value=False))
    otp_token = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=8,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class TokenForm(forms.Form):
    otp_token = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class _ShowsBadInputEmpty:
    """A map widget that shows an unreadable value as an empty map when the form comes back with its error.

    Django's geometry widgets catch GEOS's errors but not GDAL's, which GeoJSON it cannot read raises
    (`{"type": "Point", "coordinates": []}`): the page with the error would otherwise be a 500.
    """

    def deserialize(self, value):
        try:
            return super().deserialize(value)  # type: ignore[misc]
        except GDALException:
            return None


class PointWidget(_ShowsBadInputEmpty, LeafletWidget):
    pass


class AdminPointWidget(_ShowsBadInputEmpty, LeafletAdminWidget):
    pass


def _one_point(text: str) -> Point:
    """The widget's point (GeoJSON, WKT or WKB), refusing garbage, other shapes, EMPTY and NaN or out of range."""
    try:
        geometry = GEOSGeometry(text, srid=4326)
    except (ValueError, TypeError, GEOSException, GDALException):
        geometry = None
    if not isinstance(geometry, Point):
        raise forms.ValidationError(_("Put one point on the map."))
    try:
        lon, lat = geometry.x, geometry.y  # an EMPTY point, or one of NaN (GEOS reads those as empty), has none
    except (IndexError, GEOSException):
        raise forms.ValidationError(_("Put one point on the map.")) from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise forms.ValidationError(_("The point must be on the map: longitude within ±180, latitude within ±90."))
    return Point(lon, lat, srid=4326)


class EnrolForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(render_value=False))
    code = forms.CharField(
        label=_("Enrolment code from your administrator"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )


class IssueTokenForm(forms.Form):
    name = forms.CharField(label=_("What the token is for"), max_length=100, required=False)


class PointForm(forms.Form):
    """A point from django-leaflet's map widget, or typed as "lat, lon" for those who work from the keyboard."""

    point = forms.CharField(required=False, widget=PointWidget(attrs={"geom_type": "Point"}))
    coordinates = forms.CharField(label=_("Or type lat, lon"), required=False, max_length=60)
    reason = forms.CharField(label=_("Reason (for the audit log)"), required=False, max_length=1000)

    def __init__(self, *args, csp_nonce: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["point"].widget.csp_nonce = csp_nonce

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        point: Point | None = None
        if data.get("coordinates"):
            point = parse_coordinates(data["coordinates"])
            if point is None:
                raise forms.ValidationError(_("Type the coordinates as lat, lon, e.g. 10.48, -66.90."))
        elif data.get("point"):
            point = _one_point(data["point"])
        if point is None:
            raise forms.ValidationError(_("Put the point on the map or type its coordinates."))
        data["location"] = point
        return data


class CorrectionForm(PointForm):
    """What a moderator corrects of a report: its kind, its place (kept when left empty), when it was seen."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices)
    observed_at = forms.DateTimeField(
        label=_("Seen at (leave as it is to keep)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    field_order = ["kind", "point", "coordinates", "observed_at", "reason"]

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            if self.cleaned_data.get("coordinates"):
                raise
            self.cleaned_data["location"] = None  # no new point: the report keeps its own
            return self.cleaned_data
