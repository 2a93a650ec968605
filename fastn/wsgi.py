import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastn.settings.dev")
application = get_wsgi_application()


def _warm_up() -> None:
    """Read and validate the connector catalogue (seconds of JSON Schema work)
    once per web process, at its start, rather than in the first request that
    shows it."""
    from apps.connectors.catalog import catalog_summaries

    catalog_summaries()


threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
