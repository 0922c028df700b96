from django.urls import path

from playbooks.editor import views

urlpatterns = [
    path("playbooks/", views.playbook_list, name="playbook_editor_list"),
    path("playbooks/<int:pk>/", views.playbook_edit, name="playbook_editor"),
    path("playbooks/<int:pk>/duplicate/", views.playbook_copy, name="playbook_editor_duplicate"),
    path("playbooks/<int:pk>/history/", views.playbook_history, name="playbook_editor_history"),
    path("playbooks/<int:pk>/checklist/", views.checklist_add, name="playbook_editor_checklist"),
    path(
        "playbooks/<int:pk>/checklist/<int:item_pk>/remove/",
        views.checklist_remove,
        name="playbook_editor_checklist_remove",
    ),
    path("playbooks/<int:pk>/stages/<str:stage_name>/", views.stage_edit, name="playbook_editor_stage"),
    path("playbooks/<int:pk>/stages/<str:stage_name>/preview/", views.stage_preview, name="playbook_editor_preview"),
    path(
        "playbooks/<int:pk>/stages/<str:stage_name>/translate/", views.stage_translate, name="playbook_editor_translate"
    ),
]
