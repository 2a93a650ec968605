from django.urls import path

from apps.settings import api

urlpatterns = [
    path("customers", api.CustomerListView.as_view(), name="customers"),
    path("customers/<str:external_id>", api.CustomerDetailView.as_view(), name="customer"),
    path("secrets", api.SecretListView.as_view(), name="secrets"),
    path("secrets/<str:name>", api.SecretDetailView.as_view(), name="secret"),
    path("api-keys", api.ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/<str:key_id>", api.ApiKeyDetailView.as_view(), name="api-key"),
    path("environments", api.EnvironmentListView.as_view(), name="environments"),
    path("environments/<str:slug>", api.EnvironmentDetailView.as_view(), name="environment"),
    path("audit-log", api.AuditLogView.as_view(), name="audit-log"),
    path("roles", api.RoleListView.as_view(), name="roles"),
    path("roles/<str:slug>", api.RoleDetailView.as_view(), name="role"),
]
