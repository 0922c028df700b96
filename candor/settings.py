"""Candor settings: everything comes from environment variables, with safe local defaults.

Local default: SQLite under var/, console providers, a generated secret key.
Production (DEBUG=0): SECRET_KEY, ALLOWED_HOSTS and CANDOR_PUBLIC_URL must be set, or start fails.
"""

import datetime as dt
import os
import secrets
import sys
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

# Rotating the key: put the old one here (comma-separated) while sessions and links signed with it
# should keep working, then drop it.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", "")

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
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_fsm",
    "django_tasks",
    "django_tasks_db",
    "django_rq",
    "django_tasks_rq",
    "accounts",
    "comms",
    "playbooks",
]

MIDDLEWARE = [
    "candor.middleware.TrustedProxyMiddleware",  # first: every limit below counts the client's address
    "comms.monitoring.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "candor.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "candor.middleware.InputSanityMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "candor.middleware.MemberLocaleMiddleware",  # the member's language and timezone (needs request.user)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it turns a locked-out login into the 429
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
# The console's languages (clients read messages in their contact's language, see accounts.models).
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("ja", "日本語"),
    ("pt-br", "Português (Brasil)"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Pages for clients, which speak the contact's language in the contact's timezone (their own word
# tables) even when a member opens them: the member's console language and timezone stay out.
CANDOR_CLIENT_PAGE_PREFIXES = ["/s/", "/status/", "/survey/", "/p/"]
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

# Background work: the Django tasks API. TASKS_BACKEND picks the engine by settings alone:
# "database" (default: task rows in our database, run by `manage.py db_worker`) or "rq" (RQ on
# Redis at REDIS_URL, run by `manage.py rqworker --with-scheduler`), or any backend's dotted path.
# Either way our rows (outbox messages, timers) are the truth and the sweeps re-queue lost work.
CANDOR_TASK_QUEUES = ["default", "fanout", "email", "sms", "timers", "team_channels", "webhooks"]
TASK_BACKENDS = {"database": "django_tasks_db.DatabaseBackend", "rq": "django_tasks_rq.RQBackend"}
TASKS_BACKEND = TASK_BACKENDS.get(env("TASKS_BACKEND", "database"), env("TASKS_BACKEND", "database"))
TASKS = {"default": {"BACKEND": TASKS_BACKEND, "QUEUES": CANDOR_TASK_QUEUES}}
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
if TASKS_BACKEND == "django_tasks_rq.RQBackend" and not DEBUG and env("REDIS_URL") is None:
    raise ImproperlyConfigured("TASKS_BACKEND=rq needs REDIS_URL when DEBUG is off.")
# django-rq's queues, one per task queue, all on REDIS_URL. A job may run this long before RQ
# kills it; a delivery batch takes seconds, an import of a large CSV a few minutes.
# `manage.py rqworker` runs django-tasks' jobs in one process per worker (no fork per job: it keeps
# its database connection and one metrics file); RQ's job timeout still applies.
RQ = {"JOB_CLASS": "django_tasks_rq.Job", "WORKER_CLASS": "rq.worker.SimpleWorker"}
RQ_QUEUES = {
    name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": int(env("CANDOR_RQ_JOB_TIMEOUT_SECONDS", "900"))}
    for name in CANDOR_TASK_QUEUES
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

# Logs: one JSON object per line when DEBUG is off (request id, incident, message id, provider,
# outcome as fields), readable text under `make run`. CANDOR_LOG_FORMAT=json|text overrides.
CANDOR_LOG_FORMAT = env("CANDOR_LOG_FORMAT", "text" if DEBUG else "json")
if CANDOR_LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("CANDOR_LOG_FORMAT must be json or text.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"()": "candor.logging.TextFormatter", "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "candor.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": CANDOR_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The Twilio SDK logs six INFO lines per SMS.
        "twilio.http_client": {"level": "WARNING"},
        # One line per request comes from comms.monitoring; Django's own would repeat it.
        "django.server": {"level": "WARNING"},
        "candor.http": {"level": env("CANDOR_HTTP_LOG_LEVEL", "INFO")},
    },
}

# Operations: /health/ready/ answers 503 when the oldest due message has waited longer than this
# for a worker; /metrics answers a bearer token (CANDOR_METRICS_TOKEN) or these addresses/networks.
# Prometheus multiprocess mode (gunicorn, RQ): every process of a machine writes its counts under
# this directory, emptied before the processes start (make serve, the systemd units do).
if env("PROMETHEUS_MULTIPROC_DIR"):
    Path(env("PROMETHEUS_MULTIPROC_DIR")).mkdir(parents=True, exist_ok=True)
CANDOR_READY_MAX_QUEUE_LAG_SECONDS = int(env("CANDOR_READY_MAX_QUEUE_LAG_SECONDS", "300"))
CANDOR_METRICS_TOKEN = env("CANDOR_METRICS_TOKEN", "")
CANDOR_METRICS_ALLOWED_IPS = env_list("CANDOR_METRICS_ALLOWED_IPS", "127.0.0.1,::1")
# Gauges read from the database at scrape time; playbooks adds the promises and deadlines.
CANDOR_METRICS_COLLECTORS = [
    "comms.monitoring.collectors.OutboxCollector",
    "comms.monitoring.collectors.TaskCollector",
    "playbooks.promises.metrics.PromiseCollector",
]

# Outbox delivery.
CANDOR_EMAIL_BATCH_SIZE = int(env("CANDOR_EMAIL_BATCH_SIZE", "1000"))
# Streamed publish: the publishing transaction writes the first CANDOR_FAN_OUT_FIRST_CHUNK_SIZE
# contacts' messages (one of every language and channel first), workers the rest in chunks.
CANDOR_FAN_OUT_FIRST_CHUNK_SIZE = int(env("CANDOR_FAN_OUT_FIRST_CHUNK_SIZE", "250"))
CANDOR_FAN_OUT_CHUNK_SIZE = int(env("CANDOR_FAN_OUT_CHUNK_SIZE", "5000"))
CANDOR_SMS_BATCH_SIZE = int(env("CANDOR_SMS_BATCH_SIZE", "100"))
CANDOR_SMS_CONCURRENCY = int(env("CANDOR_SMS_CONCURRENCY", "8"))
# How the Twilio SDK sends: "aiohttp" (its AsyncTwilioHttpClient, one event loop and session per
# process, a third of the CPU per SMS) or "threads" (its sync client, one session per thread).
CANDOR_TWILIO_HTTP = env("CANDOR_TWILIO_HTTP", "aiohttp")
CANDOR_EMAIL_CONCURRENCY = int(env("CANDOR_EMAIL_CONCURRENCY", "4"))
CANDOR_MAX_ATTEMPTS = int(env("CANDOR_MAX_ATTEMPTS", "8"))
CANDOR_RETRY_BASE_SECONDS = float(env("CANDOR_RETRY_BASE_SECONDS", "5"))
# Recovery: a worker renews the lease on what it holds every CANDOR_LEASE_RENEW_SECONDS; a lease not
# renewed for CANDOR_LEASE_SECONDS belongs to a dead worker and its work is taken back at once.
CANDOR_LEASE_SECONDS = float(env("CANDOR_LEASE_SECONDS", "15"))
CANDOR_LEASE_RENEW_SECONDS = float(env("CANDOR_LEASE_RENEW_SECONDS", "3"))
# Emails are handed over and recorded this many at a time: at most this many can go out twice
# when a worker is killed between the provider's answer and our commit.
CANDOR_EMAIL_SLICE_SIZE = int(env("CANDOR_EMAIL_SLICE_SIZE", "100"))
# With a task backend that cannot count its waiting tasks (not the database one), the sweep
# re-enqueues work for messages due longer than this.
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


# --- Issue #13: hostile input, throttling, deployment security ---------------------------------
# JSON bodies (API, provider webhooks, alerts) are refused with a 400 past these limits.
CANDOR_JSON_MAX_BYTES = int(env("CANDOR_JSON_MAX_BYTES", str(1024 * 1024)))
CANDOR_JSON_MAX_DEPTH = int(env("CANDOR_JSON_MAX_DEPTH", "32"))
# Sane bounds on times people type: a promise of the next update, the detection of an incident.
CANDOR_NEXT_UPDATE_MAX_DAYS = int(env("CANDOR_NEXT_UPDATE_MAX_DAYS", "30"))
CANDOR_DETECTION_MAX_AGE_DAYS = int(env("CANDOR_DETECTION_MAX_AGE_DAYS", "365"))
# A background contact import records its progress (rows checked) every this many rows.
CANDOR_IMPORT_PROGRESS_EVERY = int(env("CANDOR_IMPORT_PROGRESS_EVERY", "1000"))
# Throttling (see README, "Rate limits"). Login lockout by django-axes, for the console and the
# API token: after AXES_FAILURE_LIMIT failures from one IP address, or for one username.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(env("CANDOR_LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(env("CANDOR_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_LOCKOUT_CALLABLE = "candor.throttling.login_lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Behind this many reverse proxies (nginx in docs/deploy.md: 1), the client's address is read from
# the proxies' own entries of X-Forwarded-For (candor.middleware.TrustedProxyMiddleware); 0 trusts
# no header. Without it, behind a proxy, every client shares the proxy's address and its limits.
CANDOR_TRUSTED_PROXIES = int(env("CANDOR_TRUSTED_PROXIES", "0"))
# DRF reads REMOTE_ADDR as the middleware left it, never the client's own X-Forwarded-For.
REST_FRAMEWORK["NUM_PROXIES"] = 0
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "token": env("CANDOR_RATE_TOKEN", "20/minute"),
    "api_writes": env("CANDOR_RATE_API_WRITES", "300/minute"),
}
# Endpoints without a login, per client IP and per endpoint or link: alerts (monitoring retries a
# 429, so no alert is lost) and the signed client links (status, survey, preferences pages).
CANDOR_RATE_LIMITS = {
    "alerts": env("CANDOR_RATE_ALERTS", "120/minute"),
    "client_links": env("CANDOR_RATE_CLIENT_LINKS", "60/minute"),
}
# An open survey invites, this often, the contacts whose updates were delivered since it started.
CANDOR_SURVEY_RECHECK_MINUTES = float(env("CANDOR_SURVEY_RECHECK_MINUTES", "60"))
# A request is HTTPS by a proxy's header only when the deployment says which header its proxy sets
# (CANDOR_PROXY_SSL_HEADER=X-Forwarded-Proto); trusted otherwise, any client could claim HTTPS.
CANDOR_PROXY_SSL_HEADER = env("CANDOR_PROXY_SSL_HEADER", "").strip()
if CANDOR_PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + CANDOR_PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
# runserver serves each request on a new thread, and every thread would keep its own connection open.
if sys.argv[1:2] == ["runserver"]:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# Content-Security-Policy (django-csp): no inline script or style, nothing from another origin, on
# every page; the console, the vendored htmx and the client pages pass it in the browser tests.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "object-src": ["'none'"],
    },
}
# Pages we do not write (Django's admin, the Swagger UI and Redoc API docs) set inline styles, and
# Redoc starts a worker from a blob: URL; only these path prefixes get those additions. Scripts stay 'self'.
CANDOR_CSP_RELAXED_PATHS = {
    "/admin/": {"style-src": ["'self'", "'unsafe-inline'"]},
    "/api/docs/": {"style-src": ["'self'", "'unsafe-inline'"]},
    "/api/redoc/": {"style-src": ["'self'", "'unsafe-inline'"], "worker-src": ["'self'", "blob:"]},
}
# --- end of issue #13 settings -------------------------------------------------------------------

# ---- Team channels (Slack, Teams) and outgoing webhooks (issue #14) -----------------------------
# Both deliver through the worker on their own queues (listed in CANDOR_TASK_QUEUES above).
# Team channel posts claimed per task (one request each: Slack and Teams take one message per call).
CANDOR_TEAM_CHANNEL_BATCH_SIZE = int(env("CANDOR_TEAM_CHANNEL_BATCH_SIZE", "20"))
# Outgoing webhooks (comms.outgoing_webhooks): deliveries claimed per task, attempts before giving
# up (backoff from CANDOR_RETRY_BASE_SECONDS, doubling, at most an hour), the request timeout.
CANDOR_WEBHOOK_BATCH_SIZE = int(env("CANDOR_WEBHOOK_BATCH_SIZE", "20"))
CANDOR_WEBHOOK_MAX_ATTEMPTS = int(env("CANDOR_WEBHOOK_MAX_ATTEMPTS", "8"))
CANDOR_WEBHOOK_TIMEOUT_SECONDS = float(env("CANDOR_WEBHOOK_TIMEOUT_SECONDS", "10"))
# A delivery still 'sending' this long after its claim was left by a stopped worker: a batch
# cannot take longer than all its requests timing out one after another.
CANDOR_WEBHOOK_STUCK_SECONDS = float(
    env("CANDOR_WEBHOOK_STUCK_SECONDS", str(CANDOR_WEBHOOK_BATCH_SIZE * CANDOR_WEBHOOK_TIMEOUT_SECONDS + 60))
)
# Endpoint URLs must be HTTPS; plain http is allowed to loopback only, and only while DEBUG is on
# (tests and local development).
CANDOR_WEBHOOK_ALLOW_LOOPBACK_HTTP = env_bool("CANDOR_WEBHOOK_ALLOW_LOOPBACK_HTTP", DEBUG)
# ---- end of issue #14 settings -------------------------------------------------------------------
