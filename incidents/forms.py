"""The report form as HTML sends it: the path that works without JavaScript."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.gis.geos import Point
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Kind

WHEN_CHOICES = [("0", _("Now")), ("15", _("15 min ago")), ("60", _("1 hour ago"))]


class ReportForm(forms.Form):
    client_id = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    kind = forms.ChoiceField(
        choices=Kind.choices, widget=forms.RadioSelect, error_messages={"required": _("Choose what you saw.")}
    )
    place = forms.CharField(
        required=False,
        max_length=200,
        label=_("Place, or lat, lon"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "enterkeyhint": "send"}),
    )
    lat = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-90, max_value=90)
    lon = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-180, max_value=180)
    accuracy_m = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=0, max_value=100_000)
    when = forms.ChoiceField(choices=WHEN_CHOICES, initial="0", widget=forms.RadioSelect, required=False)
    description = forms.CharField(
        required=False,
        max_length=500,
        label=_("What did you see? (optional)"),
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
    )
    photo = forms.FileField(required=False, label=_("Photo (optional)"))
    # A field people never see or fill; automated posters do.
    website = forms.CharField(required=False, label=_("Leave this empty"))

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        lat, lon = data.get("lat"), data.get("lon")
        if lat is not None and lon is not None and math.isfinite(lat) and math.isfinite(lon):
            data["point"] = Point(lon, lat, srid=4326)
        else:
            data["point"] = None
        if data["point"] is None and not (data.get("place") or "").strip() and "place" not in self.errors:
            self.add_error("place", _("Say where: use your location, or type a place or coordinates."))
        minutes = int(data.get("when") or 0)
        data["observed_at"] = timezone.now() - timedelta(minutes=minutes)
        return data
