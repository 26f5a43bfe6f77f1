"""Django settings for xenpanel.

Every value an operator may change comes from a XENPANEL_* environment variable (see
`xenpanel/env.py`); the defaults run a self-contained panel: SQLite and a generated secret key
under var/, Redis on 127.0.0.1:6379, DEBUG off.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from xenpanel import __version__, env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.env_str("VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env.env_bool("DEBUG", False)
SECRET_KEY = env.secret_key(VAR_DIR)
ALLOWED_HOSTS = env.env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "xenpanel.security.PanelAdminConfig",  # django.contrib.admin, open to panel admins only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    # The panel's rooms, lowest first (docs/architecture.md): each imports only rooms listed
    # before it here.
    "accounts",
    "jobs",
    "hosts",
    "storage",
    "domains",
    "monitoring",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # gzip for HTML/JSON (not streams: SSE). Below whitenoise, which serves static files from
    # their own .gz copies; above everything that writes the body. Django >= 4.2 pads gzip output
    # randomly against BREACH (xenpanel/compression.py).
    "xenpanel.compression.PanelGZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "xenpanel.security.ContentSecurityPolicyMiddleware",
    "xenpanel.security.ApiNulMiddleware",
    "accounts.audit.AuditContextMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "xenpanel.urls"
WSGI_APPLICATION = "xenpanel.wsgi.application"
ASGI_APPLICATION = "xenpanel.asgi.application"

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
                "xenpanel.context_processors.panel",
            ],
        },
    },
]

DATABASES: dict[str, dict[str, Any]] = {
    "default": env.database(env.env_str("DATABASE_URL"), VAR_DIR)
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web process read while a worker writes job progress.
    # synchronous=NORMAL is the usual pairing with WAL: durable across a process crash, and it
    # spares an fsync per commit (jobs commit progress often).
    DATABASES["default"]["OPTIONS"]["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env.env_int("SESSION_AGE", 12 * 3600, minimum=300)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env.env_bool("HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.env_bool("SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env.env_int("HSTS_SECONDS", 0, minimum=0)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names cached for good and .gz copies, in every mode; needs `collectstatic` (make
    # demo, the test session and deploy/ run it). Without it pages link unhashed names, served
    # from the source tree through the finders below (xenpanel/staticstorage.py).
    "staticfiles": {"BACKEND": "xenpanel.staticstorage.PanelStaticStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"no_4xx_traceback": {"()": "xenpanel.logfilters.NoTracebackBelow500"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.env_str("LOG_LEVEL", "INFO")},
    # A 403/404 is logged as one line, without the traceback Django attaches (see the filter).
    "loggers": {"django.request": {"filters": ["no_4xx_traceback"]}},
}

# --- Redis and Celery ---------------------------------------------------------------------------
REDIS_URL = env.env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# The longest job we allow (an ISO download over a slow link); everything else is derived from it.
JOB_TIME_LIMIT = env.env_int("JOB_TIME_LIMIT", 4 * 3600, minimum=60)

CELERY_BROKER_URL = REDIS_URL
# Job state lives in the DB (jobs.models.Job); Celery results are not kept.
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
# A message a dead worker held is redelivered after this; it must exceed the longest job, or a
# running job would be started a second time beside itself.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": JOB_TIME_LIMIT + 1800}
CELERY_TASK_TIME_LIMIT = JOB_TIME_LIMIT
CELERY_TASK_SOFT_TIME_LIMIT = JOB_TIME_LIMIT - 30
CELERY_TASK_DEFAULT_QUEUE = env.env_str("DEFAULT_QUEUE", "xenpanel")
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# A running job is a lease: its worker renews `Job.heartbeat_at` and the job's locks every
# JOB_HEARTBEAT_SECONDS; locks lapse JOB_LEASE_SECONDS after the last renewal, and the reaper
# (beat, every JOB_REAP_SECONDS) resumes or fails a job whose lease lapsed (its worker is gone).
JOB_HEARTBEAT_SECONDS = env.env_int("JOB_HEARTBEAT_SECONDS", 5, minimum=1)
JOB_LEASE_SECONDS = env.env_int("JOB_LEASE_SECONDS", 60, minimum=3)
JOB_REAP_SECONDS = env.env_int("JOB_REAP_SECONDS", 15, minimum=1)
if 3 * JOB_HEARTBEAT_SECONDS > JOB_LEASE_SECONDS:
    raise ImproperlyConfigured(
        f"XENPANEL_JOB_LEASE_SECONDS ({JOB_LEASE_SECONDS}) must be at least three heartbeats "
        f"(3 × XENPANEL_JOB_HEARTBEAT_SECONDS = {3 * JOB_HEARTBEAT_SECONDS}), or healthy jobs "
        "would be taken for dead"
    )
#: How often a job whose worker died is started again before the reaper fails it.
JOB_MAX_ATTEMPTS = env.env_int("JOB_MAX_ATTEMPTS", 3, minimum=1)

CELERY_BEAT_SCHEDULE = {
    "refresh-all-hosts": {
        "task": "hosts.tasks.refresh_all_hosts",
        "schedule": timedelta(seconds=env.env_int("REFRESH_SECONDS", 60, minimum=5)),
        "options": {"expires": 50},
    },
    "reap-and-send-jobs": {
        "task": "jobs.tasks.reap_and_send",
        "schedule": timedelta(seconds=JOB_REAP_SECONDS),
        "options": {"expires": JOB_REAP_SECONDS},
    },
    # Failed or cancelled ISO images, abandoned uploads: forgotten a day after their last activity.
    "sweep-failed-storage": {
        "task": "storage.tasks.sweep_failed",
        "schedule": timedelta(hours=1),
        "args": (24 * 3600,),
        "options": {"expires": 3000},
    },
    # Hourly/daily domU snapshots with retention; a snapshot is due at most once per hour (day),
    # however often this runs, so a shorter interval only makes them start closer to the hour.
    "scheduled-snapshots": {
        "task": "domains.tasks.take_scheduled_snapshots",
        "schedule": timedelta(seconds=env.env_int("SNAPSHOT_SCHEDULE_SECONDS", 3600, minimum=60)),
        # A late run is harmless (queueing is idempotent); one dropped waits a whole interval.
        "options": {"expires": 600},
    },
    # Issue 16 metrics: hosts that do not answer get their sample here (the poll samples the
    # others), then the sample tables are downsampled and pruned (monitoring.retention).
    "metrics-upkeep": {
        "task": "monitoring.tasks.upkeep",
        "schedule": timedelta(seconds=env.env_int("METRICS_SECONDS", 60, minimum=10)),
        "options": {"expires": 50},
    },
}
#: How often a host's load is sampled (by its poll, which may run more often: it skips then).
METRICS_SECONDS = env.env_int("METRICS_SECONDS", 60, minimum=10)
# Issue 16 alerts: every rule evaluated each minute (and after each host poll, for its host).
CELERY_BEAT_SCHEDULE["evaluate-alerts"] = {
    "task": "monitoring.alert_tasks.evaluate",
    "schedule": timedelta(seconds=env.env_int("ALERT_SECONDS", 60, minimum=10)),
    "options": {"expires": 50},
}
# /metrics may be scraped without a token from these networks (CIDRs); empty: an admin's token.
METRICS_ALLOW = env.env_list("METRICS_ALLOW", [])

# How long a worker waits for the per-target lock before the job is retried later.
JOB_LOCK_RETRY_SECONDS = 2

XENPANEL_VERSION = __version__

# --- Hosts ------------------------------------------------------------------------------
SSH_CONNECT_TIMEOUT = env.env_int("SSH_CONNECT_TIMEOUT", 10, minimum=1)
# Where `make demo` and the tests keep simulated Dom0s.
SIM_DIR = Path(env.env_str("SIM_DIR", str(VAR_DIR / "sim"))).resolve()

# --- Storage ---
# Browser uploads of ISO images: refused above this size; kept in UPLOAD_DIR until a job has copied
# them to the host. The worker must see the same UPLOAD_DIR (run it beside the web process).
ISO_UPLOAD_MAX_BYTES = env.env_int("ISO_UPLOAD_MAX_BYTES", 16 * 2**30, minimum=65536)
UPLOAD_DIR = Path(env.env_str("UPLOAD_DIR", str(VAR_DIR / "uploads"))).resolve()
# The browser sends an upload in PUT requests of this size. Bytes are kept as they arrive, so a
# dropped connection loses nothing; larger chunks mean fewer requests (bench/upload.py: 64 MiB
# chunks reach 0.57 of a raw copy's rate, 16 MiB 0.45). A proxy in front must accept bodies of
# this size (nginx: client_max_body_size).
UPLOAD_CHUNK_BYTES = env.env_int("UPLOAD_CHUNK_BYTES", 64 * 2**20, minimum=65536)
# Allow fetching from loopback, private and link-local addresses for everyone (admins can allow it
# per download on the form); off by default so the panel cannot probe the hosts' networks.
FETCH_ALLOW_PRIVATE = env.env_bool("FETCH_ALLOW_PRIVATE", False)
# `make demo` only: URLs of the bootable ISOs its local server offers, shown on the fetch form.
DEMO_ISO_URLS = env.env_list("DEMO_ISO_URLS", [])
# fetch -T: seconds a download may stall before fetch gives up.
FETCH_TIMEOUT = env.env_int("FETCH_TIMEOUT", 300, minimum=5)
# `zfs destroy` of a volume reported busy is retried this many times, this many seconds apart.
VOLUME_BUSY_RETRIES = env.env_int("VOLUME_BUSY_RETRIES", 3, minimum=1)
VOLUME_BUSY_PAUSE = float(env.env_int("VOLUME_BUSY_PAUSE_MS", 1000, minimum=0)) / 1000

# --- Console ----------------------------------------------------------------------------------
# Where the browser opens the console WebSocket. Empty: ws(s)://<the page's host name>:6080/
# (the demo's proxy); a path such as "/websockify": the same origin as the panel, behind its
# reverse proxy (production); or a full ws:// / wss:// URL.
CONSOLE_WS_URL = env.env_str("CONSOLE_WS_URL", "")
# Where `python -m domains.console.serve` listens.
CONSOLE_LISTEN = env.env_str("CONSOLE_LISTEN", "127.0.0.1:6080")
# How long a console ticket waits to be used (it is consumed on first use anyway).
CONSOLE_TICKET_SECONDS = env.env_int("CONSOLE_TICKET_SECONDS", 30, minimum=5)

# --- Security ---------------------------------------------------------------------------------
# django-axes first: it refuses a locked-out address before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "xenpanel.security.AdminRoleBackend",
]
AXES_FAILURE_LIMIT = env.env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env.env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
# A user name *and* address pair is locked: an attacker cannot lock a user out from elsewhere,
# and one address cannot try many passwords on one name.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Behind a reverse proxy, list its address(es) so lockouts and the audit list see the browser's
# address (from X-Forwarded-For) rather than the proxy's: else one bad guesser locks a name out
# for everyone.
TRUSTED_PROXIES = env.env_list("TRUSTED_PROXIES", [])
AXES_CLIENT_IP_CALLABLE = "accounts.client_ip.client_ip"
AXES_USERNAME_CALLABLE = "accounts.client_ip.axes_username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# The session ends when the browser closes, and at the latest SESSION_COOKIE_AGE after it
# was last written (an idle timeout that saves every request would be kept alive by htmx polls).
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
CSRF_COOKIE_HTTPONLY = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if env.env_bool("HTTPS", False):
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env.env_bool("HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading commits the whole domain to HTTPS in browsers' built-in lists: a choice
        # for the site's owner, not a default of a panel that often lives on an internal name.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Content-Security-Policy (xenpanel/security.py) outside DEBUG: scripts only from our static
# files; style attributes stay allowed (progress bars set their width inline).
CSP_ENABLED = env.env_bool("CSP", not DEBUG)


# --- The REST API (/api/v1/, issue 15) -----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the browser, with CSRF
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.api_auth.TokenScope",
    ],
    "DEFAULT_PAGINATION_CLASS": "accounts.api_base.LimitOffset",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "accounts.api_base.handle_exception",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "xenpanel API",
    "DESCRIPTION": "Everything the panel's pages do, scriptable: hosts, volumes, ISO images, "
    "domUs and their jobs. Authenticate with a personal token (`Authorization: Bearer xp_…`, "
    "made on the Tokens page) or the browser session. Actions answer 202 with the job and its "
    "`Location`. See docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema describes a panel that manages machines: signed-in callers only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a field called status/state: name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "jobs.choices.JobStatus",
        "StepStatusEnum": "jobs.choices.StepStatus",
        "HostStatusEnum": "hosts.choices.HostStatus",
        "DomainStateEnum": "domains.models.DomainState",
        "GuestTypeEnum": "domains.models.GuestType",
        "VolumeStateEnum": "storage.models.Volume.State",
        "IsoStateEnum": "storage.models.IsoImage.State",
        "UploadStateEnum": "storage.models.UploadSession.State",
        # on_poweroff / on_reboot / on_crash share one set of xl event actions.
        "EventActionEnum": "domains.editing.forms.EVENT_CHOICES",
    },
    # The errors every operation can answer (401, 403 on writes, 404, 400), documented once.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accounts.api_base.document_errors",
    ],
}
