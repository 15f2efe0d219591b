"""Encore settings: one module, every value from the environment (12-factor).

Each variable of the contract's configuration table is read here, in one place,
with the default the contract gives. Code reads ``settings.X`` at call time, so a
test's ``settings`` override takes effect without code changes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float, low: float, high: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from exc
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be between {low} and {high}, got {raw!r}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# --- Core -------------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "encore-dev-only-insecure-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "core",
    "accounts",
    "queue_app",
    "concerts",
    "wallet",
    "payments",
]

MIDDLEWARE = [
    # First: its one log line per request (and X-Request-ID) covers every response.
    "core.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything parses a body: DRF's JSON parser does not check the size itself.
    "core.middleware.BodySizeLimitMiddleware",
    # The waiting-room poll and token-carrying joins are answered here (core.fastpath).
    "queue_app.middleware.QueueFastPathMiddleware",
    # So are an admitted fan's dates and seat-map refreshes that carry an API token.
    "concerts.middleware.BookingReadMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Clears the signed-in person's own cookies (the queue pass) on every logout.
    "core.cookies.ClearPrivateCookiesMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.ratelimit.PageRateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.errors.ApiProblemMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

# --- Database ---------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
# Waits for a row lock are bounded; a timeout becomes 503 SERVICE_UNAVAILABLE.
LOCK_TIMEOUT_MS = env_int("LOCK_TIMEOUT_MS", 5000)
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Embedded default: WAL lets readers run beside the one writer; IMMEDIATE
    # takes the write lock at BEGIN so booking transactions serialize instead
    # of failing half-way with "database is locked".
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": LOCK_TIMEOUT_MS / 1000,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db["CONN_HEALTH_CHECKS"] = True
    _db.setdefault("OPTIONS", {})
    # Every serving process borrows connections from a pool of at most DB_POOL_MAX_SIZE, so
    # no number of concurrent requests can open more (runserver starts a thread per request).
    # django-q2's cluster forks its workers and opens and closes connections around each
    # task itself, and a pool's threads do not survive a fork: it keeps plain connections.
    DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 10)
    if DB_POOL_MAX_SIZE > 0 and sys.argv[1:2] != ["qcluster"]:
        _db["CONN_MAX_AGE"] = 0  # the pool keeps the connections
        _db["OPTIONS"]["pool"] = {
            "min_size": min(2, DB_POOL_MAX_SIZE),
            "max_size": DB_POOL_MAX_SIZE,
            # A request that waits longer for a connection (all busy, or the database away:
            # the pool then keeps retrying in the background) gets a 503 with Retry-After.
            "timeout": env_int("DB_POOL_TIMEOUT", 3),
            # Give up a failing reconnect quickly (its backoff doubles without bound): the next
            # request starts a fresh attempt, so service resumes as soon as the database is back.
            "reconnect_timeout": 2,
        }
        # Django's CONN_HEALTH_CHECKS would have the pool run an empty query on every borrow;
        # core.postgresql's pool asks the socket instead (a query only if something waits there).
        _db["ENGINE"] = "core.postgresql"
        _db["CONN_HEALTH_CHECKS"] = False
    else:
        _db["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60)
    # DB_POOLER=transaction: DATABASE_URL is a transaction-pooling PgBouncer, where a server
    # session serves whichever client has a transaction, so nothing may rest on session state.
    # lock_timeout is then set inside every transaction (SET LOCAL, core.postgresql) instead of
    # as a startup option (which PgBouncer refuses), server-side cursors are off, and
    # statements are not prepared unless DB_PREPARE_THRESHOLD asks for it (PgBouncer 1.21+
    # with max_prepared_statements carries them; older ones cannot).
    DB_POOLER = env_str("DB_POOLER")
    if DB_POOLER not in {"", "transaction"}:
        raise ImproperlyConfigured(f"DB_POOLER must be empty or 'transaction', not {DB_POOLER!r}")
    if DB_POOLER:
        _db["ENGINE"] = "core.postgresql"
        _db["DISABLE_SERVER_SIDE_CURSORS"] = True
    else:
        _db["OPTIONS"]["options"] = f"-c lock_timeout={LOCK_TIMEOUT_MS}"
    # Server-side binding lets psycopg prepare what a connection runs again and again (from the
    # DB_PREPARE_THRESHOLD-th run on), so PostgreSQL plans each hot statement once per connection
    # instead of on every request. 0 turns it off.
    DB_PREPARE_THRESHOLD = env_int("DB_PREPARE_THRESHOLD", 0 if DB_POOLER else 5)
    if DB_PREPARE_THRESHOLD > 0:
        _db["OPTIONS"]["server_side_binding"] = True
        _db["OPTIONS"]["prepare_threshold"] = DB_PREPARE_THRESHOLD
    # An unreachable server fails fast (a 503) instead of hanging a worker on connect;
    # keepalives notice a peer that vanished without closing the connection.
    _db["OPTIONS"].setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5))
    _db["OPTIONS"].setdefault("keepalives", 1)
    _db["OPTIONS"].setdefault("keepalives_idle", 30)
    _db["OPTIONS"].setdefault("keepalives_interval", 10)
    _db["OPTIONS"].setdefault("keepalives_count", 3)
DATABASES = {"default": _db}
# A streaming replica for the public catalogue only (core.replica); a replica that fails a
# read is left alone for REPLICA_RETRY_SECONDS, its reads going to the primary meanwhile.
REPLICA_DATABASE_URL = env_str("REPLICA_DATABASE_URL")
REPLICA_RETRY_SECONDS = env_int("REPLICA_RETRY_SECONDS", 10)
if REPLICA_DATABASE_URL:
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        raise ImproperlyConfigured("REPLICA_DATABASE_URL needs PostgreSQL")
    _where = dj_database_url.parse(REPLICA_DATABASE_URL)
    _replica = {**_db, **{k: _where[k] for k in ("NAME", "USER", "PASSWORD", "HOST", "PORT") if k in _where}}
    # A replica that is away costs a catalogue read about a second before the primary answers.
    _replica["OPTIONS"] = {**_db["OPTIONS"], "connect_timeout": 1}
    if "pool" in _replica["OPTIONS"]:
        _replica["OPTIONS"]["pool"] = {**_replica["OPTIONS"]["pool"], "timeout": 1, "min_size": 0}
    _replica["TEST"] = {"MIRROR": "default"}  # a test run never creates a database there
    DATABASES["replica"] = _replica
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, small shared state) --------------------------------
REDIS_URL = env_str("REDIS_URL")
# Each of Redis's three roles may have an instance of its own (say a persistent one for the
# line and a volatile one for the cache); each defaults to REDIS_URL.
QUEUE_REDIS_URL = env_str("QUEUE_REDIS_URL") or REDIS_URL
CACHE_REDIS_URL = env_str("CACHE_REDIS_URL") or REDIS_URL
BROKER_REDIS_URL = env_str("BROKER_REDIS_URL") or REDIS_URL
# A redis+cluster://host:port URL names a Redis Cluster by any of its nodes (core.rediscluster).
_CLUSTER = "redis+cluster://"
if CACHE_REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.rediscluster.ClusterRedisCache"
            if CACHE_REDIS_URL.startswith(_CLUSTER)
            else "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_REDIS_URL,
            # Bounded waits: with Redis away, rate limits fail open fast (core.ratelimit).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "encore",
        }
    }

# --- Auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "concert-list"
LOGOUT_REDIRECT_URL = "concert-list"

# --- Time -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "Asia/Seoul")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Email ------------------------------------------------------------------
EMAIL_URL = env_str("EMAIL_URL")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Encore <tickets@encore.example>")
if EMAIL_URL:
    from urllib.parse import unquote, urlsplit

    _mail = urlsplit(EMAIL_URL)
    if _mail.scheme not in {"smtp", "smtps", "smtp+tls"}:
        raise ImproperlyConfigured("EMAIL_URL must be smtp://, smtp+tls:// or smtps://")
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _mail.hostname or "localhost"
    EMAIL_PORT = _mail.port or (465 if _mail.scheme == "smtps" else 25)
    EMAIL_HOST_USER = unquote(_mail.username or "")
    EMAIL_HOST_PASSWORD = unquote(_mail.password or "")
    EMAIL_USE_SSL = _mail.scheme == "smtps"
    EMAIL_USE_TLS = _mail.scheme == "smtp+tls"
    EMAIL_TIMEOUT = 10
elif DEBUG:
    # make run: one line per email on the console, not the whole message.
    EMAIL_BACKEND = "core.mail.SummaryConsoleBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- Security (production) --------------------------------------------------
# Behind TLS (SECURE_SSL_REDIRECT=1): cookies only over HTTPS, HSTS for a year,
# plain HTTP redirected; `manage.py check --deploy` is then clean (tests/core).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = SECURE_SSL_REDIRECT
CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000) if SECURE_SSL_REDIRECT else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_SSL_REDIRECT
SECURE_HSTS_PRELOAD = SECURE_SSL_REDIRECT
# The TLS-terminating proxy must set X-Forwarded-Proto (and strip any the client sent).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE_SSL_REDIRECT else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Bodies above this are refused with 413 before parsing (core.middleware.BodySizeLimitMiddleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
# Proxies in front of the app whose X-Forwarded-For may be trusted for client addresses
# (rate limits per address). 0: use the socket's address, so a client cannot pick its own.
NUM_PROXIES = env_int("NUM_PROXIES", 0)

# --- Encore domain settings (the contract's table) --------------------------
PORT = env_int("PORT", 8000)
WEB_WORKERS = env_int("WEB_WORKERS", 2)
QUEUE_ADMIT_INTERVAL_SECONDS = env_int("QUEUE_ADMIT_INTERVAL_SECONDS", 10)
QUEUE_ADMIT_BATCH = env_int("QUEUE_ADMIT_BATCH", 100)
QUEUE_MAX_ACTIVE = env_int("QUEUE_MAX_ACTIVE", 500)
QUEUE_WAIT_IDLE_SECONDS = env_int("QUEUE_WAIT_IDLE_SECONDS", 60)
QUEUE_ACTIVE_TTL_SECONDS = env_int("QUEUE_ACTIVE_TTL_SECONDS", 600)
# The hard end of an ACTIVE pass, counted from admission: holds extend a pass, never past this.
QUEUE_ACTIVE_MAX_SECONDS = env_int("QUEUE_ACTIVE_MAX_SECONDS", 2 * QUEUE_ACTIVE_TTL_SECONDS)
QUEUE_POLL_BUDGET_RPS = env_int("QUEUE_POLL_BUDGET_RPS", 1000)
QUEUE_RETENTION_SECONDS = env_int("QUEUE_RETENTION_SECONDS", 24 * 3600)
HOLD_TTL_SECONDS = env_int("HOLD_TTL_SECONDS", 300)
MAX_HOLDS_PER_USER = env_int("MAX_HOLDS_PER_USER", 4)
CHARGE_MIN = env_int("CHARGE_MIN", 1000)
CHARGE_MAX = env_int("CHARGE_MAX", 1_000_000)
BALANCE_MAX = env_int("BALANCE_MAX", 10_000_000)
CANCEL_DEADLINE_HOURS = env_int("CANCEL_DEADLINE_HOURS", 24)
PAYMENT_GATEWAY_URL = env_str("PAYMENT_GATEWAY_URL")
PAYMENT_GATEWAY_TIMEOUT_SECONDS = env_int("PAYMENT_GATEWAY_TIMEOUT_SECONDS", 5)
QUEUE_BACKEND = env_str("QUEUE_BACKEND", "")
# Seconds each process remembers a valid API token's user (0: ask the database every time).
AUTH_TOKEN_CACHE_SECONDS = env_int("AUTH_TOKEN_CACHE_SECONDS", 5)
RATE_LIMITS = env_str("RATE_LIMITS", "on").strip().lower() not in {"off", "0", "false", "no"}

# --- REST framework / OpenAPI -----------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes anonymous calls 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON in, JSON out: other bodies are 400 VALIDATION_ERROR (pages post to their own views).
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.Pagination",
    "EXCEPTION_HANDLER": "core.errors.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": NUM_PROXIES,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "Encore API",
    "DESCRIPTION": "Concert booking with a fair virtual waiting room.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["core.openapi.strip_trailing_slashes"],
}

# --- Background work (django-q2) --------------------------------------------
Q_CLUSTER = {
    "name": "encore",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": 60,
    "retry": 120,
    "max_attempts": 3,
    "catch_up": False,
    "ack_failures": True,
    # Successful tasks are not kept: each leaves its own record (the outbox row SENT, the
    # charge settled, the hold lapsed), and keeping the last 500 made django-q2 lock and
    # read all 500 rows after every task (a third of the cluster's CPU per payment email).
    # Failed tasks are kept for the admin.
    "save_limit": -1,
}
if BROKER_REDIS_URL:
    Q_CLUSTER["redis"] = BROKER_REDIS_URL
    if BROKER_REDIS_URL.startswith(_CLUSTER):
        Q_CLUSTER["broker_class"] = "core.rediscluster.ClusterBroker"
else:
    Q_CLUSTER["orm"] = "default"

# --- Logging ----------------------------------------------------------------
# One JSON object per line (core.logs), secrets redacted, the request id on every
# line logged while a request runs; RequestLogMiddleware writes one line per request.
# Request lines: every 4xx, 5xx and slow request is logged; of the others this share
# (sampled lines say "sample"). 1 logs every request; an opening surge may want 0.1.
LOG_REQUEST_SAMPLE = env_float("LOG_REQUEST_SAMPLE", 1.0, 0.0, 1.0)
LOG_SLOW_MS = env_int("LOG_SLOW_MS", 1000)
# LOG_FORMAT=plain gives human-readable lines (redacted too) for a terminal.
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json").strip().lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "core.logs.JsonFormatter"},
        "plain": {
            "()": "core.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s%(request_tag)s %(message)s",
            "datefmt": "%H:%M:%S",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain" if LOG_FORMAT == "plain" else "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler would print its records a second time in debug.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        # Our request line replaces runserver's own access line and Django's 4xx warnings.
        "django.server": {"level": "ERROR"},
        "django.request": {"level": "ERROR"},
    },
}
