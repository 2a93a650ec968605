"""CORS decisions for `/api/v1/embed/…` (django-cors-headers' check_request_enabled).

- A call whose session was resolved: its origins (the session's
  `allowed_origin`, else the widget's `allowed_origins`).
- A preflight (no token yet), or a call whose token was refused: any origin
  that some organization's widget allows or a live session names — enough
  for the browser to send the real request, or to read the 401 that tells
  the widget its session ended; the real request is then decided above.

Every other path: never (CORS stays off outside the end-user API).
"""

from __future__ import annotations

from corsheaders.signals import check_request_enabled
from django.dispatch import receiver

from apps.widgets.origins import origin_of_header

EMBED_PREFIX = "/api/v1/embed/"


@receiver(check_request_enabled)
def embed_cors_allowed(sender, request, **kwargs) -> bool:
    if not request.path_info.startswith(EMBED_PREFIX):
        return False
    origin = origin_of_header(request.headers.get("origin"))
    if origin is None:
        return False
    allowed = getattr(request, "embed_allowed_origins", None)
    if allowed is not None:
        return origin in allowed
    from apps.widgets.selectors import origin_allowed_anywhere

    return origin_allowed_anywhere(origin=origin)
