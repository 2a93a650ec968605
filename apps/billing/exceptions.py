"""Billing's errors. The API's exception handler renders them (API.md shape)."""

from __future__ import annotations

from apps.core import errors


class QuotaExceeded(errors.QuotaExceeded):
    """A Hard Block limit would be exceeded: 429 with Retry-After.

    Producers other than the API (events, executions, connections, storage)
    catch it to refuse their work; `dimension`, `limit`, `used` and
    `retry_after` say why and for how long. Not retryable before then.
    """

    def __init__(
        self,
        message: str,
        *,
        dimension: str,
        limit: int,
        used: int,
        retry_after: int | None,
        scope: str,
        customer: str | None,
        resets_at: str | None,
    ) -> None:
        details = {
            "dimension": dimension,
            "limit": limit,
            "used": used,
            "scope": scope,
            "retry_after_seconds": retry_after,
            "resets_at": resets_at,
        }
        if customer is not None:
            details["customer"] = customer
        headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0", "X-RateLimit-Dimension": dimension}
        if retry_after:
            headers["Retry-After"] = str(retry_after)
            headers["X-RateLimit-Reset"] = str(retry_after)
        super().__init__(message, details=details, headers=headers)
        self.dimension = dimension
        self.limit = limit
        self.used = used
        self.retry_after = retry_after
        self.scope = scope
        self.customer = customer


class QuotaUnavailable(errors.DependencyUnavailable):
    """Counters are unreachable and FASTN_QUOTA_FAIL_MODE is "closed": 503."""

    code = "quota_unavailable"
    default_message = "Usage counters are unavailable, and this account refuses calls it cannot count. Retry shortly."


class TierNotFound(errors.NotFound):
    code = "customer_tier_not_found"


class TierExists(errors.Conflict):
    code = "customer_tier_exists"


class TierInUse(errors.Conflict):
    code = "customer_tier_in_use"
