"""Candor settings: everything comes from environment variables, with safe local defaults.

Local default: SQLite under var/, console providers, a generated secret key.
Production (DEBUG=0): SECRET_KEY, ALLOWED_HOSTS and CANDOR_PUBLIC_URL must be set, or start fails.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CANDOR_VAR_DIR", BASE_DIR / "var"))


def env(name, default=None):
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_bool(name, default=False):
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_list(name, default=""):
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def required_in_production(name, default):
    value = env(name)
    if value is None and not DEBUG:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off.")
    return value if value is not None else default


def local_secret_key():
    """A development key generated once and kept under var/, never committed."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
    return key_file.read_text().strip()


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env("SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = local_secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")

# The address clients reach Candor at: used in links inside messages and to check Twilio signatures.
CANDOR_PUBLIC_URL = required_in_production("CANDOR_PUBLIC_URL", "http://localhost:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [CANDOR_PUBLIC_URL] if CANDOR_PUBLIC_URL.startswith("https://") else []

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_fsm",
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "comms",
    "playbooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "candor.urls"
WSGI_APPLICATION = "candor.wsgi.application"
ASGI_APPLICATION = "candor.asgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'candor.sqlite3'}"),
        conn_max_age=int(env("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker share one SQLite file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    VAR_DIR.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security: strict whenever DEBUG is off (manage.py check --deploy is clean with a production env).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Candor API",
    "DESCRIPTION": (
        "Crisis-communication playbooks, incidents, updates and their delivery. Authenticate with "
        "`Authorization: Token <key>` (or a console session). Every object belongs to the caller's "
        "organisation; another organisation's object answers 404. Illegal or lost state changes answer 409."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page's JavaScript and CSS are served from our static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "IncidentKindEnum": "playbooks.models.core.Kind",
        "TimelineKindEnum": "playbooks.models.core.TimelineKind",
        "SeverityEnum": "playbooks.models.core.Severity",
    },
}

# Background work: the Django tasks API. Locally and in CI, tasks are rows in the database run by
# `manage.py db_worker`; RQ or Celery backends can replace it here without touching the code.
CANDOR_TASK_QUEUES = ["default", "email", "sms", "timers"]
TASKS = {
    "default": {
        "BACKEND": env("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": CANDOR_TASK_QUEUES,
    }
}

# Providers: "console" writes every message to the log and to var/outbox/; no account needed.
CANDOR_SMS_PROVIDER = env("CANDOR_SMS_PROVIDER", "console")
CANDOR_EMAIL_PROVIDER = env("CANDOR_EMAIL_PROVIDER", "console")
CANDOR_OUTBOX_DIR = Path(env("CANDOR_OUTBOX_DIR", str(VAR_DIR / "outbox")))

TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", "")
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID", "")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", "")
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", "")  # only for the local fake server
SENDGRID_API_KEY = env("SENDGRID_API_KEY", "")
SENDGRID_FROM_EMAIL = env("SENDGRID_FROM_EMAIL", "updates@candor.localhost")
SENDGRID_WEBHOOK_PUBLIC_KEY = env("SENDGRID_WEBHOOK_PUBLIC_KEY", "")
SENDGRID_API_HOST = env("SENDGRID_API_HOST", "https://api.sendgrid.com")
PROVIDER_TIMEOUT_SECONDS = float(env("PROVIDER_TIMEOUT_SECONDS", "10"))
# Replies to our emails: every email to a contact carries Reply-To reply+<signed id>@<this domain>,
# whose MX points at SendGrid Inbound Parse, which posts to /hooks/sendgrid/inbound/<secret>/.
CANDOR_INBOUND_EMAIL_DOMAIN = env("CANDOR_INBOUND_EMAIL_DOMAIN", "reply.candor.localhost").strip().lower()
CANDOR_INBOUND_EMAIL_SECRET = env("CANDOR_INBOUND_EMAIL_SECRET", "")

if CANDOR_SMS_PROVIDER == "twilio" and not (
    TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and (TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER)
):
    raise ImproperlyConfigured(
        "CANDOR_SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
        "TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER."
    )
if CANDOR_EMAIL_PROVIDER == "sendgrid" and not (SENDGRID_API_KEY and SENDGRID_WEBHOOK_PUBLIC_KEY):
    raise ImproperlyConfigured("CANDOR_EMAIL_PROVIDER=sendgrid needs SENDGRID_API_KEY and SENDGRID_WEBHOOK_PUBLIC_KEY.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The Twilio SDK logs six INFO lines per SMS.
        "twilio.http_client": {"level": "WARNING"},
    },
}

# Outbox delivery.
CANDOR_EMAIL_BATCH_SIZE = int(env("CANDOR_EMAIL_BATCH_SIZE", "1000"))
CANDOR_SMS_BATCH_SIZE = int(env("CANDOR_SMS_BATCH_SIZE", "100"))
CANDOR_SMS_CONCURRENCY = int(env("CANDOR_SMS_CONCURRENCY", "8"))
CANDOR_EMAIL_CONCURRENCY = int(env("CANDOR_EMAIL_CONCURRENCY", "4"))
CANDOR_MAX_ATTEMPTS = int(env("CANDOR_MAX_ATTEMPTS", "8"))
CANDOR_RETRY_BASE_SECONDS = float(env("CANDOR_RETRY_BASE_SECONDS", "5"))
CANDOR_SENDING_TIMEOUT_SECONDS = int(env("CANDOR_SENDING_TIMEOUT_SECONDS", "600"))
CANDOR_SWEEP_GRACE_SECONDS = int(env("CANDOR_SWEEP_GRACE_SECONDS", "120"))
# SMS throughput of the sender, in segments per second: about 1 for a long code, 3 for toll-free,
# 100 for a short code. The console estimates how long a publish takes to leave and warns when it
# passes the provider's queue limit (Twilio drops messages queued longer than 10 hours).
CANDOR_SMS_SEGMENTS_PER_SECOND = float(env("CANDOR_SMS_SEGMENTS_PER_SECOND", "1"))
CANDOR_SMS_QUEUE_LIMIT_HOURS = float(env("CANDOR_SMS_QUEUE_LIMIT_HOURS", "10"))
# What comms hands back up (failed messages, replies, opt-outs) goes to this one function.
CANDOR_COMMS_EVENT_HANDLER = "playbooks.handlers.on_comms_event"
# What the core of an incident hands up to promises, acknowledgements and debriefs.
CANDOR_INCIDENT_EVENT_HANDLER = "playbooks.handlers.on_incident_event"

# Client pages (status pages, preferences). A contact's private status link stops working this many
# days after the incident is closed (or cancelled).
CANDOR_STATUS_LINK_DAYS_AFTER_CLOSE = int(env("CANDOR_STATUS_LINK_DAYS_AFTER_CLOSE", "30"))
# Rendered status pages are cached under keys made of what the database says now (incident state,
# latest update, ...), so a cache never serves a stale page and needs no invalidation. The default
# keeps a cache per process; with several processes set CANDOR_CACHE_URL to a shared cache, e.g.
# redis://127.0.0.1:6379/1 (Django's RedisCache, needs the redis package) or
# pymemcache://127.0.0.1:11211 (needs pymemcache), so one rendering serves every worker.
CANDOR_CACHE_URL = env("CANDOR_CACHE_URL", "")
if CANDOR_CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CANDOR_CACHE_URL}}
elif CANDOR_CACHE_URL.startswith("pymemcache://"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": CANDOR_CACHE_URL.removeprefix("pymemcache://"),
        }
    }
elif CANDOR_CACHE_URL:
    raise ImproperlyConfigured("CANDOR_CACHE_URL must start with redis://, rediss:// or pymemcache://.")
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "candor",
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    }
CANDOR_PAGE_CACHE_SECONDS = int(env("CANDOR_PAGE_CACHE_SECONDS", "3600"))

# Kept promises: update cadence timers, deadline clocks and internal alerts (playbooks.promises.services).
CANDOR_REMINDER_BEFORE_MINUTES = int(env("CANDOR_REMINDER_BEFORE_MINUTES", "10"))
CANDOR_ESCALATION_GRACE_MINUTES = int(env("CANDOR_ESCALATION_GRACE_MINUTES", "15"))
# After this many holding statements in a row, leadership hears that nobody has spoken to clients.
CANDOR_HOLDING_STATEMENTS_BEFORE_LEADERSHIP = int(env("CANDOR_HOLDING_STATEMENTS_BEFORE_LEADERSHIP", "2"))
# The sweep (manage.py sweep_timers) acts on timers late by more than this: their task was lost.
CANDOR_TIMERS_SWEEP_GRACE_SECONDS = int(env("CANDOR_TIMERS_SWEEP_GRACE_SECONDS", "60"))
# Failed messages of one update before the team is told (once per update).
CANDOR_FAILURE_BURST_COUNT = int(env("CANDOR_FAILURE_BURST_COUNT", "5"))
# At most this many reply / unreachable-contact alerts per incident per hour (the timeline has all).
CANDOR_TEAM_NOTICES_PER_HOUR = int(env("CANDOR_TEAM_NOTICES_PER_HOUR", "10"))

# After the crisis (playbooks.debriefs.services): the client survey and the follow-ups of low scores.
# Invitations go out this many hours after resolution, never before the incident enters debriefing
# (0 = on entering debriefing); one reminder to those who have not answered; then the survey closes.
CANDOR_SURVEY_DELAY_HOURS = float(env("CANDOR_SURVEY_DELAY_HOURS", "0"))
CANDOR_SURVEY_REMINDER_DAYS = float(env("CANDOR_SURVEY_REMINDER_DAYS", "3"))
CANDOR_SURVEY_CLOSES_AFTER_DAYS = float(env("CANDOR_SURVEY_CLOSES_AFTER_DAYS", "14"))
# A satisfaction (1-5) at or below this, or a recommendation (0-10) at or below this, opens a
# follow-up for the client's account owner, due this many days later.
CANDOR_FOLLOWUP_CSAT_MAX = int(env("CANDOR_FOLLOWUP_CSAT_MAX", "2"))
CANDOR_FOLLOWUP_NPS_MAX = int(env("CANDOR_FOLLOWUP_NPS_MAX", "6"))
CANDOR_FOLLOWUP_DUE_DAYS = float(env("CANDOR_FOLLOWUP_DUE_DAYS", "5"))
