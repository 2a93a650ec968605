from django.apps import AppConfig


class SettingsConfig(AppConfig):
    name = "apps.settings"
    label = "settings"
    verbose_name = "Organization settings"
