"""Django settings of the work-order service, from the environment and the local stack.

- Database: ``FACMON_POSTGRES_HOST``/``_PORT``/``_DB``/``_USER`` and ``FACMON_POSTGRES_PASSWORD`` (or
  ``_PASSWORD_FILE``); else the PostgreSQL of the local stack under ``FACMON_HOME``.
- Signing key (sessions, CSRF, deep links): ``FACMON_WEB_SECRET_KEY`` (or ``_FILE``); else a key made
  once in ``FACMON_HOME/web/secret_key`` (mode 0600). Changing it signs everyone out and voids links.
- The registry: ``FACMON_SITE`` (default: the example site).
"""

from __future__ import annotations

import os
import secrets

from facmon.errors import FacmonError
from facmon.settings import facmon_home, read_secret
from facmon.stack import Stack
from facmon.workorders.site_registry import current_site

HOME = facmon_home().absolute()


def _secret_key() -> str:
    configured = read_secret("FACMON_WEB_SECRET_KEY")
    if configured:
        return configured
    path = HOME / "web" / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48) + "\n")
    return path.read_text().strip()


def _database() -> dict[str, object]:
    if os.environ.get("FACMON_POSTGRES_HOST"):
        password = read_secret("FACMON_POSTGRES_PASSWORD")
        try:
            port = int(os.environ.get("FACMON_POSTGRES_PORT") or 5432)
        except ValueError:
            raise FacmonError(f"FACMON_POSTGRES_PORT={os.environ['FACMON_POSTGRES_PORT']!r} must be a port number") from None
        dsn = {
            "host": os.environ["FACMON_POSTGRES_HOST"],
            "port": port,
            "dbname": os.environ.get("FACMON_POSTGRES_DB") or "facmon",
            "user": os.environ.get("FACMON_POSTGRES_USER") or "facmon",
            "password": password or "",
        }
    else:
        dsn = Stack(HOME).postgres_dsn()
    return {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": dsn["host"],
        "PORT": str(dsn["port"]),
        "NAME": dsn["dbname"],
        "USER": dsn["user"],
        "PASSWORD": dsn["password"],
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


SECRET_KEY = _secret_key()
DEBUG = False
ALLOWED_HOSTS = ["*"]  # behind the site's own reverse proxy or on loopback; links use registry work_orders.public_url
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "facmon.workorders.apps.WorkOrdersConfig",
]
MIDDLEWARE = [
    "facmon.workorders.middleware.RefuseUnstorableInput",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
]
RATELIMIT_VIEW = "facmon.workorders.pages.rate_limited"
ROOT_URLCONF = "facmon.workorders.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# One process (waitress threads) serves the site, so the rate limits' counters can live in its memory.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "facmon-web"}}
# PBKDF2-SHA256 (Django's default, NIST SP 800-132), with scrypt and Argon2-free fallbacks left as Django ships them.
AUTH_PASSWORD_VALIDATORS = [{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}}]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "board"
LOGOUT_REDIRECT_URL = "login"
# Behind HTTPS (registry work_orders.public_url https://...): cookies only over HTTPS, and the proxy's
# X-Forwarded-Proto says the request was secure.
PUBLIC_URL = current_site().work_orders.public_url
if PUBLIC_URL.startswith("https://"):
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 12 * 3600
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
USE_I18N = True
USE_TZ = True
TIME_ZONE = current_site().site.timezone  # pages show the site's local time; the database stores UTC
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [HOME / "web" / "locale"]  # compiled from the package's .po files at start (facmon.workorders.server)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    # request logs carry paths, never bodies: a password or a link token in a form never reaches the log
    "loggers": {"django": {"handlers": ["stderr"], "level": "WARNING"}},
}
