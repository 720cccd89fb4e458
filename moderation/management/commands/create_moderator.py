"""Create a moderator (or make an existing user one) and print a one-time enrolment code for its device."""

from __future__ import annotations

import getpass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from moderation import accounts, conf
from moderation.conf import MODERATORS_GROUP


class Command(BaseCommand):
    help = (
        "Create a moderator and print a one-time enrolment code: with it and the password, the moderator "
        "enrols an authenticator app at /moderate/enrol. Run it again for a moderator who lost the device."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--staff", action="store_true", help="also give access to /admin/")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input, not a prompt"
        )
        parser.add_argument(
            "--keep-password", action="store_true", help="an existing user keeps the password; only issue a code"
        )

    def handle(
        self, *args, username: str, email: str, staff: bool, password_stdin: bool, keep_password: bool, **options
    ):
        User = get_user_model()
        existing = User.objects.filter(username=username).first()
        if keep_password and existing is None:
            raise CommandError(f"There is no user {username!r} whose password could be kept.")
        password = None
        if not keep_password:
            password = input() if password_stdin else getpass.getpass("Password: ")
            if len(password) < 12:
                raise CommandError("Use a password of at least 12 characters.")
        with transaction.atomic():
            user, created = User.objects.get_or_create(username=username, defaults={"email": email})
            if password is not None:
                user.set_password(password)
            user.is_staff = user.is_staff or staff
            user.save()
            user.groups.add(Group.objects.get_or_create(name=MODERATORS_GROUP)[0])
            code = accounts.enrolment_issue(user=user)
        hours = conf.enrolment_ttl_s() // 3600
        self.stdout.write(f"{'Created' if created else 'Updated'} moderator {username}.")
        self.stdout.write(
            f"Enrolment code (shown once; works once, for {hours} hours, at {reverse('moderation:enrol')} "
            "with the password; any earlier device and API token of this account no longer works):"
        )
        self.stdout.write(code)
