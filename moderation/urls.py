from __future__ import annotations

from django.urls import path

from moderation import views
from trust import views as trust_views

app_name = "moderation"

urlpatterns = [
    path("", views.queue_view, name="queue"),
    path("login", views.login_view, name="login"),
    path("verify", views.verify_view, name="verify"),
    path("enrol", views.enrol_view, name="enrol"),
    path("setup", views.setup_view, name="setup"),
    path("tokens", views.tokens_view, name="tokens"),
    path("tokens/<int:token_id>/revoke", views.token_revoke_view, name="token-revoke"),
    path("trusted", trust_views.reporters_view, name="trusted"),
    path("trusted/<int:reporter_id>/revoke", trust_views.reporter_revoke_view, name="trusted-revoke"),
    path("logout", views.logout_view, name="logout"),
    path("bulk", views.bulk_view, name="bulk"),
    path("incidents/<int:incident_id>", views.incident_view, name="incident"),
    path("incidents/<int:incident_id>/act", views.act_view, name="act"),
    path("incidents/<int:incident_id>/audit", views.audit_view, name="audit"),
    path("reports/<uuid:report_id>/photo", views.photo_view, name="photo"),
    path("reports/<uuid:report_id>/place", views.place_view, name="place"),
    path("reports/<uuid:report_id>/split", views.split_view, name="split"),
    path("reports/<uuid:report_id>/correct", views.correct_view, name="correct"),
]
