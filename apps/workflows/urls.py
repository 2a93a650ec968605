"""Dashboard pages of workflows, under /o/<org-slug>/ (wired in fastn/urls.py)."""

from django.urls import path

from apps.workflows import views

urlpatterns = [
    path("integrations/workflows/", views.workflow_list, name="workflows"),
    path("integrations/workflows/<slug:slug>/", views.workflow_detail, name="workflow"),
    path("integrations/workflows/<slug:slug>/publish", views.workflow_publish, name="workflow_publish"),
    path("integrations/workflows/<slug:slug>/deploy", views.workflow_deploy, name="workflow_deploy"),
    path("integrations/workflows/<slug:slug>/discard", views.workflow_discard, name="workflow_discard"),
    path("integrations/workflows/<slug:slug>/delete", views.workflow_delete, name="workflow_delete"),
    path("integrations/workflows/<slug:slug>/run", views.workflow_run, name="workflow_run"),
    path("integrations/workflows/<slug:slug>/test", views.workflow_test, name="workflow_test"),
    path("integrations/workflows/<slug:slug>/executions", views.workflow_executions, name="workflow_executions"),
    path("integrations/workflows/<slug:slug>/versions/<int:number>/", views.workflow_version, name="workflow_version"),
]
