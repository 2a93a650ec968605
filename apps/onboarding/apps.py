from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "apps.onboarding"
    label = "onboarding"
    verbose_name = "Setup assistant"

    def ready(self) -> None:
        from apps.core.lifecycle import register_organization_steps
        from apps.onboarding.services import onboarding_start_for_new_organization

        register_organization_steps(created=onboarding_start_for_new_organization)
