"""Production: secrets must come from the environment, cookies are secure."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import FASTN_ENCRYPTION_KEYS, SECRET_KEY, env

DEBUG = False
if SECRET_KEY.startswith("dev-insecure"):
    raise ImproperlyConfigured("Set SECRET_KEY in the environment for production.")
if FASTN_ENCRYPTION_KEYS == ["ZGV2LW9ubHkta2V5LWRvLW5vdC11c2UtaW4tcHJvZDE="]:
    raise ImproperlyConfigured("Set FASTN_ENCRYPTION_KEYS in the environment for production.")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
