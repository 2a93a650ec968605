"""gunicorn's settings for the web process: `gunicorn -c fastn/gunicorn.conf.py fastn.wsgi`.

Sizes come from fastn.sizing (the machine, or WEB_CONCURRENCY / WEB_THREADS).
gthread: each worker serves many connections (keep-alive) with a pool of
threads; Instant runs in the process release the GIL while QuickJS runs.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastn import sizing  # noqa: E402

bind = os.environ.get("FASTN_BIND", "127.0.0.1:8000")
workers = sizing.web_workers()
threads = sizing.web_threads()
worker_class = "gthread"
# Longer than the longest Instant run (2 min) an inline run may hold a thread for.
timeout = 150
keepalive = 5
# FASTN_ACCESS_LOG=false drops the line per request (one write per request through the supervisor).
accesslog = "-" if os.environ.get("FASTN_ACCESS_LOG", "true").lower() not in ("0", "false", "no", "off") else None
loglevel = "info"
