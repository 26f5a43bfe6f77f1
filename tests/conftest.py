"""Session-wide real components: Redis on a free port and a Celery worker in a thread.

No eager mode anywhere: a job created by a view is sent through Redis and run by the worker.
"""

from __future__ import annotations

import os

# Sync Playwright keeps an event loop in the main thread; without this every ORM call after the
# browser tests start raises SynchronousOnlyOperation (engineering-notes §7).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from xenpanel.devservices import RedisServer, start_redis, worker_in_thread  # noqa: E402

WORKER_QUEUES = ["xenpanel", "host.test"]


# --- which database the session runs on --------------------------------------------------------
# SQLite by default; `--db=postgres` (or XENPANEL_TEST_DB=postgres) starts a throwaway PostgreSQL
# server for the session (tests/support/postgres.py). `make test` runs the tests marked `pg` (the
# database-sensitive ones, marked below by where they live) a second time on PostgreSQL.
TESTS_DIR = Path(__file__).resolve().parent
PG_PATHS = (
    "jobs/",  # runner, locks, targets, a worker and concurrent jobs
    "accounts/",  # quotas (select_for_update), audit, sign-in lockouts
    "test_permission_matrix.py",
    "storage/test_volumes.py",
    "domains/test_handbook_path.py",
    "domains/test_autostart_history.py",  # a domU another job holds is skipped
    "domains/test_create_collisions.py",  # unique names: an IntegrityError aborts a transaction
    "test_generated_input.py",  # what PostgreSQL refuses and SQLite stores: NUL, huge ints, inet
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgres"),
        default=os.environ.get("XENPANEL_TEST_DB") or "sqlite",
        help="database for the session: sqlite (a file, the default) or postgres (a throwaway "
        "server started for the session; default from XENPANEL_TEST_DB)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    if config.getoption("--db") == "postgres":
        return "database: PostgreSQL (a throwaway server started for this session)"
    return "database: SQLite (a file per session)"


def _use_database(config: dict[str, object]) -> None:
    """Point settings.DATABASES["default"] (and Django's connection to it) at `config`."""
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    default = settings.DATABASES["default"]
    default.clear()
    default.update(config)
    # The handler caches the configured settings and the connection object (its class follows
    # ENGINE): drop both so the next use builds them again from the new dict.
    connections.__dict__.pop("settings", None)
    connections._settings = None
    try:
        del connections["default"]
    except AttributeError:
        pass


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    from django.conf import settings

    if request.config.getoption("--db") != "postgres":
        # A file, not the in-memory DB: the worker threads and the live server share it, with WAL.
        path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = str(path)
        yield
        return

    from tests.support.postgres import start_postgres
    from xenpanel import env

    server = start_postgres(tmp_path_factory.mktemp("postgres"))
    config = env.database(server.url, settings.VAR_DIR)
    # No persistent connections: the worker's and the live server's threads would keep theirs
    # open, and dropping the test database at the end would wait on them.
    config["CONN_MAX_AGE"] = 0
    _use_database(config)
    try:
        yield
    finally:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def _collected_static() -> Iterator[None]:
    """Pages link hashed static names from a real collectstatic (tests/support/static.py)."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test import override_settings

    from tests.support.static import collected_static_root

    with override_settings(STATIC_ROOT=collected_static_root()), pytest.MonkeyPatch.context() as mp:
        # live_server's own static handler serves from the source tree (no hashed names): let
        # the request through to whitenoise, which serves STATIC_ROOT as in production.
        mp.setattr(StaticFilesHandler, "_should_handle", lambda self, path: False)
        yield


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _point_at_redis(redis_server: RedisServer) -> Iterator[str]:
    from django.conf import settings

    from xenpanel.celery import app

    old = settings.REDIS_URL
    settings.REDIS_URL = redis_server.url
    app.conf.broker_url = redis_server.url
    yield redis_server.url
    settings.REDIS_URL = old


@pytest.fixture(scope="session")
def celery_worker(
    _point_at_redis: str, django_db_setup: None, django_db_blocker
) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A real worker (threads pool, concurrency 2) consuming the panel's queues."""
    from xenpanel.celery import app

    with django_db_blocker.unblock():
        with worker_in_thread(app, WORKER_QUEUES, concurrency=2) as worker:
            yield worker


@pytest.fixture
def worker(celery_worker: object, transactional_db: None) -> object:
    """Use in tests whose jobs a real worker must run (rows must be committed for it to see)."""
    return celery_worker


@pytest.fixture
def admin_user(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")


@pytest.fixture
def admin_client(client, admin_user):  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    return client


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "worker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
        try:
            where = item.path.relative_to(TESTS_DIR).as_posix()
        except ValueError:
            continue
        if where.startswith(PG_PATHS):
            item.add_marker(pytest.mark.pg)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real OpenSSH sshd on 127.0.0.1 for the whole session (a throwaway host key)."""
    from tests.support.sshd import sshd_available, start_sshd, stop_sshd

    if not sshd_available():
        pytest.fail("no /usr/sbin/sshd: run scripts/system-packages.sh test")
    info = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield info
    stop_sshd(info)
