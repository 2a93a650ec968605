"""Settings shared by every deployment.

Everything that differs between machines comes from the environment. A `.env`
file in the project root is read too, but a variable already set in the
environment always wins over it, and both win over the defaults here, which
work on a development machine with PostgreSQL and Redis on localhost.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# read_env only fills variables that are not set yet: the environment wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="dev-insecure-secret-key-change-me-in-production-0123456789")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL",
        default="postgres://postgres@127.0.0.1:5432/fastn",
        engine="django_tenants.postgresql_backend",
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["TEST"] = {"NAME": env("FASTN_TEST_DB_NAME", default="test_fastn")}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Tenancy (django-tenants) ----------------------------------------------
# Decided before the first migration: the public schema holds organizations,
# domains, users, memberships and plans; everything else is per organization.
SHARED_APPS = [
    # apps.core comes before django_tenants so that its `migrate` command (which
    # also keeps the template schema) overrides django-tenants' own.
    "apps.core",
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "mozilla_django_oidc",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "apps.accounts",
    "apps.billing",
]
TENANT_APPS = [
    "apps.settings",
    "apps.connectors",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "core.Organization"
TENANT_DOMAIN_MODEL = "core.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New organizations clone this schema instead of running every migration.
TENANT_BASE_SCHEMA = "fastn_template"
TENANT_CREATION_FAKES_MIGRATIONS = True

# --- Application ------------------------------------------------------------
MIDDLEWARE = [
    "apps.core.middleware.TenantMiddleware",
    "apps.core.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "fastn.urls"
WSGI_APPLICATION = "fastn.wsgi.application"
ASGI_APPLICATION = "fastn.asgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.organization",
                "apps.core.context_processors.integrations_tabs",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
CSRF_FAILURE_VIEW = "apps.core.views.csrf_failure"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/o/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# django-allauth: email + password, no usernames.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_ALLOW_REGISTRATION = env.bool("ACCOUNT_ALLOW_REGISTRATION", default=False)
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Fastn <noreply@fastn.local>")

# --- Redis, cache, Celery ----------------------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Every key Fastn writes to Redis starts with this, so that several stacks (or
# test runs) can share one server without seeing each other.
REDIS_KEY_PREFIX = env("FASTN_REDIS_PREFIX", default="fastn")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
# One queue per workflow tier; each has its own worker (see the Procfile).
# Each queue has its own exchange and routing key: queues declared without
# them would all bind to the default exchange with the default key, and a
# message sent to one would be copied into every one.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name, type="direct"), routing_key=name) for name in ("instant", "standard", "long")
]
CELERY_TASK_DEFAULT_EXCHANGE = "standard"
CELERY_TASK_DEFAULT_ROUTING_KEY = "standard"
CELERY_TASK_DEFAULT_QUEUE = "standard"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
CELERY_REDIS_SOCKET_TIMEOUT = 5
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_TENANT_CACHE_SECONDS = 30
# Periodic tasks defined in code (django-celery-beat adds them to its table).
CELERY_BEAT_SCHEDULE = {
    "connectors-purge-call-traces": {
        "task": "connectors.purge_call_traces",
        "schedule": crontab(hour=3, minute=17),
        "options": {"queue": "standard"},
    },
}

# Per-queue time limits (seconds): the tier's longest allowed run plus grace.
# They are a backstop: workflow code is stopped by its own exact timeout first.
CELERY_QUEUE_TIME_LIMITS = {
    "instant": {"soft": 125, "hard": 135},
    "standard": {"soft": 930, "hard": 960},
    "long": {"soft": 21_660, "hard": 21_720},
}


def celery_redis_transport_options(prefix: str) -> dict:
    """Broker options: keys under the stack's prefix, short connect timeouts."""
    return {
        # Long runs do not rely on redelivery (executions heartbeat and a
        # reaper decides); this only has to exceed the longest hard limit.
        "visibility_timeout": CELERY_QUEUE_TIME_LIMITS["long"]["hard"] + 600,
        "global_keyprefix": f"{prefix}:celery:",
        "socket_connect_timeout": 2,
    }


CELERY_BROKER_TRANSPORT_OPTIONS = celery_redis_transport_options(REDIS_KEY_PREFIX)
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_KEY_PREFIX}:celery:"}

# --- Fastn ---------------------------------------------------------------------
# Comma-separated Fernet keys, newest first. The first encrypts; all decrypt.
# Rotate by putting a new key in front, running `manage.py rotate_encryption_keys`,
# then dropping the old key.
FASTN_ENCRYPTION_KEYS = env.list(
    "FASTN_ENCRYPTION_KEYS",
    default=["ZGV2LW9ubHkta2V5LWRvLW5vdC11c2UtaW4tcHJvZDE="],
)
# Largest request body accepted on the API and webhooks (bytes): 413 above it.
FASTN_MAX_BODY_BYTES = env.int("FASTN_MAX_BODY_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = FASTN_MAX_BODY_BYTES
# Allow connector calls to private and loopback addresses (never link-local or
# metadata addresses). The local stack that `make run` starts turns it on.
FASTN_ALLOW_PRIVATE_NETWORK = env.bool("FASTN_ALLOW_PRIVATE_NETWORK", default=False)
# Seconds to wait for workers to answer the health check's ping.
FASTN_HEALTH_WORKER_TIMEOUT = env.float("FASTN_HEALTH_WORKER_TIMEOUT", default=1.0)
FASTN_PUBLIC_URL = env("FASTN_PUBLIC_URL", default="http://127.0.0.1:8000")

# --- Connections and OAuth ---------------------------------------------------------
# OAuth clients the platform operator offers to every organization, by
# connector slug, as JSON: {"hubspot": {"client_id": "...", "client_secret":
# "...", "scopes": [...]?, "redirect_uri": "..."?}}. An organization's own app
# (Settings → OAuth Apps) wins over the platform's.
FASTN_PLATFORM_OAUTH_APPS = env.json("FASTN_PLATFORM_OAUTH_APPS", default={})
# The redirect_uri registered with providers: where they send the code back.
FASTN_OAUTH_CALLBACK_URL = env(
    "FASTN_OAUTH_CALLBACK_URL", default=FASTN_PUBLIC_URL.rstrip("/") + "/api/v1/oauth/callback"
)
# How long a customer has to finish an authorisation (the `state`'s lifetime).
FASTN_OAUTH_STATE_TTL_SECONDS = env.int("FASTN_OAUTH_STATE_TTL_SECONDS", default=600)
# Access tokens expiring within this many seconds are refreshed before a call.
FASTN_OAUTH_REFRESH_BUFFER_SECONDS = env.int("FASTN_OAUTH_REFRESH_BUFFER_SECONDS", default=120)
# Connector call traces are kept this many days (purged daily by Celery beat).
FASTN_CALL_TRACE_RETENTION_DAYS = env.int("FASTN_CALL_TRACE_RETENTION_DAYS", default=30)
# Largest OpenAPI document accepted for import once decompressed (bodies may be
# sent gzip-compressed to stay under FASTN_MAX_BODY_BYTES).
FASTN_OPENAPI_MAX_BYTES = env.int("FASTN_OPENAPI_MAX_BYTES", default=64 * 1024 * 1024)

# --- REST framework -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiKeyAuthentication",
        "apps.accounts.authentication.SessionMemberAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.accounts.permissions.HasRolePermission"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "apps.core.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": [],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fastn API",
    "DESCRIPTION": "The HTTP API of Fastn, the embedded integration platform.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "AccessKey": {"type": "apiKey", "in": "header", "name": "x-fastn-access-key"},
            "AccountId": {"type": "apiKey", "in": "header", "name": "x-fastn-account-id"},
        }
    },
    "SECURITY": [{"AccessKey": [], "AccountId": []}],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django_tenants": {"level": "WARNING"},
        # httpx logs every request's full URL at INFO, query string included:
        # connector calls may carry credentials there (api_key in: query).
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
