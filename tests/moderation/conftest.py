from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User


@pytest.fixture
def moderator(db) -> User:
    user = User.objects.create_user("mod", password="a long passphrase 1")
    user.groups.add(Group.objects.get_or_create(name="moderators")[0])
    return user


@pytest.fixture
def citizen(db) -> User:
    return User.objects.create_user("someone", password="a long passphrase 2")


def verify(client, user):
    """Log `user` in on `client` with a confirmed TOTP device already verified in this session."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="default", confirmed=True
    )
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


@pytest.fixture
def mod_client(client, moderator):
    verify(client, moderator)
    return client
