"""The internal debrief and the follow-ups."""

from django.urls import path

from playbooks.debriefs import views

urlpatterns = [
    path("incidents/<int:pk>/debrief/", views.debrief_page, name="debrief"),
    path("incidents/<int:pk>/debrief/actions/", views.debrief_action_add_view, name="debrief_action_add"),
    path("incidents/<int:pk>/debrief/actions/<int:item_pk>/", views.debrief_action_view, name="debrief_action"),
    path("incidents/<int:pk>/debrief/state/", views.debrief_state_view, name="debrief_state"),
    path("follow-ups/", views.follow_up_list_view, name="follow_up_list"),
    path("follow-ups/<int:pk>/close/", views.follow_up_close_view, name="follow_up_close"),
]
