"""A probe endpoint for the row-level-security tests: it reads a table with
no customer filter at all, as forgetful code would."""

from django.db import connection
from django.urls import include, path
from rest_framework.response import Response

from apps.core.api import TenantAPIView
from apps.core.rls import current_customer_scope


class ForgetfulView(TenantAPIView):
    permission_resource = None

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT note FROM rls_probe ORDER BY note")
            notes = [row[0] for row in cursor.fetchall()]
        return Response({"notes": notes, "scope": current_customer_scope()})


urlpatterns = [
    path("api/v1/probe", ForgetfulView.as_view()),
    path("", include("fastn.urls")),
]
