"""Alerts pushed to ``POST /api/v2/alerts`` of one or several Alertmanagers, the way
Prometheus sends them, so Alertmanager groups, deduplicates, silences and inhibits
them across every process of a service.

Prometheus's contract (``rules/alerting.go``, ``notifier/``):

* a firing alert is re-sent every ``resend_delay`` (1m) with ``endsAt = now + 4 *
  max(resend_delay, evaluation interval)``: if the sender dies, Alertmanager resolves
  the alert by itself once ``endsAt`` passes;
* a resolved alert is sent with ``endsAt`` = its resolve time, and re-sent every
  ``resend_delay`` for 15 minutes, so an Alertmanager that missed it still learns it;
* a send succeeds when at least one Alertmanager accepted it.

The channel keeps the alerts it was told about and re-sends them itself, on a task
started lazily on the loop that calls ``send`` (the dispatcher's). After ``fork()``
the child starts its own task on its own loop at its first ``send``. Labels carry
``severity``: a change of severity is, for Alertmanager, the old alert resolving and
a new one firing, and is sent as such. ``close()`` stops re-sending and resolves
nothing: another process may still be firing the same alert.

Sizes: label and annotation values are clipped (``render.bounded``), and a request
holds at most ``MAX_BATCH`` alerts and ``BODY_LIMIT`` bytes (one alert larger than
that goes alone).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from .. import environment_variables as ev
from ..config import ConfigError
from ..durations import format_duration
from ..notify.channel import Channel, DeliveryResult
from ..notify.model import Batch, Change, Status, fingerprint
from ..notify.render import bounded
from ..secrets import Secret, redact_url
from ._am_alerts import alert_annotations, alert_labels, rfc3339
from ._env import EnvReader
from ._http_delivery import HttpSender, WebhookWording, http_url, url_secrets

__all__ = [
    "BODY_LIMIT",
    "MAX_BATCH",
    "RESOLVED_RETENTION",
    "AlertmanagerChannel",
    "AlertmanagerConfig",
    "alerts_url",
    "load_alertmanager_config",
]

_logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
DEFAULT_RESEND = 60.0
#: how long a resolved alert keeps being re-sent (Prometheus's ``resolvedRetention``)
RESOLVED_RETENTION = 15 * 60.0
#: alerts per request, as Prometheus's notifier (``maxBatchSize``)
MAX_BATCH = 64
#: bytes of one request body
BODY_LIMIT = 1024 * 1024
_API_PATH = "/api/v2/alerts"

LabelKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AlertmanagerConfig:
    #: base URLs (``http://alertmanager:9093``), each a secret: it may hold credentials
    urls: tuple[Secret, ...]
    username: str | None = None
    password: Secret | None = None
    bearer_token: Secret | None = None
    timeout: float = DEFAULT_TIMEOUT
    resend_delay: float = DEFAULT_RESEND
    #: the alerting evaluation interval, seconds (from OTEL_PYTHON_ALERTING_INTERVAL)
    evaluation_interval: float = 1.0

    @property
    def validity(self) -> float:
        """How far ahead a firing alert's ``endsAt`` is set."""
        return 4 * max(self.resend_delay, self.evaluation_interval)


def alerts_url(base: str) -> str:
    """``base`` + ``/api/v2/alerts`` (kept as is when it already ends so)."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/")
    if not path.endswith(_API_PATH):
        path += _API_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _evaluation_interval(env: EnvReader) -> float:
    # Validated (and reported) by config.py; here a bad value only means the default.
    try:
        seconds = float(env.text(ev.OTEL_PYTHON_ALERTING_INTERVAL) or "1000") / 1000.0
    except ValueError:
        return 1.0
    return seconds if 0 < seconds < float("inf") else 1.0


_OPTIONAL = (
    ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_USERNAME,
    ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_PASSWORD,
    ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_BEARER_TOKEN,
    ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_TIMEOUT,
    ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_RESEND,
)


def _urls(env: EnvReader, raw: str, credentials: bool) -> list[Secret]:
    """Each URL of the list; one with user info is refused when ``credentials`` come
    from the other variables too."""
    variable = ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS
    urls: list[Secret] = []
    for index, part in enumerate(raw.split(","), start=1):
        url = part.strip()
        if not url:
            continue
        if not http_url(url):
            env.fail(variable, f"entry #{index} {redact_url(url)} is not an http(s)://host:port URL")
        elif credentials and "@" in urlsplit(url).netloc:
            env.fail(variable, f"entry #{index} holds credentials, and so does the username or bearer token")
        else:
            urls.append(Secret(url))
    if not urls and not env.errors:
        env.fail(variable, "no URL in the list")
    return urls


def _check_authentication(env: EnvReader, user: str | None, password: Secret | None, token: Secret | None) -> None:
    if (user is None) != (password is None):
        missing = (
            ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_PASSWORD
            if password is None
            else ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_USERNAME
        )
        env.fail(missing, "not set: basic authentication needs both a username and a password")
    if token is not None and user is not None:
        env.fail(
            ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_BEARER_TOKEN,
            "set together with a username: use basic authentication or a bearer token, not both",
        )


def load_alertmanager_config(
    environ: Mapping[str, str] | None = None,
) -> tuple[AlertmanagerConfig | None, list[ConfigError]]:
    """The Alertmanager channel's configuration; None when it is not configured or has
    an error (it does not start then). Errors name the variable, never a secret."""
    env = EnvReader(environ)
    raw_urls, urls_var = env.lookup(ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS)
    if raw_urls is None:
        given = env.given(_OPTIONAL)
        if given:
            env.fail(urls_var, f"not set, but {', '.join(given)} is: no Alertmanager to send to")
        return None, env.errors
    user = env.text(ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_USERNAME)
    password = env.secret(ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_PASSWORD)
    token = env.secret(ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_BEARER_TOKEN)
    urls = _urls(env, raw_urls, user is not None or token is not None)
    _check_authentication(env, user, password, token)
    timeout = env.seconds(ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_TIMEOUT, DEFAULT_TIMEOUT, "10s")
    resend = env.seconds(ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_RESEND, DEFAULT_RESEND, "1m")
    if env.errors:
        return None, env.errors
    config = AlertmanagerConfig(
        urls=tuple(urls),
        username=user,
        password=password,
        bearer_token=token,
        timeout=timeout,
        resend_delay=resend,
        evaluation_interval=_evaluation_interval(env),
    )
    return config, []


@dataclass
class _Alert:
    """One alert as Alertmanager knows it (one label set), and when it was last sent."""

    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float
    resolved_at: float | None
    last_sent: float

    def postable(self, now: float, validity: float) -> dict[str, Any]:
        ends = self.resolved_at if self.resolved_at is not None else now + validity
        return {
            "labels": self.labels,
            "annotations": self.annotations,
            "startsAt": rfc3339(self.starts_at),
            "endsAt": rfc3339(max(ends, self.starts_at)),
            "generatorURL": "",
        }


class AlertmanagerChannel(Channel):
    name = "alertmanager"

    def __init__(
        self,
        config: AlertmanagerConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._clock = clock
        self._targets = [(alerts_url(url.reveal()), redact_url(url)) for url in config.urls]
        secrets: list[str | Secret | None] = [config.password, config.bearer_token]
        for url in config.urls:
            secrets += url_secrets(url)
        self._headers: dict[str, str] = {}
        if config.bearer_token:
            self._headers["Authorization"] = f"Bearer {config.bearer_token.reveal()}"
        elif config.username is not None and config.password is not None:
            credentials = base64.b64encode(f"{config.username}:{config.password.reveal()}".encode()).decode()
            self._headers["Authorization"] = f"Basic {credentials}"
            secrets.append(credentials)
        self._sender = HttpSender(config.timeout, secrets, WebhookWording(), transport=transport)
        self._alerts: dict[LabelKey, _Alert] = {}
        #: our fingerprint (severity-independent) -> the label set it currently fires as
        self._firing_as: dict[str, LabelKey] = {}
        self._task: asyncio.Task[None] | None = None
        self._task_owner: tuple[int, asyncio.AbstractEventLoop] | None = None
        self._closed = False
        self._resend_error: str | None = None

    def describe(self) -> str:
        if self._config.bearer_token:
            auth = "bearer token"
        elif self._config.username or any("@" in urlsplit(url.reveal()).netloc for url in self._config.urls):
            auth = "basic auth"
        else:
            auth = "no auth"
        targets = ", ".join(display for _, display in self._targets)
        resend = format_duration(self._config.resend_delay)
        return (
            f"alertmanager {targets} ({auth}; re-send every {resend}, endsAt +{format_duration(self._config.validity)})"
        )

    def __repr__(self) -> str:
        return f"AlertmanagerChannel({self.describe()!r})"

    def firing(self) -> list[dict[str, str]]:
        """The label sets this channel currently keeps firing."""
        return [dict(a.labels) for a in self._alerts.values() if a.resolved_at is None]

    # --- what to tell Alertmanager --------------------------------------------------

    def _apply(self, batch: Batch, now: float) -> list[_Alert]:
        """Update the kept alerts with ``batch``; the alerts to send now."""
        touched: dict[int, _Alert] = {}
        for n in batch.notifications:
            shown = bounded(n)
            labels = alert_labels(shown)
            key: LabelKey = tuple(labels.items())
            identity = n.fingerprint or fingerprint(n.labels)
            before = self._firing_as.get(identity)
            if n.status is Status.FIRING:
                starts_at = n.starts_at
                if before is not None and before != key:
                    old = self._alerts.get(before)
                    if old is not None and old.resolved_at is None:
                        old.resolved_at, old.last_sent = n.at, now
                        touched[id(old)] = old
                    if n.change in (Change.ESCALATED, Change.DEESCALATED):
                        starts_at = n.at  # this label set starts firing now
                current = self._alerts.get(key)
                if current is not None and current.resolved_at is None:
                    current.annotations, current.last_sent = alert_annotations(shown), now
                else:
                    current = _Alert(labels, alert_annotations(shown), starts_at, None, now)
                    self._alerts[key] = current
                self._firing_as[identity] = key
            else:
                key = self._firing_as.pop(identity, key)
                ends_at = n.ends_at if n.ends_at is not None else n.at
                current = self._alerts.get(key) or _Alert(dict(key), alert_annotations(shown), n.starts_at, None, now)
                current.resolved_at, current.last_sent = ends_at, now
                self._alerts[key] = current
            touched[id(current)] = current
        return list(touched.values())

    # --- sending ---------------------------------------------------------------

    def _bodies(self, alerts: list[_Alert], now: float) -> list[tuple[bytes, int]]:
        """Request bodies of at most ``MAX_BATCH`` alerts and ``BODY_LIMIT`` bytes, and
        how many alerts each holds."""
        bodies: list[tuple[bytes, int]] = []
        chunk: list[bytes] = []
        size = 0
        for alert in alerts:
            item = json.dumps(alert.postable(now, self._config.validity), separators=(",", ":")).encode()
            if chunk and (len(chunk) == MAX_BATCH or size + len(item) + 1 > BODY_LIMIT - 2):
                bodies.append((b"[" + b",".join(chunk) + b"]", len(chunk)))
                chunk, size = [], 0
            chunk.append(item)
            size += len(item) + 1
        if chunk:
            bodies.append((b"[" + b",".join(chunk) + b"]", len(chunk)))
        return bodies

    async def _post(self, alerts: list[_Alert], now: float) -> DeliveryResult:
        """POST ``alerts`` in requests of at most ``MAX_BATCH`` alerts and ``BODY_LIMIT``
        bytes; delivered when every request was accepted by at least one Alertmanager."""
        for body, count in self._bodies(alerts, now):
            posts = (self._sender.post_json(url, body, shown, self._headers) for url, shown in self._targets)
            results = await asyncio.gather(*posts)
            failed = [r for r in results if not r.ok]
            if len(failed) == len(results):
                waits = [r.retry_after for r in failed if r.retryable and r.retry_after is not None]
                return DeliveryResult.failed(
                    "; ".join(r.error or "failed" for r in failed),
                    retryable=any(r.retryable for r in failed),
                    retry_after=max(waits) if waits else None,
                )
            for result in failed:
                _logger.debug("one Alertmanager did not accept %d alert(s): %s", count, result.error)
        return DeliveryResult.delivered()

    async def send(self, batch: Batch) -> DeliveryResult:
        try:
            self._ensure_resender()
            alerts = self._apply(batch, self._clock())
            if not alerts:
                return DeliveryResult.delivered()
            return await self._post(alerts, self._clock())
        except Exception as exc:
            _logger.debug("alertmanager channel: %s while sending", type(exc).__name__)
            return DeliveryResult.failed(f"{type(exc).__name__} in the alertmanager channel", retryable=False)

    # --- re-sending ------------------------------------------------------------

    def _ensure_resender(self) -> None:
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        owner = (os.getpid(), loop)
        if self._task is not None and self._task_owner == owner and not self._task.done():
            return
        # None yet, or one of another loop or of the parent process (after fork():
        # that task and its loop do not run here), or one that ended.
        self._task = loop.create_task(self._resend_forever(), name="otel-alerting-alertmanager-resend")
        self._task_owner = owner

    async def _resend_forever(self) -> None:
        while True:
            try:
                delay = await self.resend_due()
            except Exception as exc:
                _logger.debug("alertmanager re-send: %s", type(exc).__name__)
                delay = self._config.resend_delay
            await asyncio.sleep(delay)

    async def resend_due(self) -> float:
        """Send the alerts whose last send is ``resend_delay`` old, forget resolved ones
        past retention; the seconds until the next one is due."""
        now = self._clock()
        resend = self._config.resend_delay
        for key, alert in list(self._alerts.items()):
            if alert.resolved_at is not None and now - alert.resolved_at > RESOLVED_RETENTION:
                del self._alerts[key]
        due = [a for a in self._alerts.values() if a.last_sent + resend <= now]
        if due:
            for alert in due:
                alert.last_sent = now
            self._note(await self._post(due, now), len(due))
        soonest = min((a.last_sent + resend for a in self._alerts.values()), default=now + resend)
        return max(soonest - self._clock(), 0.01)

    def _note(self, result: DeliveryResult, count: int) -> None:
        if result.ok:
            if self._resend_error is not None:
                _logger.info("re-sending alerts to Alertmanager works again")
            self._resend_error = None
        elif result.error != self._resend_error:
            self._resend_error = result.error
            _logger.warning("re-sending %d alert(s) to Alertmanager failed: %s", count, result.error)

    async def close(self) -> None:
        self._closed = True
        task, owner = self._task, self._task_owner
        self._task = self._task_owner = None
        if task is not None and owner == (os.getpid(), asyncio.get_running_loop()):
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._sender.aclose()
