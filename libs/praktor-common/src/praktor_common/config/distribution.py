"""The config on the bus: one publisher validates the YAML, every service follows it.

:class:`ConfigPublisher` (run by ``praktor up`` and ``praktor config publish
--watch``) loads the file, and puts the validated config into KV bucket
:data:`~praktor_common.subjects.CONFIG_KV_BUCKET`, key
:data:`~praktor_common.subjects.CONFIG_KV_KEY`, wrapped in an envelope holding
its SHA-256 (an unchanged config is not put again). It republishes when the
file changes (mtime poll + SHA-256 of the contents) or on :meth:`trigger`
(SIGHUP). An invalid file is refused: the error is logged and returned, and
the KV keeps the last good config. A file created after start is picked up.

:class:`ConfigFollower` (in every service) waits for the first config, keeps
``.current`` up to date from a KV watch, and calls ``(old, new, diff)``
callbacks on each change; keys that need a restart are logged by name.

Secrets travel in clear inside the value: the bus is authenticated and only
the publisher may write the bucket.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal

import nats.errors
import nats.js.errors
import structlog
from nats.js import JetStreamContext
from nats.js.kv import KeyValue
from pydantic import ValidationError

from praktor_common.config.diff import ConfigDiff, diff_configs
from praktor_common.config.errors import (
    ConfigError,
    ConfigProblem,
    problems_from_validation_error,
)
from praktor_common.config.loader import config_sha256, load_config, to_json
from praktor_common.config.model import PraktorConfig
from praktor_common.subjects import CONFIG_KV_BUCKET, CONFIG_KV_KEY

log = structlog.get_logger(__name__)

ENVELOPE_FORMAT: Final = 1
DEFAULT_POLL_INTERVAL: Final = 3.0
DEFAULT_HISTORY: Final = 5
DEFAULT_START_TIMEOUT: Final = 30.0
NO_CONFIG_YET: Final = (
    "no config published on the bus yet: is `praktor up` / `praktor config publish` running?"
)

ConfigCallback = Callable[[PraktorConfig, PraktorConfig, ConfigDiff], Awaitable[None]]
"""``async def on_config(old, new, diff) -> None``."""


class ConfigUnavailableError(RuntimeError):
    """No (usable) config arrived on the bus in time."""


# -- the value in the KV -----------------------------------------------------------------


def encode_envelope(config: PraktorConfig, *, source: str, now: datetime | None = None) -> bytes:
    """The KV value: ``{"format", "sha256", "source", "published_at", "config"}``."""
    body = to_json(config)
    envelope = {
        "format": ENVELOPE_FORMAT,
        "sha256": hashlib.sha256(body.encode()).hexdigest(),
        "source": source,
        "published_at": (now or datetime.now(UTC)).isoformat(),
        "config": json.loads(body),
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()


def decode_envelope(data: bytes) -> tuple[str, PraktorConfig]:
    """``(sha256, config)`` from a KV value. Raises :class:`ConfigError`."""
    source = "config from the bus"
    try:
        envelope = json.loads(data)
    except ValueError as err:
        raise ConfigError([ConfigProblem("", f"not JSON ({err})")], source) from None
    if not isinstance(envelope, dict) or envelope.get("format") != ENVELOPE_FORMAT:
        found = envelope.get("format") if isinstance(envelope, dict) else None
        raise ConfigError(
            [
                ConfigProblem(
                    "",
                    f"envelope format {found!r} — this service reads format {ENVELOPE_FORMAT}; "
                    "run the same Praktor version everywhere",
                )
            ],
            source,
        )
    try:
        config = PraktorConfig.model_validate(envelope.get("config"))
    except ValidationError as err:
        problems = problems_from_validation_error(err, PraktorConfig)
        problems.append(
            ConfigProblem("", "the publisher may run another Praktor version; upgrade both")
        )
        raise ConfigError(problems, source) from None
    return str(envelope.get("sha256", "")), config


async def config_bucket(js: JetStreamContext, *, history: int = DEFAULT_HISTORY) -> KeyValue:
    """The config KV bucket, created if missing (idempotent; keeps ``history`` revisions)."""
    try:
        return await js.key_value(CONFIG_KV_BUCKET)
    except nats.js.errors.BucketNotFoundError:
        pass
    try:
        return await js.create_key_value(
            bucket=CONFIG_KV_BUCKET,
            history=history,
            description="Praktor config: the validated YAML as JSON",
        )
    except nats.js.errors.APIError:
        return await js.key_value(CONFIG_KV_BUCKET)  # another publisher won the race


# -- publishing --------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishOutcome:
    """What one publish attempt did."""

    status: Literal["published", "unchanged", "refused"]
    sha256: str | None = None
    revision: int | None = None
    error: ConfigError | None = None


FileState = tuple[int, int, int]  # (mtime_ns, size, inode)


def _file_state(path: Path) -> FileState | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class ConfigPublisher:
    """Validates the YAML at ``path`` and keeps the KV value in step with it.

    Run ``await publisher.watch()`` as a task; wire SIGHUP with
    ``loop.add_signal_handler(signal.SIGHUP, publisher.trigger)``. For a one-shot
    ``praktor config publish``, ``outcome = await publisher.publish()``.
    """

    def __init__(
        self,
        path: Path,
        js: JetStreamContext,
        *,
        environ: Mapping[str, str] | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        history: int = DEFAULT_HISTORY,
    ) -> None:
        self.path = path
        self.poll_interval = poll_interval
        self.last_outcome: PublishOutcome | None = None
        self._js = js
        self._environ = environ
        self._history = history
        self._kv: KeyValue | None = None
        self._wake = asyncio.Event()
        self._file_existed = False
        self._seen_state: FileState | None = None
        self._seen_hash: str | None = None

    async def publish(self) -> PublishOutcome:
        """Load the file; put it in the KV if valid and different from what is there.

        An invalid file gives ``status="refused"`` with the error (also logged); the
        KV keeps the last good config. Bus errors are raised.
        """
        if self.path.exists():
            self._file_existed = True
        elif self._file_existed:
            return self._refuse(
                ConfigError(
                    [
                        ConfigProblem(
                            "",
                            "the file was removed — restore it; services keep the last "
                            "published config",
                        )
                    ],
                    str(self.path),
                )
            )
        try:
            config = await asyncio.to_thread(load_config, self.path, self._environ)
        except ConfigError as err:
            return self._refuse(err)
        kv = await self._bucket()
        sha = config_sha256(config)
        if await self._published_sha(kv) == sha:
            outcome = PublishOutcome("unchanged", sha256=sha)
            log.info("config unchanged; nothing to publish", path=str(self.path), sha256=sha)
        else:
            revision = await kv.put(CONFIG_KV_KEY, encode_envelope(config, source=str(self.path)))
            outcome = PublishOutcome("published", sha256=sha, revision=revision)
            log.info("config published", path=str(self.path), sha256=sha, revision=revision)
        self.last_outcome = outcome
        return outcome

    def trigger(self) -> None:
        """Re-read the file now (SIGHUP); safe to call from a signal handler."""
        self._wake.set()

    async def watch(self) -> None:
        """Publish now, then whenever the file changes or :meth:`trigger` is called.

        Runs until cancelled. Bus errors are logged and retried on the next tick.
        """
        self._remember_file()
        pending = True
        while True:
            if pending:
                try:
                    await self.publish()
                    pending = False
                except Exception:
                    log.exception("config publish failed; retrying", path=str(self.path))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
            if self._wake.is_set():
                self._wake.clear()
                log.info("config reload requested", path=str(self.path))
                pending = True
            if self._changed_on_disk():
                log.info("config file changed", path=str(self.path))
                pending = True

    # -- internals ----------------------------------------------------------------------

    def _refuse(self, error: ConfigError) -> PublishOutcome:
        log.error(
            "config refused; services keep the last good config",
            path=str(self.path),
            error=str(error),
        )
        outcome = PublishOutcome("refused", error=error)
        self.last_outcome = outcome
        return outcome

    def _remember_file(self) -> None:
        self._seen_state = _file_state(self.path)
        self._seen_hash = _file_hash(self.path) if self._seen_state else None

    def _changed_on_disk(self) -> bool:
        state = _file_state(self.path)
        if state == self._seen_state:
            return False
        self._seen_state = state
        digest = _file_hash(self.path) if state else None
        if digest == self._seen_hash:
            return False
        self._seen_hash = digest
        return True

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await config_bucket(self._js, history=self._history)
        return self._kv

    async def _published_sha(self, kv: KeyValue) -> str | None:
        try:
            entry = await kv.get(CONFIG_KV_KEY)
        except nats.js.errors.KeyNotFoundError:  # also KeyDeletedError
            return None
        if not entry.value:
            return None
        try:
            envelope = json.loads(entry.value)
        except ValueError:
            return None
        sha = envelope.get("sha256") if isinstance(envelope, dict) else None
        return sha if isinstance(sha, str) else None


# -- following ---------------------------------------------------------------------------


class ConfigFollower:
    """A service's view of the config on the bus.

    ``config = await follower.start()`` waits (``start_timeout`` seconds) for the
    first config; afterwards ``follower.current`` is the latest valid config and
    every callback registered with :meth:`on_change` is awaited with
    ``(old, new, diff)``, in registration order. A value that does not validate
    is logged and skipped (``current`` stays).
    """

    def __init__(
        self,
        js: JetStreamContext,
        *,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        retry_interval: float = 0.25,
    ) -> None:
        self.start_timeout = start_timeout
        self._js = js
        self._retry_interval = retry_interval
        self._callbacks: list[ConfigCallback] = []
        self._current: PraktorConfig | None = None
        self._sha: str | None = None
        self._revision: int | None = None
        # nats-py's KeyWatcher is untyped; it is only used through updates()/stop()/aiter.
        self._watcher: Any = None
        self._task: asyncio.Task[None] | None = None

    @property
    def current(self) -> PraktorConfig:
        if self._current is None:
            raise ConfigUnavailableError("the config follower has not started; await start()")
        return self._current

    @property
    def revision(self) -> int | None:
        """KV revision of ``current`` (``None`` before start)."""
        return self._revision

    def on_change(self, callback: ConfigCallback) -> ConfigCallback:
        """Register ``callback`` (usable as a decorator)."""
        self._callbacks.append(callback)
        return callback

    async def start(self) -> PraktorConfig:
        """Wait for the first config, then follow changes in the background."""
        if self._current is not None:
            return self._current
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        kv = await self._open_bucket(deadline)
        self._watcher = await kv.watch(CONFIG_KV_KEY)
        try:
            while self._current is None:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise self._unavailable()
                try:
                    entry = await self._watcher.updates(timeout=remaining)
                except nats.errors.TimeoutError:
                    raise self._unavailable() from None
                decoded = self._decode(entry)
                if decoded is not None:
                    self._sha, self._current = decoded
                    self._revision = entry.revision
        except BaseException:
            await self._stop_watcher()
            raise
        log.info("config received", revision=self._revision, sha256=self._sha)
        self._task = asyncio.create_task(self._follow(), name="praktor-config-follower")
        return self._current

    async def stop(self) -> None:
        await self._stop_watcher()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def __aenter__(self) -> ConfigFollower:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- internals ----------------------------------------------------------------------

    def _unavailable(self) -> ConfigUnavailableError:
        return ConfigUnavailableError(
            f"{NO_CONFIG_YET} (waited {self.start_timeout:g}s for key '{CONFIG_KV_KEY}' "
            f"in KV bucket '{CONFIG_KV_BUCKET}')"
        )

    async def _open_bucket(self, deadline: float) -> KeyValue:
        loop = asyncio.get_running_loop()
        while True:
            try:
                return await self._js.key_value(CONFIG_KV_BUCKET)
            except nats.js.errors.BucketNotFoundError:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise self._unavailable() from None
                await asyncio.sleep(min(self._retry_interval, remaining))

    def _decode(self, entry: KeyValue.Entry | None) -> tuple[str, PraktorConfig] | None:
        if entry is None:  # "no more history" marker of the watch
            return None
        if entry.operation in ("DEL", "PURGE") or not entry.value:
            log.warning("config was deleted from the bus; keeping the current one")
            return None
        try:
            return decode_envelope(entry.value)
        except ConfigError as err:
            log.error(
                "config from the bus refused; keeping the current one",
                revision=entry.revision,
                error=str(err),
            )
            return None

    async def _follow(self) -> None:
        try:
            async for entry in self._watcher:
                await self._apply(entry)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("config follower stopped; restart the service to follow changes")

    async def _apply(self, entry: KeyValue.Entry | None) -> None:
        decoded = self._decode(entry)
        if decoded is None or entry is None:
            return
        sha, new = decoded
        self._revision = entry.revision
        if sha == self._sha:
            return
        old = self.current
        diff = diff_configs(old, new)
        self._sha, self._current = sha, new
        log.info("config changed", revision=entry.revision, changes=diff.summary())
        if diff.non_reloadable:
            log.warning(
                f"restart the service to apply: {', '.join(diff.non_reloadable)}",
                keys=list(diff.non_reloadable),
            )
        for callback in self._callbacks:
            try:
                await callback(old, new, diff)
            except Exception:
                log.exception(
                    "config change callback failed", callback=getattr(callback, "__qualname__", "")
                )

    async def _stop_watcher(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            with contextlib.suppress(nats.errors.Error):
                await watcher.stop()
