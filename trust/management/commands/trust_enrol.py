"""Enrol a trusted reporter under a pseudonym and print its one-time code (architecture §6.9)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from incidents.errors import DomainError
from moderation import conf as moderation_conf
from trust import services


class Command(BaseCommand):
    help = (
        "Enrol a trusted reporter and print a one-time code (shown once) that their phone redeems at /trusted. "
        "The label is a pseudonym such as T-17: never a real name."
    )

    def add_arguments(self, parser):
        parser.add_argument("--label", required=True, help="a pseudonym such as T-17, never a real name")
        parser.add_argument("--by", required=True, help="the user name of the moderator who enrols them")

    def handle(self, *args, label: str, by: str, **options):
        actor = get_user_model().objects.filter(username=by).first()
        if actor is None or not moderation_conf.is_moderator(actor):
            raise CommandError(f"{by!r} is not an active moderator.")
        try:
            enrolment, code = services.enrol(label=label, actor=actor)
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"Enrolled trusted reporter {enrolment.reporter.label}.")
        self.stdout.write(
            f"One-time code (shown once; works once, until {enrolment.expires_at:%Y-%m-%d %H:%M} UTC, "
            f"at {reverse('trusted')}):"
        )
        self.stdout.write(code)
