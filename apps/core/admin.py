"""Django admin for platform staff: organizations and their domains.

Organization data (customers, secrets, keys, workflows) lives in each
organization's schema and is managed from the dashboard, not from here.
"""

from django.contrib import admin

from apps.core.models import Domain, Organization


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "account_id", "plan", "status", "schema_name", "created_at")
    list_filter = ("status", "plan", "is_template")
    search_fields = ("name", "slug", "account_id", "schema_name")
    readonly_fields = ("account_id", "schema_name", "created_at", "is_template")
    inlines = [DomainInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting drops a schema: done with a service, never by a click.
        return False


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary")
    search_fields = ("domain",)
