"""Serializer fields that take JSON's types as the schema states them.

DRF coerces: a CharField takes 0.0 as "0.0", a BooleanField takes 0 or "yes". A client that sent a number
for a text, or a number for a boolean, sent something else than it meant; the schema says string or
boolean, so the server refuses the rest with a 400, as schemathesis checks. A multipart form's values are
all text and still pass as text.
"""

from __future__ import annotations

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    default_error_messages = {"not_text": "This must be a string (text in quotes), not a {kind}."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text", kind=type(data).__name__)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"not_boolean": "This must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("not_boolean")
        return data
