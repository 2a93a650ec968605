from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "apps.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from apps.billing.lifecycle import organization_plan_assign
        from apps.core import lifecycle

        lifecycle.register_organization_steps(prepare=organization_plan_assign)
