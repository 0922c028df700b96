"""The client survey page, reached by its signed link."""

from django.urls import path

from candor.throttling import rate_limited
from playbooks.surveys import views

urlpatterns = [
    path("survey/<str:token>/", rate_limited("client_links")(views.survey_page), name="survey"),
]
