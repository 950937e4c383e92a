"""The default time zone is the machine's; a configured zone never depends on the machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from praktor_common.config.loader import load_config_text
from praktor_common.config.timezones import detect_local_timezone

NOWHERE = Path("/nonexistent/praktor-test")


def detect(environ: dict[str, str], tmp_path: Path, link: str | None = None) -> str:
    localtime = tmp_path / "localtime"
    if link is not None:
        localtime.symlink_to(link)
    return detect_local_timezone(environ, localtime=localtime, timezone_file=NOWHERE)


def test_tz_variable_names_the_zone(tmp_path: Path) -> None:
    assert detect({"TZ": "Asia/Tokyo"}, tmp_path) == "Asia/Tokyo"
    assert detect({"TZ": ":Europe/Berlin"}, tmp_path) == "Europe/Berlin"
    assert detect({"TZ": "/usr/share/zoneinfo/America/New_York"}, tmp_path) == "America/New_York"


def test_localtime_symlink_names_the_zone_when_tz_is_unset(tmp_path: Path) -> None:
    assert detect({}, tmp_path, "/usr/share/zoneinfo/Europe/Paris") == "Europe/Paris"


def test_a_tz_zoneinfo_does_not_know_falls_through_to_localtime(tmp_path: Path) -> None:
    assert detect({"TZ": "CET-1CEST"}, tmp_path, "../usr/share/zoneinfo/Europe/Paris") == (
        "Europe/Paris"
    )


def test_timezone_file_is_read_when_there_is_no_link(tmp_path: Path) -> None:
    zone_file = tmp_path / "timezone"
    zone_file.write_text("Africa/Nairobi\n", encoding="utf-8")
    assert detect_local_timezone({}, localtime=NOWHERE, timezone_file=zone_file) == "Africa/Nairobi"


def test_utc_when_nothing_names_a_zone(tmp_path: Path) -> None:
    assert detect({}, tmp_path) == "UTC"
    assert detect({"TZ": "Not/AZone"}, tmp_path, "/somewhere/else") == "UTC"


def test_the_default_timezone_comes_from_tz() -> None:
    assert load_config_text("", {"TZ": "Asia/Tokyo", "HOME": "/h"}).timezone == "Asia/Tokyo"


@pytest.mark.parametrize("machine_tz", ["UTC", "Asia/Tokyo", "America/Los_Angeles"])
def test_a_configured_timezone_does_not_depend_on_the_machine(machine_tz: str) -> None:
    config = load_config_text("timezone: Europe/Berlin\n", {"TZ": machine_tz, "HOME": "/h"})
    assert config.timezone == "Europe/Berlin"
    assert config.zone.key == "Europe/Berlin"


def test_an_empty_timezone_means_the_machines() -> None:
    assert load_config_text('timezone: ""\n', {"TZ": "Asia/Tokyo", "HOME": "/h"}).timezone == (
        "Asia/Tokyo"
    )
