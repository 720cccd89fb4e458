from __future__ import annotations

from django.urls import path
from django.views.decorators.gzip import gzip_page

from ogc import views

app_name = "ogc"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("conformance", views.conformance, name="conformance"),
    path("collections", views.collections, name="collections"),
    path("collections/incidents", views.collection, name="collection"),
    path("collections/incidents/items", gzip_page(views.items), name="items"),
    path("collections/incidents/items/<str:item_id>", views.item, name="item"),
]
