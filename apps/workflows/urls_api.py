from django.urls import path

from apps.workflows import api
from apps.workflows.testcases import api as cases

urlpatterns = [
    path("workflows", api.WorkflowListView.as_view(), name="workflows"),
    path("workflows/<str:slug>", api.WorkflowDetailView.as_view(), name="workflow"),
    path("workflows/<str:slug>/test", api.WorkflowTestView.as_view(), name="workflow-test"),
    path("workflows/<str:slug>/publish", api.WorkflowPublishView.as_view(), name="workflow-publish"),
    path("workflows/<str:slug>/versions", api.WorkflowVersionsView.as_view(), name="workflow-versions"),
    path(
        "workflows/<str:slug>/versions/<int:number>", api.WorkflowVersionDetailView.as_view(), name="workflow-version"
    ),
    path("workflows/<str:slug>/deploy", api.WorkflowDeployView.as_view(), name="workflow-deploy"),
    path("workflows/<str:slug>/run", api.WorkflowRunView.as_view(), name="workflow-run"),
    path("workflows/<str:slug>/test-cases", cases.TestCaseListView.as_view(), name="workflow-test-cases"),
    path("workflows/<str:slug>/test-cases/run", cases.TestCaseRunAllView.as_view(), name="workflow-test-cases-run"),
    path(
        "workflows/<str:slug>/test-cases/<str:case_id>", cases.TestCaseDetailView.as_view(), name="workflow-test-case"
    ),
    path(
        "workflows/<str:slug>/test-cases/<str:case_id>/run",
        cases.TestCaseRunView.as_view(),
        name="workflow-test-case-run",
    ),
    path(
        "workflows/<str:slug>/test-cases/<str:case_id>/approve",
        cases.TestCaseApproveView.as_view(),
        name="workflow-test-case-approve",
    ),
    path("workflows/<str:slug>/test-runs/<str:suite_id>", cases.TestRunDetailView.as_view(), name="workflow-test-run"),
    path("executions", api.ExecutionListView.as_view(), name="executions"),
    path("executions/<str:execution_id>", api.ExecutionDetailView.as_view(), name="execution"),
]
