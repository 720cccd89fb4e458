"""`manage.py create_api_key`: the key printed once works, and only its hash is kept."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from consumers.models import ApiKey, hash_key

pytestmark = pytest.mark.django_db


def test_the_printed_key_is_the_only_copy_and_it_opens_the_keyed_api():
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "  El Pitazo, datos@example.org", "--reads-per-minute", "90", stdout=out, stderr=err)
    key = out.getvalue().strip()
    row = ApiKey.objects.get()
    assert row.name == "El Pitazo, datos@example.org" and row.reads_per_minute == 90
    assert row.key_hash == hash_key(key) and key not in err.getvalue() and row.prefix in err.getvalue()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/webhooks").status_code == 200  # webhooks need a key
    call_command("create_api_key", "Efecto Cocuyo", stdout=io.StringIO(), stderr=io.StringIO())
    assert ApiKey.objects.get(name="Efecto Cocuyo").reads_per_minute is None


@pytest.mark.parametrize("args", [[" "], ["x" * 201], ["Newsroom", "--reads-per-minute", "0"]])
def test_a_bad_name_or_limit_makes_no_key(args):
    with pytest.raises(CommandError):
        call_command("create_api_key", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiKey.objects.exists()
