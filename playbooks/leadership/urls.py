"""Leadership: one incident's review, the overview with its export, the proof of notification."""

from django.urls import path

from playbooks.leadership import views

urlpatterns = [
    path("incidents/<int:pk>/review/", views.incident_review, name="incident_review"),
    path("incidents/<int:pk>/proof/", views.incident_proof, name="incident_proof"),
    path("incidents/<int:pk>/proof.csv", views.incident_proof_csv, name="incident_proof_csv"),
    path("leadership/", views.leadership_view, name="leadership"),
    path("leadership/export.csv", views.leadership_csv, name="leadership_csv"),
]
