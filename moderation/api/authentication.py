"""Moderator tokens for the moderation API: hashed, expiring, revocable (moderation/accounts.py)."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from moderation import accounts

_REFUSED = {
    "invalid": "This moderation token is not valid. Issue one at /moderate/tokens after logging in.",
    "expired": "This moderation token has expired. Issue a new one at /moderate/tokens after logging in.",
    "revoked": "This moderation token was revoked. Issue a new one at /moderate/tokens after logging in.",
}


class ModeratorTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <token>`; an unknown, expired or revoked token is a 401 that says which."""

    keyword = "token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.encode():
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the header as `Authorization: Token <token>`.", code="token_invalid")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(_REFUSED["invalid"], code="token_invalid") from None
        try:
            user = accounts.token_user(token=token)
        except accounts.TokenRefused as exc:
            raise AuthenticationFailed(_REFUSED[exc.code], code=f"token_{exc.code}") from None
        return (user, None)

    def authenticate_header(self, request) -> str:
        return 'Token realm="moderation"'
