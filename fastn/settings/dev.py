"""Development: the local stack that `make run` starts."""

from .base import *  # noqa: F403
from .base import env

# Off by default even here: `make run` is how people first see the product,
# and its 404 and 500 pages must be the product's, not Django's debug pages
# listing every URL pattern. Tracebacks still reach the console. DEBUG=true
# in .env turns the debug pages back on.
DEBUG = env.bool("DEBUG", default=False)
FASTN_ALLOW_PRIVATE_NETWORK = env.bool("FASTN_ALLOW_PRIVATE_NETWORK", default=True)

# Serve static files straight from the source folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# /metrics is open to this machine (no token needed).
FASTN_METRICS_ALLOWED_NETWORKS = env.list("FASTN_METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
# Self-serve sign-up (an organization and its Owner after e-mail verification, then the setup assistant).
ACCOUNT_ALLOW_REGISTRATION = env.bool("ACCOUNT_ALLOW_REGISTRATION", default=True)
