"""`praktor up` on a fresh data directory, driven from outside like a user."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import pytest
import yaml

from tests.e2e.harness import SERVICES, Suite

pytestmark = pytest.mark.e2e


def test_every_service_reports_ready_with_its_pid_and_health_url(suite: Suite) -> None:
    services = suite.services()
    assert set(services) == set(SERVICES)
    for name, svc in services.items():
        assert svc["ready"], f"{name} not ready: {svc['detail']}"
        assert svc["pid"]
        assert svc["health_url"].startswith("http://127.0.0.1:")


def test_first_run_prints_the_url_and_the_generated_secrets_kept_private(suite: Suite) -> None:
    out = suite.output()
    password_file = suite.data_dir / "secrets" / "web-password"
    password = password_file.read_text().strip()
    assert "Mission Control: http://127.0.0.1:" in out
    assert password in out
    for secret in ("web-password", "vault-passphrase"):
        mode = stat.S_IMODE((suite.data_dir / "secrets" / secret).stat().st_mode)
        assert mode == 0o600, f"{secret} is {oct(mode)}"
    # Nobody else may read or write the data directory; "others" may at most traverse it,
    # which the embedded PostgreSQL's own system user needs when run as root.
    assert stat.S_IMODE(suite.data_dir.stat().st_mode) & 0o076 == 0
    assert stat.S_IMODE((suite.data_dir / "secrets").stat().st_mode) == 0o700


def test_a_killed_service_is_restarted_and_ready_again(suite: Suite) -> None:
    before = suite.services()["router"]
    os.kill(before["pid"], signal.SIGKILL)

    def router_back() -> bool:
        svc = suite.services()["router"]
        return bool(svc["ready"] and svc["pid"] and svc["pid"] != before["pid"])

    suite.wait_for(router_back, 30, "router restarted and ready")
    assert suite.services()["router"]["restarts"] >= before["restarts"] + 1
    assert "router" in suite.output()
    assert "restarting" in suite.output()


def test_a_config_change_reaches_every_running_service(suite: Suite) -> None:
    old_hash = suite.readyz("router")["config_hash"]
    config = yaml.safe_load(suite.config_path.read_text())
    config["agents"]["coder"] = {"description": "Writes code"}
    suite.config_path.write_text(yaml.safe_dump(config))

    def everyone_has_new_config() -> bool:
        hashes = {name: suite.readyz(name).get("config_hash") for name in SERVICES}
        return all(h and h != old_hash for h in hashes.values()) and len(set(hashes.values())) == 1

    suite.wait_for(everyone_has_new_config, 30, "every service on the new config")


def test_an_invalid_config_change_is_refused_and_the_running_config_stays(suite: Suite) -> None:
    current = suite.readyz("web")["config_hash"]
    good = suite.config_path.read_text()
    bad = yaml.safe_load(good)
    bad["router"]["default_agent"] = "nobody"
    suite.config_path.write_text(yaml.safe_dump(bad))
    suite.wait_for(lambda: "router.default_agent" in suite.output(), 30, "the error reported")
    assert all(suite.readyz(name)["config_hash"] == current for name in SERVICES)
    suite.config_path.write_text(good)


def test_a_second_up_on_the_same_data_dir_keeps_everything(tmp_path: Path) -> None:
    first = Suite.create(tmp_path)
    first.start()
    install_id = (first.data_dir / "install-id").read_text()
    password = (first.data_dir / "secrets" / "web-password").read_text()
    assert first.stop() == 0
    assert first.praktor("status").returncode == 1

    second = Suite(data_dir=first.data_dir, config_path=first.config_path, env=first.env)
    second.start()
    assert (second.data_dir / "install-id").read_text() == install_id
    assert (second.data_dir / "secrets" / "web-password").read_text() == password
    assert password.strip() not in second.output(), "the password is printed only once"
    orphans = [svc["pid"] for svc in second.services().values()]

    # A supervisor killed outright leaves its services, NATS and PostgreSQL running;
    # the next `praktor up` stops them and starts cleanly on the same data.
    assert second.process is not None
    os.kill(second.process.pid, signal.SIGKILL)
    second.process.wait()
    third = Suite(data_dir=first.data_dir, config_path=first.config_path, env=first.env)
    third.start()
    try:
        assert "left running by a previous `praktor up`" in third.output()
        assert not any(Path(f"/proc/{pid}").exists() for pid in orphans)
        assert (third.data_dir / "install-id").read_text() == install_id
    finally:
        assert third.stop() == 0
