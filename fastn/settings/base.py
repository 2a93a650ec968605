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

from fastn import sizing
from fastn.stack import default_demo_api_bind

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
        engine="apps.core.db",
    )
}
# `make run DB=name` (several stacks on one server: the smoke test's own
# database) names another database on the same server.
if env("FASTN_DATABASE_NAME", default=""):
    DATABASES["default"]["NAME"] = env("FASTN_DATABASE_NAME")
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
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    "mozilla_django_oidc",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "apps.accounts",
    "apps.billing",
    # The demo organization of `make run` (its record and stable key).
    "apps.demo",
    # Customer sessions and allowed origins of /api/v1/embed/: found by
    # token or origin before the organization is known.
    "apps.widgets.shared",
    "corsheaders",
    # Also a tenant app (below). Its tables exist, empty, in public too, so
    # that deleting a user or group from the public schema can cascade.
    "guardian",
]
TENANT_APPS = [
    "apps.settings",
    "apps.workflows",
    # Object permissions live next to the objects they name: each
    # organization's schema has its own guardian tables, whose foreign keys
    # reach users, groups, permissions and content types in public. Dropping
    # an organization's schema drops its object permissions with it; the
    # public copy stays empty.
    "guardian",
    # Billing's per-organization tables (tiers, customer limits, rollups,
    # notices); plans stay shared in apps.billing.
    "apps.metering",
    "apps.connectors",
    # Triggers and their durable events; the token → organization routing
    # table of /hooks/ is shared (apps.core.HookRoute).
    "apps.triggers",
    # The widget, templates and customers' activations (sessions: apps.widgets.shared).
    "apps.widgets",
    # Page apps (apps/README.md: the top layer) with tables of their own:
    # alert rules and their events; the setup assistant's progress.
    "apps.activity",
    "apps.onboarding",
]
# Pages that gather several apps (apps/README.md: the top layer); no tables.
PAGE_APPS = [
    "apps.home",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS] + PAGE_APPS

TENANT_MODEL = "core.Organization"
TENANT_DOMAIN_MODEL = "core.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New organizations clone this schema instead of running every migration.
TENANT_BASE_SCHEMA = "fastn_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# Issue `SET search_path` once per tenant switch rather than before every
# query (django-tenants forgets it on rollback, so it cannot go stale).
TENANT_LIMIT_SET_CALLS = True

# --- Application ------------------------------------------------------------
MIDDLEWARE = [
    "apps.core.middleware.TenantMiddleware",
    # CORS for /api/v1/embed/ only, answering the origins the widget allows
    # (apps.widgets.signals); early, so that every answer carries it.
    "corsheaders.middleware.CorsMiddleware",
    "apps.core.middleware.RequestSizeLimitMiddleware",
    # Customer-scoped API calls run in one transaction under row-level security.
    "apps.core.rls.CustomerScopeMiddleware",
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
    "apps.core.middleware.ApiExceptionMiddleware",
    "apps.billing.middleware.QuotaHeadersMiddleware",
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
                "apps.accounts.context_processors.sso",
                "apps.billing.context_processors.credits",
                "apps.core.context_processors.integrations_tabs",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    # Does nothing unless OIDC is configured (FASTN_OIDC_ISSUER).
    "apps.accounts.oidc.FastnOIDCBackend",
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
# People who sign up prove their address before they can sign in; owners made
# by bootstrap_org and people who accept an emailed invitation already have.
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
# Self-serve sign-up: anyone may sign up and gets an organization of their own
# (after verifying their address) and the setup assistant. Off by default:
# a self-hosted platform decides who may create organizations; `make run`
# (fastn.settings.dev) turns it on.
ACCOUNT_ALLOW_REGISTRATION = env.bool("ACCOUNT_ALLOW_REGISTRATION", default=False)
ACCOUNT_SIGNUP_FORM_CLASS = "apps.accounts.forms.SignupOrganizationForm"
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "apps.accounts.adapters.SocialAccountAdapter"
# Email addresses that GitHub and Google vouch for count as verified.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False


def social_providers_from_env() -> dict:
    """GitHub and Google login, each enabled only when its client id is set."""
    providers = {}
    for name, scope in (("github", ["user:email"]), ("google", ["openid", "email", "profile"])):
        client_id = env(f"{name.upper()}_CLIENT_ID", default="")
        if client_id:
            providers[name] = {
                "APPS": [
                    {"client_id": client_id, "secret": env(f"{name.upper()}_CLIENT_SECRET", default=""), "key": ""}
                ],
                "SCOPE": scope,
                "VERIFIED_EMAIL": name == "google",
            }
    return providers


SOCIALACCOUNT_PROVIDERS = social_providers_from_env()

# --- Single sign-on (OIDC, e.g. Keycloak) and JWT bearer tokens -----------------
# Set the issuer (e.g. https://sso.example.com/realms/acme) and the client to
# turn on "Sign in with SSO"; endpoints come from the issuer's discovery
# document. The API also accepts the issuer's RS256 JWTs as bearer tokens
# when their audience is FASTN_OIDC_API_AUDIENCE (default: the client id).
FASTN_OIDC_ISSUER = env("FASTN_OIDC_ISSUER", default="")
FASTN_OIDC_LABEL = env("FASTN_OIDC_LABEL", default="single sign-on")
FASTN_OIDC_API_AUDIENCE = env("FASTN_OIDC_API_AUDIENCE", default="")
# The identity provider is chosen by the operator, and often sits on a private
# network (an in-house Keycloak), so its discovery and JWKS calls may reach
# private addresses; link-local and metadata addresses stay refused.
FASTN_OIDC_ALLOW_PRIVATE_NETWORK = env.bool("FASTN_OIDC_ALLOW_PRIVATE_NETWORK", default=True)
FASTN_OIDC_JWKS_CACHE_SECONDS = env.int("FASTN_OIDC_JWKS_CACHE_SECONDS", default=300)
FASTN_OIDC_LEEWAY_SECONDS = env.int("FASTN_OIDC_LEEWAY_SECONDS", default=30)
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", default="")
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10
OIDC_STORE_ID_TOKEN = False
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
OIDC_AUTHENTICATE_CLASS = "apps.accounts.oidc.FastnOIDCAuthenticationRequestView"
OIDC_CALLBACK_CLASS = "apps.accounts.oidc.FastnOIDCCallbackView"
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?sso=failed"

# --- Object permissions (django-guardian) ----------------------------------------
# Fastn has no anonymous principal and keeps User free of guardian's methods.
ANONYMOUS_USER_NAME = None
GUARDIAN_MONKEY_PATCH_USER = False
GUARDIAN_MONKEY_PATCH_GROUP = False
# Object permissions are checked through apps.accounts.access (per custom
# role's group), not through Django's user.has_perm, so guardian's backend
# stays out of AUTHENTICATION_BACKENDS.
SILENCED_SYSTEM_CHECKS = ["guardian.W001"]

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
# One worker process serves the three queues (see the Procfile): a pool of
# threads by default — a run's limits are the sandbox's own (wall-clock
# interrupt, memory limit, host-op deadlines), and the heartbeat stops past
# the tier's hard limit so the reaper takes over — or prefork children
# (FASTN_WORKER_POOL=prefork) where a process per run is wanted; each task
# then carries its tier's time limits. Sizes: fastn/sizing.py.
# The pool is chosen on the command line (the Procfile's `--pool`): a
# configured worker_pool would override even an explicit `--pool prefork`.
CELERY_WORKER_CONCURRENCY = sizing.worker_concurrency()
# Celery beat as a thread of that worker (no process of its own). Turn it off
# when running several workers, and run `celery -A fastn beat` once instead.
FASTN_WORKER_BEAT = env.bool("FASTN_WORKER_BEAT", default=True)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
CELERY_REDIS_SOCKET_TIMEOUT = 5
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Fixed platform jobs are declared here, in code: the DatabaseScheduler copies
# them into its tables when beat starts, so they cannot be lost with a
# database reset, and a deployment changes them in review like any code.
# (Per-customer schedules of workflows are rows the triggers app manages.)
CELERY_BEAT_SCHEDULE = {
    "billing-usage-rollup": {
        "task": "billing.usage_rollup_all",
        "schedule": 60.0,
        # A tick that waited longer than its interval is dropped: the next one
        # copies the same (and newer) counters anyway.
        "options": {"queue": "standard", "expires": 55},
    },
    "connectors-purge-call-traces": {
        "task": "connectors.purge_call_traces",
        "schedule": crontab(hour=3, minute=17),
        "options": {"queue": "standard"},
    },
    # Executions whose worker was lost, and executions whose message was lost.
    "workflows-reap-executions": {
        "task": "workflows.reap_executions",
        "schedule": 15.0,
        "options": {"queue": "standard", "expires": 14},
    },
    "workflows-measure-storage": {
        "task": "workflows.measure_storage",
        "schedule": 300.0,
        "options": {"queue": "standard", "expires": 290},
    },
    # Triggers: events whose execution never left (broker down, a crash)
    # and events to settle; due schedules; due polls of connector events.
    "triggers-relay-events": {
        "task": "triggers.relay_events",
        "schedule": 5.0,
        "options": {"queue": "standard", "expires": 4},
    },
    "triggers-tick-schedules": {
        "task": "triggers.tick_schedules",
        "schedule": 10.0,
        "options": {"queue": "standard", "expires": 9},
    },
    "triggers-poll-app-events": {
        "task": "triggers.poll_app_events",
        "schedule": 30.0,
        "options": {"queue": "standard", "expires": 29},
    },
    # Customer sessions that ended (expired or revoked) a while ago.
    "widgets-purge-sessions": {
        "task": "widgets.purge_sessions",
        "schedule": crontab(hour=3, minute=41),
        "options": {"queue": "standard"},
    },
    # Per-minute rollups of executions and connector calls, then the alert rules on them.
    "activity-minute": {
        "task": "activity.minute",
        "schedule": 60.0,
        "options": {"queue": "standard", "expires": 55},
    },
    "workflows-clean-data": {
        "task": "workflows.clean_state",
        "schedule": 600.0,
        "options": {"queue": "standard", "expires": 590},
    },
}
CELERY_TASK_TENANT_CACHE_SECONDS = 30
# Celery's Django fixup closes the database connection before and after every
# task unless told to reuse it: a new connection per task costs ~5–10 ms.
# Connections are still recycled (after this many tasks), checked for health
# at each task start (CONN_HEALTH_CHECKS) and closed after CONN_MAX_AGE.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)

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
# Seconds an API process keeps an organization it looked up by account id, and
# how often it asks Redis whether any organization changed meanwhile: a
# suspension or plan change made anywhere applies everywhere within the latter.
FASTN_TENANT_CACHE_SECONDS = env.float("FASTN_TENANT_CACHE_SECONDS", default=30.0)
FASTN_TENANT_CACHE_CHECK_SECONDS = env.float("FASTN_TENANT_CACHE_CHECK_SECONDS", default=0.5)
# Seconds to wait for workers to answer the health check's ping.
FASTN_HEALTH_WORKER_TIMEOUT = env.float("FASTN_HEALTH_WORKER_TIMEOUT", default=1.0)
# Where `make run` serves the web process (the Procfile's gunicorn --bind).
FASTN_BIND = env("FASTN_BIND", default="127.0.0.1:8000")
FASTN_PUBLIC_URL = env("FASTN_PUBLIC_URL", default=f"http://{FASTN_BIND}")
# The demo organization's connector calls a fake API that `make run` serves
# here (apps/demo/fake_api.py; the Procfile's demo_api).
FASTN_DEMO_API_BIND = env("FASTN_DEMO_API_BIND", default=default_demo_api_bind(FASTN_BIND))
# Workflow sandbox and executions.
FASTN_SANDBOX_MEMORY_BYTES = env.int("FASTN_SANDBOX_MEMORY_BYTES", default=128 * 1024 * 1024)
FASTN_EXECUTION_RETENTION_DAYS = env.int("FASTN_EXECUTION_RETENTION_DAYS", default=30)
# A filter combination without an index of its own reads at most this many
# index entries per page of the executions list (apps.workflows.selectors.execution_page).
FASTN_EXECUTION_LIST_SCAN_ROWS = env.int("FASTN_EXECUTION_LIST_SCAN_ROWS", default=5000)
# A running execution whose heartbeat is older than this lost its worker.
FASTN_EXECUTION_LOST_AFTER_SECONDS = env.int("FASTN_EXECUTION_LOST_AFTER_SECONDS", default=30)
# A queued execution not picked up after this long is queued again.
FASTN_EXECUTION_REQUEUE_AFTER_SECONDS = env.int("FASTN_EXECUTION_REQUEUE_AFTER_SECONDS", default=60)

# Instant runs in the web process (apps/workflows/inline.py): how many at
# once per process (0: every Instant run goes through the `instant` queue),
# and after how many seconds a run still going is recorded as `running`
# with a heartbeat (shorter runs are written once, finished).
FASTN_INSTANT_INLINE_SLOTS = sizing.instant_inline_slots()
FASTN_INSTANT_INLINE_RECORD_AFTER_SECONDS = env.float("FASTN_INSTANT_INLINE_RECORD_AFTER_SECONDS", default=1.0)

# fastn.db: each (organization, customer) has a PostgreSQL schema and a login
# role of its own (apps/workflows/sandbox_db). Limits per call and per process.
FASTN_SANDBOX_DB_MAX_ROWS = env.int("FASTN_SANDBOX_DB_MAX_ROWS", default=10_000)
FASTN_SANDBOX_DB_MAX_RESULT_BYTES = env.int("FASTN_SANDBOX_DB_MAX_RESULT_BYTES", default=10 * 1024 * 1024)
# Writes are refused once a schema is this large (0: no cap).
FASTN_SANDBOX_DB_MAX_SCHEMA_BYTES = env.int("FASTN_SANDBOX_DB_MAX_SCHEMA_BYTES", default=1024**3)
# Connections per worker process (all roles), idle ones kept per role.
FASTN_SANDBOX_DB_POOL_SIZE = env.int("FASTN_SANDBOX_DB_POOL_SIZE", default=16)
FASTN_SANDBOX_DB_POOL_IDLE_PER_ROLE = env.int("FASTN_SANDBOX_DB_POOL_IDLE_PER_ROLE", default=4)
FASTN_SANDBOX_DB_IDLE_SECONDS = env.int("FASTN_SANDBOX_DB_IDLE_SECONDS", default=60)
FASTN_SANDBOX_DB_MAX_LIFETIME_SECONDS = env.int("FASTN_SANDBOX_DB_MAX_LIFETIME_SECONDS", default=1800)
# Sessions one customer may hold at once across every worker (CONNECTION LIMIT).
FASTN_SANDBOX_DB_ROLE_CONNECTION_LIMIT = env.int("FASTN_SANDBOX_DB_ROLE_CONNECTION_LIMIT", default=10)
FASTN_SANDBOX_DB_WORK_MEM = env("FASTN_SANDBOX_DB_WORK_MEM", default="16MB")
FASTN_SANDBOX_DB_TEMP_FILE_LIMIT = env("FASTN_SANDBOX_DB_TEMP_FILE_LIMIT", default="1GB")
# Invitations to join an organization expire after this many hours.
FASTN_INVITE_TTL_HOURS = env.int("FASTN_INVITE_TTL_HOURS", default=72)
# Row-level security: the NOLOGIN role that customer-scoped transactions
# switch to (see apps/core/rls.py), and whether customer-scoped API calls
# (x-fastn-account-tenant-id) run under it.
FASTN_CUSTOMER_SCOPE_ROLE = env("FASTN_CUSTOMER_SCOPE_ROLE", default="fastn_customer_scope")
FASTN_CUSTOMER_SCOPE_REQUESTS = env.bool("FASTN_CUSTOMER_SCOPE_REQUESTS", default=True)
# Data residency: a customer's region names the database alias holding its
# customer-scoped rows and fastn.db schema (apps/core/residency.py). Extra
# databases come from FASTN_REGION_DATABASE_URLS ("eu=postgres://…,apac=…").
for _region, _url in env.dict("FASTN_REGION_DATABASE_URLS", default={}).items():
    DATABASES[_region] = environ.Env.db_url_config(_url, engine="apps.core.db")
    DATABASES[_region]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES[_region]["TEST"] = {"NAME": f"{DATABASES['default']['TEST']['NAME']}_{_region}"}
FASTN_REGION_DATABASES = {
    region: env(f"FASTN_REGION_DATABASE_{region.upper()}", default=region if region in DATABASES else "default")
    for region in ("us", "eu", "apac")
}

# --- Triggers (apps.triggers) --------------------------------------------------------------
# After the broker failed once, intake skips it for this long (events wait for
# the relay) instead of making every request wait for a connection to fail.
FASTN_TRIGGERS_BROKER_RETRY_SECONDS = env.float("FASTN_TRIGGERS_BROKER_RETRY_SECONDS", default=5.0)
# The relay leaves events younger than this to the request that is handling them.
FASTN_TRIGGERS_RELAY_GRACE_SECONDS = env.int("FASTN_TRIGGERS_RELAY_GRACE_SECONDS", default=10)
# A scheduled run later than this counts as missed (see the trigger's `missed`).
FASTN_SCHEDULE_MISFIRE_GRACE_SECONDS = env.int("FASTN_SCHEDULE_MISFIRE_GRACE_SECONDS", default=120)
# How long POST /hooks/{token} waits for an Instant workflow before answering 202.
FASTN_HOOK_INSTANT_WAIT_SECONDS = env.float("FASTN_HOOK_INSTANT_WAIT_SECONDS", default=30.0)

# --- Quotas (apps.billing) ------------------------------------------------------------
# What the API does when the Redis counters are unreachable: "open" lets calls
# through uncounted (logged, audited once a minute per organization);
# "closed" answers 503.
FASTN_QUOTA_FAIL_MODE = env("FASTN_QUOTA_FAIL_MODE", default="open")
if FASTN_QUOTA_FAIL_MODE not in ("open", "closed"):
    raise ValueError("FASTN_QUOTA_FAIL_MODE must be 'open' or 'closed'.")
# The Redis holding the counters (default: REDIS_URL).
FASTN_QUOTA_REDIS_URL = env("FASTN_QUOTA_REDIS_URL", default="")
# After a Redis failure, skip it for this long instead of making every request wait.
FASTN_QUOTA_REDIS_RETRY_SECONDS = env.float("FASTN_QUOTA_REDIS_RETRY_SECONDS", default=2.0)
# How long a process keeps a customer's limits (changes made here apply at once).
FASTN_QUOTA_LIMITS_CACHE_SECONDS = env.float("FASTN_QUOTA_LIMITS_CACHE_SECONDS", default=30.0)
# The rollup copies this many past minutes each run (it catches up after a missed tick).
FASTN_USAGE_ROLLUP_LOOKBACK_MINUTES = env.int("FASTN_USAGE_ROLLUP_LOOKBACK_MINUTES", default=10)
FASTN_USAGE_MINUTE_RETENTION_DAYS = env.int("FASTN_USAGE_MINUTE_RETENTION_DAYS", default=7)

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
# Deleting a customer revokes its connections at the providers within this
# many seconds in all (one provider may take at most 10 s of it).
FASTN_CUSTOMER_REVOKE_SECONDS = env.float("FASTN_CUSTOMER_REVOKE_SECONDS", default=30.0)
# Access tokens expiring within this many seconds are refreshed before a call.
FASTN_OAUTH_REFRESH_BUFFER_SECONDS = env.int("FASTN_OAUTH_REFRESH_BUFFER_SECONDS", default=120)
# Connector call traces are kept this many days (purged daily by Celery beat).
FASTN_CALL_TRACE_RETENTION_DAYS = env.int("FASTN_CALL_TRACE_RETENTION_DAYS", default=30)
# A trace keeps the request's and response's headers and the first this many
# characters of each body, redacted, for Activity → Traces (0: no bodies).
FASTN_CALL_TRACE_BODY_BYTES = env.int("FASTN_CALL_TRACE_BODY_BYTES", default=8192)
# Per-minute rollups of executions and connector calls (Home, Traces' charts,
# Alerts): kept this many days; each minute's job recomputes this many past minutes.
FASTN_ROLLUP_RETENTION_DAYS = env.int("FASTN_ROLLUP_RETENTION_DAYS", default=30)
FASTN_ROLLUP_LOOKBACK_MINUTES = env.int("FASTN_ROLLUP_LOOKBACK_MINUTES", default=3)
# Largest OpenAPI document accepted for import once decompressed (bodies may be
# sent gzip-compressed to stay under FASTN_MAX_BODY_BYTES).
FASTN_OPENAPI_MAX_BYTES = env.int("FASTN_OPENAPI_MAX_BYTES", default=64 * 1024 * 1024)

# --- Embedding (apps.widgets) ---------------------------------------------------------
# Customer sessions: the lifetime asked for is checked against these bounds
# (seconds); the default applies when none is asked for.
FASTN_EMBED_SESSION_TTL_DEFAULT = env.int("FASTN_EMBED_SESSION_TTL_DEFAULT", default=3600)
FASTN_EMBED_SESSION_TTL_MIN = 60
FASTN_EMBED_SESSION_TTL_MAX = 86400
# Customer JWTs signed by an organization's key: clock skew allowed on exp/iat.
FASTN_EMBED_JWT_LEEWAY_SECONDS = env.int("FASTN_EMBED_JWT_LEEWAY_SECONDS", default=30)
# Expired and revoked sessions are deleted this many days after they ended.
FASTN_EMBED_SESSION_RETENTION_DAYS = env.int("FASTN_EMBED_SESSION_RETENTION_DAYS", default=7)
# CORS (django-cors-headers) answers /api/v1/embed/ only, and only for the
# origins an organization's widget allows or a live session names: no list
# here, the decision is apps.widgets.signals'. Bearer tokens, no cookies.
CORS_URLS_REGEX = r"^/api/v1/embed/"
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_ALLOW_CREDENTIALS = False
CORS_PREFLIGHT_MAX_AGE = 600
CORS_EXPOSE_HEADERS = [
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-Dimension",
    "X-Fastn-Quota-Soft",
]

# --- REST framework -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiKeyAuthentication",
        "apps.accounts.authentication.BearerTokenAuthentication",
        "apps.accounts.authentication.SessionMemberAuthentication",
    ],
    # WithinQuota first: every authenticated call is counted (and may get a
    # 429) before the role check, see apps.billing.permissions.
    "DEFAULT_PERMISSION_CLASSES": [
        "apps.billing.permissions.WithinQuota",
        "apps.accounts.permissions.HasRolePermission",
    ],
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
            # The end-user API (/api/v1/embed/): a customer session token.
            "CustomerSession": {"type": "http", "scheme": "bearer", "bearerFormat": "fastn_cs_…"},
        }
    },
    "SECURITY": [{"AccessKey": [], "AccountId": []}],
}

# GET /metrics (Prometheus). With a token, scrapers send `Authorization: Bearer <token>`;
# without one, only these networks are answered (dev settings: loopback).
FASTN_METRICS_TOKEN = env("FASTN_METRICS_TOKEN", default="")
FASTN_METRICS_ALLOWED_NETWORKS = env.list("FASTN_METRICS_ALLOWED_NETWORKS", default=[])

# Log lines: "plain" text, or "json" (one JSON object per line, python-json-logger)
# carrying the organization, customer, execution and request ids of apps.core.logcontext.
FASTN_LOG_FORMAT = env("FASTN_LOG_FORMAT", default="plain")
if FASTN_LOG_FORMAT not in ("plain", "json"):
    raise ValueError("FASTN_LOG_FORMAT must be 'plain' or 'json'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "apps.core.logcontext.LogContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "static_fields": {"service": "fastn"},
            "timestamp": False,
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": FASTN_LOG_FORMAT, "filters": ["context"]}},
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
