"""After the crisis: the client survey (signed link, no login), the internal debrief, the
leadership review with its exports, the proof of notification and the follow-ups."""

from django.urls import path

from playbooks.debriefs import views

urlpatterns = [
    path("survey/<str:token>/", views.survey_page, name="survey"),
    path("incidents/<int:pk>/debrief/", views.debrief_page, name="debrief"),
    path("incidents/<int:pk>/debrief/actions/", views.debrief_action_add_view, name="debrief_action_add"),
    path("incidents/<int:pk>/debrief/actions/<int:item_pk>/", views.debrief_action_view, name="debrief_action"),
    path("incidents/<int:pk>/debrief/state/", views.debrief_state_view, name="debrief_state"),
    path("incidents/<int:pk>/review/", views.incident_review, name="incident_review"),
    path("incidents/<int:pk>/proof/", views.incident_proof, name="incident_proof"),
    path("incidents/<int:pk>/proof.csv", views.incident_proof_csv, name="incident_proof_csv"),
    path("leadership/", views.leadership_view, name="leadership"),
    path("leadership/export.csv", views.leadership_csv, name="leadership_csv"),
    path("follow-ups/", views.follow_up_list_view, name="follow_up_list"),
    path("follow-ups/<int:pk>/close/", views.follow_up_close_view, name="follow_up_close"),
]
