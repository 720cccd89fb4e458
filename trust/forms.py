from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from trust.conf import LABEL_MAX_LENGTH


class RedeemForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false", "autofocus": True}
        ),
    )


class EnrolForm(forms.Form):
    label = forms.CharField(
        label=_("Pseudonym"),
        max_length=LABEL_MAX_LENGTH,
        help_text=_(
            "A pseudonym such as T-17. Never a real name, a phone number or a nickname people know: anyone who "
            "takes the database sees this label beside every report it made."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
