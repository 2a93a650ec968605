"""Users and their memberships in organizations (public schema).

A user may belong to several organizations, each time with one role. The role
is a slug: one of the system roles of `apps.accounts.roles`, or a custom role
defined inside the organization.
"""

import uuid

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email: str):
        return self.get(email__iexact=email)


class User(AbstractUser):
    """A person who signs in. Identified by email; no username."""

    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_unique_ci")]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email.split("@", 1)[0]


class Membership(models.Model):
    """A user's place in one organization, with the role they act with there."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        # Signed up with one of the organization's email domains and waits
        # for an administrator's approval (no access until then).
        PENDING = "pending", "Pending approval"
        SUSPENDED = "suspended", "Suspended"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique_user_org"),
        ]
        indexes = [models.Index(fields=["organization", "role"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} as {self.role}"


class Team(models.Model):
    """A named group of an organization's members (for filtering and ownership)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="teams")
    slug = models.SlugField(max_length=64)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True)
    members = models.ManyToManyField(Membership, related_name="teams", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="team_unique_slug_per_org")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Invitation(models.Model):
    """An emailed, expiring, single-use invitation to join an organization.

    Only a SHA-256 hash of the link's token is stored; `accepted_at` is set by
    a conditional UPDATE, so a link can be used once even when clicked twice
    at the same moment.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=64)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"], name="invitation_org_newest")]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organization}"

    def status_at(self, now) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "pending"


class EmailDomain(models.Model):
    """People who sign up with a verified address at this domain may join the
    organization: at once as Viewer (auto-approve) or after approval."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="email_domains")
    domain = models.CharField(max_length=253)
    auto_approve = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "domain"], name="email_domain_unique_per_org"),
        ]
        indexes = [models.Index(fields=["domain"], name="email_domain_lookup")]
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class ExternalIdentity(models.Model):
    """A user's subject at an OIDC issuer, linked at their first SSO sign-in."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="external_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="external_identity_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.subject}@{self.issuer}"


class PendingOrganization(models.Model):
    """Self-serve sign-up: the organization a new person asked for, created
    (with them as its Owner) once their e-mail address is verified, so that
    unverified sign-ups never cost a schema."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="pending_organization")
    name = models.CharField(max_length=200)
    organization = models.ForeignKey("core.Organization", on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} for {self.user}"
