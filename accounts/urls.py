"""Routes for members' own pages."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("settings/", views.member_settings, name="member_settings"),
]
