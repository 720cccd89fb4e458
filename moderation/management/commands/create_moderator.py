"""Create a moderator (or make an existing user one) with a TOTP device, and print its enrolment URI."""

from __future__ import annotations

import getpass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from moderation.conf import MODERATORS_GROUP


class Command(BaseCommand):
    help = "Create a moderator with a TOTP device; prints the otpauth:// URI to load into an authenticator app."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--staff", action="store_true", help="also give access to /admin/")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input, not a prompt"
        )

    def handle(self, *args, username: str, email: str, staff: bool, password_stdin: bool, **options):
        password = input() if password_stdin else getpass.getpass("Password: ")
        if len(password) < 12:
            raise CommandError("Use a password of at least 12 characters.")
        User = get_user_model()
        with transaction.atomic():
            user, created = User.objects.get_or_create(username=username, defaults={"email": email})
            user.set_password(password)
            user.is_staff = user.is_staff or staff
            user.save()
            user.groups.add(Group.objects.get_or_create(name=MODERATORS_GROUP)[0])
            TOTPDevice.objects.filter(user=user).delete()
            device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
        self.stdout.write(f"{'Created' if created else 'Updated'} moderator {username}.")
        self.stdout.write("Load this into an authenticator app (it is shown once):")
        self.stdout.write(device.config_url)
