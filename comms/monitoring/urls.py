"""Operations endpoints, mounted at the root: /health/, /health/ready/, /metrics."""

from django.urls import path

from . import views

urlpatterns = [
    path("health/", views.health, name="health"),
    path("health/ready/", views.ready, name="health-ready"),
    path("metrics", views.metrics, name="metrics"),
]
