from django.urls import path
from django.views.generic import RedirectView

from apps.accounts import views as people_views
from apps.settings import views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="settings_people"), name="settings"),
    path("people/", people_views.people, name="settings_people"),
    path("people/invite", people_views.invite, name="settings_invite"),
    path("people/invites/<str:invitation_id>/revoke", people_views.invitation_revoke, name="settings_invite_revoke"),
    path("people/members/<str:member_id>", people_views.member_update, name="settings_member_update"),
    path("people/members/<str:member_id>/remove", people_views.member_remove, name="settings_member_remove"),
    path("people/teams", people_views.team_create, name="settings_team_create"),
    path("people/teams/<str:slug>/members", people_views.team_membership, name="settings_team_membership"),
    path("people/teams/<str:slug>/delete", people_views.team_delete, name="settings_team_delete"),
    path("general/", people_views.general, name="settings_general"),
    path("general/domains", people_views.email_domain_add, name="settings_domain_add"),
    path("general/domains/<str:domain>", people_views.email_domain_change, name="settings_domain_change"),
    path("api-keys/", views.api_keys, name="settings_api_keys"),
    path("api-keys/<str:key_id>/revoke", views.api_key_revoke, name="settings_api_key_revoke"),
    path("secrets/", views.secrets_page, name="settings_secrets"),
    path("secrets/<str:name>/delete", views.secret_delete, name="settings_secret_delete"),
    path("environments/", views.environments, name="settings_environments"),
    path("environments/<str:slug>/delete", views.environment_delete, name="settings_environment_delete"),
    path("customers/", views.customers, name="settings_customers"),
    path("customers/<str:external_id>/delete", views.customer_delete, name="settings_customer_delete"),
    path("audit-log/", views.audit_log, name="settings_audit_log"),
    path("roles/", views.roles, name="settings_roles"),
    path("roles/<str:slug>", views.role_save, name="settings_role_save"),
    path("roles/<str:slug>/delete", views.role_delete, name="settings_role_delete"),
]
