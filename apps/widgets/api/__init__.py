"""The widgets API: the organization's side (`/api/v1/widget`,
`/api/v1/templates`, `/api/v1/customers/{id}/sessions`) and the end-user
side (`/api/v1/embed/…`, customer session tokens only)."""
