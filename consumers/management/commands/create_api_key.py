"""`manage.py create_api_key NAME [--reads-per-minute N]`: make an API key and print it, this once.

The key alone goes to standard output (so `KEY=$(manage.py create_api_key "Newsroom")` keeps it), what was
made goes to standard error. Only the key's hash is stored, as when staff make one in the admin; a lost key
cannot be shown again: revoke it in the admin and make another.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consumers.models import ApiKey
from consumers.services import api_key_create

NAME_MAX = ApiKey._meta.get_field("name").max_length or 200
RATE_MAX = 2_147_483_647  # the column's bound (a PositiveIntegerField)


class Command(BaseCommand):
    help = "Create an API key for NAME (a newsroom and a contact) and print the key once; only its hash is kept."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who the key is for, e.g. a newsroom and a contact.")
        parser.add_argument(
            "--reads-per-minute",
            type=int,
            default=None,
            help="This key's read limit per minute; without it, API_READ_RATE_KEY applies.",
        )

    def handle(self, *args, name: str, reads_per_minute: int | None, **options) -> None:
        name = name.strip()
        if not name or len(name) > NAME_MAX:
            raise CommandError(f"NAME must be 1 to {NAME_MAX} characters.")
        if reads_per_minute is not None and not 1 <= reads_per_minute <= RATE_MAX:
            raise CommandError("--reads-per-minute must be a whole number of at least 1.")
        api_key, key = api_key_create(name=name, reads_per_minute=reads_per_minute)
        limit = f"{reads_per_minute} reads a minute" if reads_per_minute else "the API_READ_RATE_KEY limit"
        self.stderr.write(
            f"API key #{api_key.pk} for {api_key.name} ({api_key.prefix}…), {limit}. "
            "Send it as `Authorization: Token <key>`. It is shown this once: only its hash is kept."
        )
        self.stdout.write(key)
