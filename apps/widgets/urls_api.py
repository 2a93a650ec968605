from django.urls import path

from apps.widgets.api import embed, embed_oauth, embed_runs, embed_templates, org

urlpatterns = [
    # The organization's side (API keys, dashboard sessions).
    path("customers/<str:external_id>/sessions", org.CustomerSessionListView.as_view(), name="customer-sessions"),
    path(
        "customers/<str:external_id>/sessions/<str:session_id>",
        org.CustomerSessionDetailView.as_view(),
        name="customer-session",
    ),
    path("embed-keys", org.EmbedKeyListView.as_view(), name="embed-keys"),
    path("embed-keys/<str:kid>", org.EmbedKeyDetailView.as_view(), name="embed-key"),
    path("widget", org.WidgetView.as_view(), name="widget"),
    path("widget/tokens", org.WidgetTokensView.as_view(), name="widget-tokens"),
    path("templates", org.TemplateListView.as_view(), name="templates"),
    path("templates/<str:slug>", org.TemplateDetailView.as_view(), name="template"),
    path("templates/<str:slug>/activations", org.TemplateActivationListView.as_view(), name="template-activations"),
    # The end-user side: customer session tokens only.
    path("embed/config", embed.EmbedConfigView.as_view(), name="embed-config"),
    path("embed/connections", embed.EmbedConnectionListView.as_view(), name="embed-connections"),
    path("embed/connections/<str:connection_id>", embed.EmbedConnectionDetailView.as_view(), name="embed-connection"),
    path("embed/templates", embed_templates.EmbedTemplateListView.as_view(), name="embed-templates"),
    path("embed/templates/<str:slug>", embed_templates.EmbedTemplateDetailView.as_view(), name="embed-template"),
    path(
        "embed/templates/<str:slug>/enable",
        embed_templates.EmbedTemplateEnableView.as_view(),
        name="embed-template-enable",
    ),
    path(
        "embed/oauth/<str:connector>/authorize",
        embed_oauth.EmbedOAuthAuthorizeView.as_view(),
        name="embed-oauth-authorize",
    ),
    # The popup's last page: no token (its signed parameter is the credential), HTML.
    path("embed/oauth/done", embed_oauth.oauth_popup_done, name="embed-oauth-done"),
    path("embed/executions", embed_runs.EmbedExecutionListView.as_view(), name="embed-executions"),
    path("embed/executions/<str:execution_id>", embed_runs.EmbedExecutionDetailView.as_view(), name="embed-execution"),
    path("embed/insights", embed_runs.EmbedInsightsView.as_view(), name="embed-insights"),
]
