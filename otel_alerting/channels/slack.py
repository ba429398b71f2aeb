"""Slack and Mattermost incoming webhooks: one message per batch.

Slack gets Block Kit: a top-level ``text`` (the notification and fallback line), a
``header`` block, and one ``attachment`` per alert whose ``color`` is the severity
(green once resolved) and whose blocks hold the alert's facts. Mattermost accepts
Slack's ``text`` and ``attachments`` but not ``blocks``: it gets the same message
as Markdown ``text`` and attachments with ``fields``. Both come from the same rows
(``detail_rows``) and colours (``colour``).

Every label and annotation is escaped for the target's markup, so a label value
cannot mention ``@channel`` or inject a link: for Slack, ``&``, ``<`` and ``>`` as
Slack's formatting reference asks (``<!channel>``, ``<http://x|text>`` and ``<@U123>``
need them); for Mattermost, its Markdown and ``@``. Sizes: values are clipped
(``render.bounded``), each text to Slack's limits (header 150, section 3000, field and
context 2000 characters), at most ``MAX_ALERTS`` alerts, and the body to ``BODY_LIMIT``
bytes (fewer alerts shown, the rest counted in the last attachment). The webhook URL is a secret (its path is
the token): errors show ``redact_url`` of it only. HTTP errors map as in ``_http_delivery``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .. import environment_variables as ev
from ..config import ConfigError
from ..notify.channel import Channel, DeliveryResult
from ..notify.model import Batch, Notification, Status
from ..notify.render import (
    batch_title,
    bounded_batch,
    colour,
    detail_rows,
    fitted,
    label_pairs,
    one_line,
    ordered,
    summary_line,
    truncate,
)
from ..secrets import Secret, redact_url
from ._env import EnvReader
from ._http_delivery import HttpSender, ServiceWording, url_secrets

__all__ = [
    "BODY_LIMIT",
    "MAX_ALERTS",
    "Service",
    "SlackChannel",
    "SlackConfig",
    "load_mattermost_config",
    "load_slack_config",
    "mattermost_payload",
    "slack_payload",
]

Service = Literal["slack", "mattermost"]

#: alerts shown one by one in a message; the rest are counted in one more attachment
MAX_ALERTS = 19
#: bytes of one message body: under Mattermost's 300,000-byte limit on a webhook's payload
BODY_LIMIT = 256 * 1024
_OVERFLOW_COLOUR = "#808080"


@dataclass(frozen=True)
class SlackConfig:
    webhook_url: Secret
    service: Service = "slack"
    channel: str | None = None
    username: str | None = None
    timeout: float = 5.0

    def describe(self) -> str:
        extra = f", channel {self.channel}" if self.channel else ""
        return f"{self.service} webhook {redact_url(self.webhook_url)}{extra}"


def _load(
    environ: Mapping[str, str] | None, service: Service, names: tuple[str | None, str, str, str, str]
) -> tuple[SlackConfig | None, list[ConfigError]]:
    enabled_var, url_var, channel_var, username_var, timeout_var = names
    env = EnvReader(environ)
    enabled = env.flag(enabled_var) if enabled_var is not None else None
    raw_url = env.text(url_var)
    if enabled is False or (enabled is None and raw_url is None):
        return None, env.errors
    if raw_url is None:
        assert enabled_var is not None
        env.fail(
            env.source(url_var),
            f"required: the incoming webhook URL ({service} is enabled by {env.source(enabled_var)})",
        )
    url = env.url(url_var, secret=True)
    for variable in (channel_var, username_var):
        value, source = env.lookup(variable)
        if value is not None and any(ord(c) < 32 for c in value):
            env.fail(source, f"invalid value {value!r}: control characters")
    timeout = env.seconds(timeout_var, SlackConfig.timeout)
    if env.errors or url is None:
        return None, env.errors
    return SlackConfig(Secret(url), service, env.text(channel_var), env.text(username_var), timeout), env.errors


def load_slack_config(environ: Mapping[str, str] | None = None) -> tuple[SlackConfig | None, list[ConfigError]]:
    """The Slack channel's configuration, or None when Slack is not configured (or not
    usable: then the errors say why). Never raises; never shows the webhook URL."""
    return _load(
        environ,
        "slack",
        (
            ev.OTEL_PYTHON_ALERTING_SLACK_ENABLED,
            ev.OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL,
            ev.OTEL_PYTHON_ALERTING_SLACK_CHANNEL,
            ev.OTEL_PYTHON_ALERTING_SLACK_USERNAME,
            ev.OTEL_PYTHON_ALERTING_SLACK_TIMEOUT,
        ),
    )


def load_mattermost_config(environ: Mapping[str, str] | None = None) -> tuple[SlackConfig | None, list[ConfigError]]:
    """The ``mattermost`` channel's configuration: configured by its webhook URL."""
    return _load(
        environ,
        "mattermost",
        (
            None,
            ev.OTEL_PYTHON_ALERTING_MATTERMOST_WEBHOOK_URL,
            ev.OTEL_PYTHON_ALERTING_MATTERMOST_CHANNEL,
            ev.OTEL_PYTHON_ALERTING_MATTERMOST_USERNAME,
            ev.OTEL_PYTHON_ALERTING_MATTERMOST_TIMEOUT,
        ),
    )


# --- rendering -------------------------------------------------------------------------


def _mrkdwn(text: str) -> str:
    """Slack's escaping: ``&``, ``<`` and ``>`` are all that carry markup (links,
    ``<!channel>`` mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Markup anywhere in a line (emphasis, code, links, HTML, strike-through, tables), and
# markup that only counts at the start of a line (headings, lists, quotes).
_MD_INLINE = re.compile(r"([\\`*_\[\]<>~|])")
_MD_LINE_START = re.compile(r"^(\s*)([#+-]|\d+(?=[.)]))")


def _unmention(text: str) -> str:
    # A zero-width space after '@' keeps @channel, @here, @all and @user inert.
    return text.replace("@", "@\u200b")


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker.isdigit():  # "1." or "1)" opens an ordered list: escape the punctuation
        return f"{indent}{marker}\\"
    return f"{indent}\\{marker}"


def _markdown(text: str) -> str:
    """Mattermost's Markdown, escaped: no formatting, links or mentions from values."""
    escaped = _MD_INLINE.sub(r"\\\1", text)
    escaped = _MD_LINE_START.sub(_escape_line_start, escaped)
    return _unmention(escaped)


def _heading(n: Notification) -> str:
    return f"{n.status.value} · {n.severity.name} · {n.alert}"


def _overflow(batch: Batch, shown: int) -> str | None:
    rest = ordered(batch)[shown:]
    if not rest:
        return None
    firing = sum(1 for n in rest if n.status is Status.FIRING)
    return f"…and {len(rest)} more alerts ({firing} firing, {len(rest) - firing} resolved)"


def _slack_alert(n: Notification) -> dict[str, Any]:
    summary = n.annotations.get("summary")
    text = f"*{_mrkdwn(_heading(n))}*" + (f"\n{_mrkdwn(one_line(summary))}" if summary else "")
    fields = [
        {"type": "mrkdwn", "text": truncate(f"*{name}*\n{_mrkdwn(one_line(value))}", 2000)}
        for name, value in detail_rows(n)
    ]
    context = f"{label_pairs(n.labels)} · fingerprint {n.fingerprint}"
    return {
        "color": colour(n),
        "fallback": _mrkdwn(one_line(summary_line(n), 300)),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}, "fields": fields[:10]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(_mrkdwn(one_line(context)), 2000)}]},
        ],
    }


def slack_payload(
    batch: Batch, channel: str | None = None, username: str | None = None, max_alerts: int = MAX_ALERTS
) -> dict[str, Any]:
    """The JSON body of a Slack incoming webhook message for ``batch``."""
    batch = bounded_batch(batch)
    title = batch_title(batch)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": truncate(title, 150)}}]
    notes = ["Still firing: this is a reminder."] if batch.repeat else []
    if batch.group_labels:
        notes.append(f"Group: {label_pairs(batch.group_labels)}")
    if notes:
        text = truncate(_mrkdwn(one_line(" · ".join(notes))), 2000)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    attachments = [_slack_alert(n) for n in ordered(batch)[:max_alerts]]
    more = _overflow(batch, max_alerts)
    if more:
        attachments.append(
            {
                "color": _OVERFLOW_COLOUR,
                "fallback": more,
                "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": more}]}],
            }
        )
    payload: dict[str, Any] = {"text": truncate(_mrkdwn(title), 3000), "blocks": blocks, "attachments": attachments}
    if channel:
        payload["channel"] = channel
    if username:
        payload["username"] = username
    return payload


def _mattermost_alert(n: Notification) -> dict[str, Any]:
    fields = [
        {"title": name, "value": truncate(_markdown(one_line(value)), 2000), "short": len(value) <= 40}
        for name, value in detail_rows(n)
    ]
    labels = truncate(_markdown(one_line(label_pairs(n.labels))), 2000)
    fields.append({"title": "Labels", "value": labels, "short": False})
    attachment: dict[str, Any] = {
        "fallback": _unmention(one_line(summary_line(n), 300)),
        "color": colour(n),
        "title": _unmention(one_line(_heading(n), 250)),
        "fields": fields,
        "footer": truncate(f"fingerprint {n.fingerprint}", 300),
    }
    summary = n.annotations.get("summary")
    if summary:
        attachment["text"] = truncate(_markdown(one_line(summary)), 3000)
    return attachment


def mattermost_payload(
    batch: Batch, channel: str | None = None, username: str | None = None, max_alerts: int = MAX_ALERTS
) -> dict[str, Any]:
    """The JSON body of a Mattermost incoming webhook message for ``batch``: Slack's
    ``text`` and ``attachments`` as Mattermost documents them, no ``blocks``."""
    batch = bounded_batch(batch)
    lines = [f"#### {_markdown(batch_title(batch))}"]
    if batch.repeat:
        lines.append("Still firing: this is a reminder.")
    if batch.group_labels:
        lines.append(f"Group: {_markdown(one_line(label_pairs(batch.group_labels)))}")
    attachments = [_mattermost_alert(n) for n in ordered(batch)[:max_alerts]]
    more = _overflow(batch, max_alerts)
    if more:
        attachments.append({"fallback": more, "color": _OVERFLOW_COLOUR, "text": more})
    payload: dict[str, Any] = {"text": truncate("\n".join(lines), 16000), "attachments": attachments}
    if channel:
        payload["channel"] = channel
    if username:
        payload["username"] = username
    return payload


# --- the channel -----------------------------------------------------------------------

_RENDERERS: dict[str, Callable[[Batch, str | None, str | None, int], dict[str, Any]]] = {
    "slack": slack_payload,
    "mattermost": mattermost_payload,
}


class SlackChannel(Channel):
    """Posts each batch to a Slack (or, with ``service="mattermost"``, a Mattermost)
    incoming webhook. The channel is named after the service."""

    name = "slack"

    def __init__(self, config: SlackConfig) -> None:
        self.name = config.service
        self._config = config
        self._render = _RENDERERS[config.service]
        self._where = redact_url(config.webhook_url)
        secrets = url_secrets(config.webhook_url, token_in_path=True)
        self._sender = HttpSender(config.timeout, secrets, ServiceWording(config.service), whole_request=True)

    def describe(self) -> str:
        return self._config.describe()

    def __repr__(self) -> str:
        return f"SlackChannel({self._config.describe()!r})"

    async def send(self, batch: Batch) -> DeliveryResult:
        try:
            body, _ = fitted(self._body(batch), min(len(batch.notifications), MAX_ALERTS), BODY_LIMIT)
        except Exception as exc:  # a rendering bug must not reach the dispatcher
            return DeliveryResult.failed(
                f"{self.name}: cannot render the message: {type(exc).__name__}", retryable=False
            )
        return await self._sender.post_json(self._config.webhook_url.reveal(), body, self._where)

    def _body(self, batch: Batch) -> Callable[[int], bytes]:
        def render(shown: int) -> bytes:
            payload = self._render(batch, self._config.channel, self._config.username, shown)
            return json.dumps(payload, ensure_ascii=False, allow_nan=False).encode()

        return render

    async def close(self) -> None:
        await self._sender.aclose()
