"""The channels' webhooks: SMSSync (an Android gateway phone), Twilio and a Telegram bot.

Each answers 404 while its secret is unset, and 403, storing nothing, to a request without the right
secret or signature. They are called by gateways, not browsers, and authenticated by that secret: no CSRF
token and no `same_origin_guard` apply (a page that cannot know the secret cannot use them). The reply goes
back in the webhook's own answer, so no outbound connection is needed. The sender's number or id is handed
to `message_receive` and to the answer, and kept nowhere else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from xml.sax.saxutils import escape

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from messaging import conf
from messaging.services import Message, message_receive

MAX_TEXT = 4096  # Telegram's own limit; SMS are far shorter


def _secret(channel: str) -> str:
    secret = conf.secret(channel)
    if secret is None:
        raise Http404
    return secret


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _forbidden() -> HttpResponse:
    return HttpResponseForbidden("forbidden", content_type="text/plain")


@csrf_exempt
@never_cache
@require_POST
def smssync(request: HttpRequest) -> HttpResponse:
    """SMSSync: form fields from, message, message_id, sent_timestamp, secret; the reply as a task to send."""
    if not _same(request.POST.get("secret"), _secret("smssync")):
        return _forbidden()
    sender = request.POST.get("from", "")
    reply = message_receive(
        message=Message(
            channel="sms",
            gateway="smssync",
            sender=sender,
            text=request.POST.get("message", "")[:MAX_TEXT],
            message_id=request.POST.get("message_id", ""),
        )
    )
    payload = {"success": True, "error": None, "task": "send", "messages": [{"to": sender, "message": reply.text}]}
    return JsonResponse({"payload": payload})


def twilio_signature(token: str, url: str, params: list[tuple[str, list[str]]]) -> str:
    """Twilio's X-Twilio-Signature: base64(HMAC-SHA1(auth token, the full URL, then each POST parameter's
    name and value, in name order))."""
    data = url + "".join(name + value for name, values in sorted(params) for value in values)
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@csrf_exempt
@never_cache
@require_POST
def twilio(request: HttpRequest) -> HttpResponse:
    """Twilio's SMS webhook: form fields From, Body, MessageSid, signed; the reply as TwiML."""
    token = _secret("twilio")
    # The URL as Twilio called it: behind a proxy, SECURE_PROXY_SSL_HEADER and the Host header make it so.
    expected = twilio_signature(token, request.build_absolute_uri(), list(request.POST.lists()))
    if not _same(request.META.get("HTTP_X_TWILIO_SIGNATURE"), expected):
        return _forbidden()
    reply = message_receive(
        message=Message(
            channel="sms",
            gateway="twilio",
            sender=request.POST.get("From", ""),
            text=request.POST.get("Body", "")[:MAX_TEXT],
            message_id=request.POST.get("MessageSid", ""),
        )
    )
    body = f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(reply.text)}</Message></Response>'
    return HttpResponse(body, content_type="text/xml; charset=utf-8")


@csrf_exempt
@never_cache
@require_POST
def telegram(request: HttpRequest) -> HttpResponse:
    """A Telegram bot's webhook: an Update with a text message or a location; the reply as sendMessage."""
    if not _same(request.META.get("HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"), _secret("telegram")):
        return _forbidden()
    try:
        update = json.loads(request.body)
    except ValueError:
        return HttpResponse(status=400)
    # Only new messages: an edited one would be a second report of the same thing.
    message = update.get("message") if isinstance(update, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        return HttpResponse(status=200)  # an update of another kind: nothing to do, and no retry wanted
    chat_id = message["chat"].get("id")
    sender = (message.get("from") or {}).get("id", chat_id)
    location = message.get("location") or (message.get("venue") or {}).get("location")
    lat_lon = None
    if isinstance(location, dict):
        try:
            lat_lon = (float(location["latitude"]), float(location["longitude"]))
        except (KeyError, TypeError, ValueError):
            lat_lon = None
    text = message.get("text") or message.get("caption") or ""
    if not isinstance(text, str) or (not text and lat_lon is None):
        return HttpResponse(status=200)
    reply = message_receive(
        message=Message(
            channel="telegram",
            gateway="telegram",
            sender=str(sender),
            text=text[:MAX_TEXT],
            message_id=str(update.get("update_id", "")),
            lat_lon=lat_lon,
        )
    )
    return JsonResponse({"method": "sendMessage", "chat_id": chat_id, "text": reply.text})
