"""The tools the model is offered: WebSearch/WebFetch, the browser, and a real page visit.

The runner is a real process driving the real Claude Code CLI against the fake
Anthropic API; the browser is the Playwright MCP server over Debian's Chromium
(``scripts/browser-setup.sh`` installs both; the browser tests skip, saying so,
where they are missing).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from runner_harness import Host, RunnerFactory

from praktor_agent_runner.browser import find_browser
from praktor_common.testing.fake_anthropic import FakeAnthropic, RecordedRequest
from praktor_common.testing.nats import wait_until

pytestmark = pytest.mark.integration

BROWSER = find_browser(os.environ)
needs_browser = pytest.mark.skipif(
    BROWSER is None,
    reason="no browser: run scripts/browser-setup.sh (Debian chromium + @playwright/mcp)",
)
NAVIGATE = "mcp__browser__browser_navigate"
SNAPSHOT = "mcp__browser__browser_snapshot"
CLOSE = "mcp__browser__browser_close"
PAGE = (
    "<html><head><title>Opening hours</title></head><body>"
    "<h1>Corner Bakery</h1><p>Open Tuesday to Sunday, 7:00 to 14:00.</p></body></html>"
)


def browser_env() -> dict[str, str]:
    assert BROWSER is not None
    return {"PRAKTOR_BROWSER_MCP": str(BROWSER.command)}


@pytest.fixture
def local_page(tmp_path: Path) -> Iterator[str]:
    """A page served on 127.0.0.1 (the only kind of address a test may visit)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(PAGE, encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


DEFERRED = re.compile(
    r"following deferred tools are now available[^\n]*\n(.*?)</system-reminder>", re.S
)


def offered(request: RecordedRequest) -> set[str]:
    """The tools a request offers the model: with their schemas, or deferred.

    Claude Code sends some tools (MCP tools, WebSearch, WebFetch) "deferred":
    named in a reminder, their schemas loaded on demand through ToolSearch.
    """
    names = set(request.tool_names)
    for listing in DEFERRED.findall(request.all_text()):
        names.update(line.strip() for line in listing.splitlines() if line.strip())
    return names


async def first_request(
    host: Host, runners: RunnerFactory, fake: FakeAnthropic, **env: str
) -> RecordedRequest:
    """Run one turn; the model's first request."""
    await runners(**env).start(host)
    turn = host.turn("hello")
    await host.send(turn)
    await host.result(turn.msg_id)
    return fake.conversation[0]


@needs_browser
async def test_an_unrestricted_agent_is_offered_web_search_web_fetch_and_the_browser(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic
) -> None:
    request = await first_request(host, runners, fake_anthropic, **browser_env())
    tools = offered(request)
    assert {"WebSearch", "WebFetch", "Bash", "Read"} <= tools
    assert {NAVIGATE, SNAPSHOT, CLOSE} <= tools
    assert "## Browser" in request.system_text


@needs_browser
async def test_allowed_tools_can_exclude_the_web_tools_but_the_browser_stays(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic
) -> None:
    request = await first_request(
        host, runners, fake_anthropic, PRAKTOR_ALLOWED_TOOLS='["Read"]', **browser_env()
    )
    tools = offered(request)
    assert "Read" in tools
    assert not {"WebSearch", "WebFetch", "Bash"} & tools
    assert {NAVIGATE, SNAPSHOT, CLOSE} <= tools


async def test_without_a_browser_none_is_offered_or_described(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic
) -> None:
    request = await first_request(host, runners, fake_anthropic, PRAKTOR_BROWSER_MCP="off")
    tools = offered(request)
    assert not any(name.startswith("mcp__browser__") for name in tools)
    assert "mcp__praktor-memory__memory_recall" in tools
    assert {"WebSearch", "WebFetch"} <= tools
    assert "## Browser" not in request.system_text


@needs_browser
async def test_the_agent_opens_a_local_page_and_reads_it(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic, local_page: str
) -> None:
    navigate = fake_anthropic.reply_tool_use(NAVIGATE, {"url": local_page})
    snapshot = fake_anthropic.reply_tool_use(SNAPSHOT, {})
    close = fake_anthropic.reply_tool_use(CLOSE, {})
    fake_anthropic.reply_text("The bakery opens at 7:00.")
    await runners(**browser_env()).start(host)

    turn = host.turn("When does the corner bakery open? The page is " + local_page)
    await host.send(turn)
    result = await host.result(turn.msg_id, within=120)

    assert result.content == "The bakery opens at 7:00."
    [after_navigate] = fake_anthropic.conversation[1].tool_results()
    assert after_navigate["tool_use_id"] == navigate.id
    assert "Page Title: Opening hours" in after_navigate["content"]
    [after_snapshot] = fake_anthropic.conversation[2].tool_results()
    assert after_snapshot["tool_use_id"] == snapshot.id
    assert "Open Tuesday to Sunday, 7:00 to 14:00." in after_snapshot["content"]
    [after_close] = fake_anthropic.conversation[3].tool_results()
    assert after_close["tool_use_id"] == close.id
    assert not after_close.get("is_error")
    await wait_until(host.all_settled, within=10)
