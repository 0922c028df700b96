"""The client survey page, reached by its signed link."""

from django.urls import path

from playbooks.surveys import views

urlpatterns = [
    path("survey/<str:token>/", views.survey_page, name="survey"),
]
