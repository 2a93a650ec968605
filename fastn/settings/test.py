"""Tests: real PostgreSQL and Redis, fast password hashing, isolated Redis keys."""

import os
import uuid

from .base import *  # noqa: F403
from .base import CACHES, REDIS_URL, celery_redis_transport_options, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# One prefix per test process (xdist workers included, which inherit the
# controller's environment): parallel runs never see each other's keys or
# tasks. Worker processes started by the tests receive it explicitly.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
if os.environ.get("FASTN_REDIS_PREFIX_FOR") != _worker:
    os.environ["FASTN_REDIS_PREFIX"] = f"fastn-test-{uuid.uuid4().hex[:10]}-{_worker}"
    os.environ["FASTN_REDIS_PREFIX_FOR"] = _worker
REDIS_KEY_PREFIX = os.environ["FASTN_REDIS_PREFIX"]
CACHES["default"]["KEY_PREFIX"] = REDIS_KEY_PREFIX
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_BROKER_TRANSPORT_OPTIONS = celery_redis_transport_options(REDIS_KEY_PREFIX)
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_KEY_PREFIX}:celery:"}
FASTN_ALLOW_PRIVATE_NETWORK = env.bool("FASTN_ALLOW_PRIVATE_NETWORK", default=False)

# Serve static files straight from the source folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Tests change organizations behind the services' back (plans, suspension):
# no cache by default; tests of the cache turn it on.
FASTN_TENANT_CACHE_SECONDS = env.float("FASTN_TENANT_CACHE_SECONDS", default=0.0)
# Workers started by tests run no schedules of their own.
FASTN_WORKER_BEAT = env.bool("FASTN_WORKER_BEAT", default=False)
