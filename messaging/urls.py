from __future__ import annotations

from django.urls import path

from messaging import views

app_name = "messaging"
urlpatterns = [
    path("sms/smssync", views.smssync, name="smssync"),
    path("sms/twilio", views.twilio, name="twilio"),
    path("telegram", views.telegram, name="telegram"),
]
