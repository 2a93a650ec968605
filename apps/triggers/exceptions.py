from apps.core.errors import FastnError, NotFound, PermissionDenied


class TriggerNotFound(NotFound):
    code = "trigger_not_found"


class EventNotFound(NotFound):
    code = "event_not_found"


class HookNotFound(NotFound):
    """An unknown (or rotated) hook token: the same answer as a token that never existed."""

    code = "hook_not_found"
    default_message = "No hook at this URL. The token may have been rotated."


class SignatureRejected(FastnError):
    """A bad, missing or stale signature on an inbound hook."""

    status, code = 401, "invalid_signature"
    default_message = "The request's signature does not verify."


class SourceNotAllowed(PermissionDenied):
    code = "source_not_allowed"
    default_message = "This hook does not accept requests from your address."
