from __future__ import annotations

from django.urls import path
from django.views.decorators.gzip import gzip_page

from ogc import views

app_name = "ogc"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("conformance", views.conformance, name="conformance"),
    path("api", views.api, name="api"),
    path("api.html", views.DocsView.as_view(), name="docs"),
    path("collections", views.collections, name="collections"),
    path("collections/incidents", views.collection, name="collection"),
    path("collections/incidents/queryables", views.queryables_view, name="queryables"),
    path("collections/incidents/items", gzip_page(views.items), name="items"),
    path("collections/incidents/items/<str:item_id>", views.item, name="item"),
]
