from __future__ import annotations

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def no_language_left_active():
    """A webhook request leaves its language active in this thread (LocaleMiddleware); later tests expect the
    one before."""
    before = translation.get_language()
    yield
    if before is None:
        translation.deactivate_all()
    else:
        translation.activate(before)
