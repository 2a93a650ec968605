"""Dashboard pages of workflows, under /o/<org-slug>/ (wired in fastn/urls.py)."""

from django.urls import path

from apps.workflows import views
from apps.workflows.authoring import views as authoring

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
    path("integrations/workflows/<slug:slug>/compile", authoring.workflow_compile, name="workflow_compile"),
    path("integrations/workflows/<slug:slug>/docs", authoring.workflow_docs, name="workflow_docs"),
    path("integrations/workflows/<slug:slug>/docs.md", authoring.workflow_reference_download, name="workflow_docs_md"),
    path(
        "integrations/workflows/<slug:slug>/sequence/<str:execution_id>",
        authoring.workflow_sequence,
        name="workflow_sequence",
    ),
    path("integrations/workflows/<slug:slug>/test-cases/", authoring.test_cases, name="workflow_test_cases"),
    path(
        "integrations/workflows/<slug:slug>/test-cases/run",
        authoring.test_cases_run_all,
        name="workflow_test_cases_run",
    ),
    path(
        "integrations/workflows/<slug:slug>/test-cases/<str:case_id>/run",
        authoring.test_case_run,
        name="workflow_test_case_run",
    ),
    path(
        "integrations/workflows/<slug:slug>/test-cases/<str:case_id>/approve",
        authoring.test_case_approve,
        name="workflow_test_case_approve",
    ),
    path(
        "integrations/workflows/<slug:slug>/test-cases/<str:case_id>/feedback",
        authoring.test_case_feedback,
        name="workflow_test_case_feedback",
    ),
    path(
        "integrations/workflows/<slug:slug>/test-cases/<str:case_id>/delete",
        authoring.test_case_delete,
        name="workflow_test_case_delete",
    ),
    path(
        "integrations/workflows/<slug:slug>/test-runs/<str:suite_id>",
        authoring.test_run_progress,
        name="workflow_test_run",
    ),
]
