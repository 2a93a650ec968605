from django.contrib import admin

from apps.billing.models import Plan


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "enforcement", "monthly_price_cents", "monthly_credits")
    search_fields = ("slug", "name")
    fields = ("slug", "name", "limits", "enforcement", "enforcements", "monthly_price_cents", "monthly_credits")
