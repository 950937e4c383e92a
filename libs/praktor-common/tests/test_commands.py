"""The chat commands: one definition for the bot menu and the ``/commands`` help."""

from __future__ import annotations

from praktor_common.commands import BOT_COMMANDS, ParsedCommand, commands_help, parse_command


def test_the_six_commands_of_the_spec_in_menu_order() -> None:
    assert [c.name for c in BOT_COMMANDS] == ["agents", "commands", "start", "stop", "reset", "nix"]
    assert all(1 <= len(c.description) <= 256 for c in BOT_COMMANDS)


def test_help_lists_every_command_with_its_argument_hint() -> None:
    text = commands_help()
    for command in BOT_COMMANDS:
        assert f"`/{command.name}" in text
    assert "`/nix <action> [package] [@agent]`" in text
    assert "@swarm" in text


def test_a_command_with_payload() -> None:
    assert parse_command("/stop  @coder ") == ParsedCommand("stop", "@coder")
    assert parse_command("/START") == ParsedCommand("start", "")


def test_a_command_addressed_to_this_bot_or_another() -> None:
    assert parse_command("/reset@praktor_bot x", "Praktor_Bot") == ParsedCommand("reset", "x")
    assert parse_command("/reset@other_bot x", "praktor_bot") is None


def test_unknown_commands_and_plain_text_are_not_commands() -> None:
    assert parse_command("/weather today") is None
    assert parse_command("hello /stop") is None
    assert parse_command("") is None
