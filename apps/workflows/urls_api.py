from django.urls import path

from apps.workflows import api

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
    path("executions", api.ExecutionListView.as_view(), name="executions"),
    path("executions/<str:execution_id>", api.ExecutionDetailView.as_view(), name="execution"),
]
