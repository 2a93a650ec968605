"""The demo organization of `make run` and its stable API key."""

from django.db import models


class DemoOrganization(models.Model):
    """Which organization is the demo, and its API key.

    API keys are stored hashed and shown once; the demo's key is printed at
    every start, so the raw key is kept here too, encrypted with the
    encryption keys of FASTN_ENCRYPTION_KEYS (like connection credentials).
    """

    organization = models.OneToOneField("core.Organization", on_delete=models.CASCADE, related_name="+")
    api_key_id = models.UUIDField(null=True, blank=True)
    api_key_ciphertext = models.TextField(blank=True)
    seeded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"demo: {self.organization_id}"
