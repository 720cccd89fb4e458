from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User


@pytest.fixture
def moderator(db) -> User:
    user = User.objects.create_user("mod", password="a long passphrase 1")
    user.groups.add(Group.objects.get_or_create(name="moderators")[0])
    return user
