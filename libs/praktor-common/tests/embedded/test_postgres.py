"""The embedded PostgreSQL used by `praktor up` and by tests."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from praktor_common.embedded.ports import free_port, port_is_free
from praktor_common.embedded.postgres import (
    SYSTEM_USER,
    EmbeddedPostgres,
    PostgresServerError,
)

pytestmark = pytest.mark.integration


def _private_dir() -> Path:
    # When we are root the server runs as an unprivileged user that must reach
    # the data directory, so keep it out of pytest's private basetemp.
    return Path(tempfile.mkdtemp(prefix="praktor-pg-test-"))


@pytest.fixture
def pg_root() -> Iterator[Path]:
    root = _private_dir()
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedPostgres]:
    """One server for the tests that only look at it."""
    root = _private_dir()
    pg = EmbeddedPostgres(
        root / "data", port=free_port(), password=secrets.token_urlsafe(16), durable=False
    )
    pg.start()
    yield pg
    pg.stop()
    shutil.rmtree(root, ignore_errors=True)


def _dsn(pg: EmbeddedPostgres, *, user: str = "praktor", password: str | None = None) -> str:
    pw = pg.password if password is None else password
    return f"postgresql://{user}:{pw}@127.0.0.1:{pg.port}/praktor"


def _uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


async def test_it_accepts_the_praktor_role_with_its_password_over_tcp(
    server: EmbeddedPostgres,
) -> None:
    connection = await asyncpg.connect(_dsn(server))
    try:
        row = await connection.fetchrow(
            "SELECT current_user AS user, current_database() AS db, "
            "inet_server_addr()::text AS addr, inet_server_port() AS port, "
            "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser, "
            "(SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user) AS createdb, "
            "(SELECT pg_get_userbyid(datdba) FROM pg_database "
            " WHERE datname = current_database()) AS owner"
        )
    finally:
        await connection.close()
    assert row is not None
    assert dict(row) == {
        "user": "praktor",
        "db": "praktor",
        "addr": "127.0.0.1/32",
        "port": server.port,
        "superuser": False,
        "createdb": True,
        "owner": "praktor",
    }


async def test_the_url_is_a_sqlalchemy_asyncpg_url(server: EmbeddedPostgres) -> None:
    assert server.url.startswith(f"postgresql+asyncpg://praktor:{server.password}@127.0.0.1:")
    assert server.url.endswith(f":{server.port}/praktor")


async def test_a_wrong_password_is_rejected(server: EmbeddedPostgres) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(_dsn(server, password="not-the-password"))


async def test_the_superuser_cannot_log_in_over_tcp(server: EmbeddedPostgres) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(_dsn(server, user="postgres", password="anything"))


async def test_it_listens_on_loopback_only(server: EmbeddedPostgres) -> None:
    connection = await asyncpg.connect(_dsn(server))
    try:
        assert await connection.fetchval("SHOW listen_addresses") == "127.0.0.1"
        assert await connection.fetchval("SHOW password_encryption") == "scram-sha-256"
    finally:
        await connection.close()


async def test_a_restart_on_the_same_directory_keeps_the_data(pg_root: Path) -> None:
    first = EmbeddedPostgres(pg_root / "data", port=free_port(), password="first-pw")
    first.start()
    try:
        connection = await asyncpg.connect(_dsn(first))
        await connection.execute(
            "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept')"
        )
        await connection.close()
    finally:
        first.stop()

    # Another port, and the caller's password is the one that works afterwards
    # (quotes, URL delimiters and all).
    second = EmbeddedPostgres(pg_root / "data", port=free_port(), password="2nd p@ss:w/rd%'\"")
    second.start()
    try:
        connection = await asyncpg.connect(second.dsn)
        try:
            assert await connection.fetchval("SELECT body FROM notes") == "kept"
        finally:
            await connection.close()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(_dsn(second, password="first-pw"))
    finally:
        second.stop()


def test_stop_shuts_the_server_down_cleanly(pg_root: Path) -> None:
    pg = EmbeddedPostgres(pg_root / "data", port=free_port(), password="pw", durable=False)
    pg.start()
    process = pg.process
    assert process is not None
    assert pg.running

    pg.stop()

    assert process.returncode == 0  # fast shutdown, not a kill
    assert not pg.running
    assert not (pg_root / "data" / "postmaster.pid").exists()
    assert port_is_free(pg.port)
    assert "database system is shut down" in pg.server_log.read_text()
    pg.stop()  # stopping twice is harmless


def test_the_data_directory_is_private_to_the_server_user(server: EmbeddedPostgres) -> None:
    info = server.data_dir.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert server.process is not None
    server_uid = _uid_of(server.process.pid)
    assert info.st_uid == server_uid
    if os.geteuid() == 0:
        assert server_uid == pwd.getpwnam(SYSTEM_USER).pw_uid
    else:
        assert server_uid == os.geteuid()


def test_it_refuses_a_directory_that_holds_something_else(pg_root: Path) -> None:
    data = pg_root / "data"
    data.mkdir()
    (data / "precious.txt").write_text("do not overwrite")
    pg = EmbeddedPostgres(data, port=free_port(), password="pw")
    with pytest.raises(PostgresServerError, match="not empty"):
        pg.start()
    assert (data / "precious.txt").read_text() == "do not overwrite"


def test_a_second_server_on_a_running_cluster_fails_and_leaves_the_first_alone(
    server: EmbeddedPostgres,
) -> None:
    intruder = EmbeddedPostgres(server.data_dir, port=free_port(), password="other")
    with pytest.raises(PostgresServerError, match=r"postmaster\.pid"):
        intruder.start(timeout=20)
    assert server.running


def test_a_port_in_use_fails_with_the_server_log(pg_root: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        pg = EmbeddedPostgres(pg_root / "data", port=port, password="pw", durable=False)
        with pytest.raises(PostgresServerError, match=r"could not bind|Address already in use"):
            pg.start(timeout=20)
    assert not pg.running


def test_it_works_when_run_by_a_normal_user(pg_root: Path) -> None:
    """When we are root, run the whole thing again as `nobody` (no user switching then)."""
    if os.geteuid() != 0:
        pytest.skip("already a normal user: every other test here covers it")
    nobody = pwd.getpwnam("nobody")
    home = pg_root / "nobody"
    home.mkdir()
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    pg_root.chmod(0o755)
    script = textwrap.dedent(
        f"""
        import asyncio, json, os
        from pathlib import Path
        import asyncpg
        from praktor_common.embedded.ports import free_port
        from praktor_common.embedded.postgres import EmbeddedPostgres

        pg = EmbeddedPostgres(Path({str(home)!r}) / "data",
                              port=free_port(), password="pw", durable=False)
        pg.start()
        try:
            async def main():
                c = await asyncpg.connect(pg.dsn)
                try:
                    return await c.fetchval("SELECT current_user")
                finally:
                    await c.close()
            user = asyncio.run(main())
            uid = int(next(l for l in open(f"/proc/{{pg.process.pid}}/status")
                           if l.startswith("Uid:")).split()[1])
        finally:
            pg.stop()
        print(json.dumps({{"user": user, "server_uid": uid, "me": os.geteuid()}}))
        """
    )
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is needed to become nobody")
    as_nobody = [
        setpriv,
        f"--reuid={nobody.pw_uid}",
        f"--regid={nobody.pw_gid}",
        "--clear-groups",
        sys.executable,
        "-c",
    ]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    probe = subprocess.run(
        [*as_nobody, "import praktor_common"], capture_output=True, text=True, env=env, cwd=home
    )
    if probe.returncode != 0:
        pytest.skip(f"nobody cannot run this virtualenv: {probe.stderr.strip()[-200:]}")

    result = subprocess.run(
        [*as_nobody, script],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"user": "praktor", "server_uid": nobody.pw_uid, "me": nobody.pw_uid}
