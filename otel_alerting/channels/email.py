"""Email over SMTP (aiosmtplib): one message per batch, with a plain-text and an HTML part.

The message is an ``email.message.EmailMessage`` under the default policy, which
refuses a header value holding a line break; label values reach the subject only
through ``one_line``, so a label holding ``\\r\\nBcc: x`` can add no header. Every
label and annotation in the HTML part is escaped. Sizes: values are clipped
(``render.bounded``), the subject is at most 250 characters, and the alerts shown are
those whose text and HTML fit in ``BODY_LIMIT`` characters (at least one); a last line
counts the others.

Errors, mapped once in ``smtp_failure``:

    connection refused or reset, timeout, 4xx reply  -> retryable
    5xx reply, authentication refused (5xx)          -> not retryable
    certificate not trusted, TLS mismatch            -> not retryable
    STARTTLS or AUTH not offered by the server       -> not retryable
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import html
import logging
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Literal, cast

import aiosmtplib
from opentelemetry.instrumentation.utils import suppress_instrumentation

from .. import environment_variables as ev
from ..config import ConfigError
from ..notify.channel import Channel, DeliveryResult
from ..notify.model import Batch, Notification
from ..notify.render import batch_title, bounded_batch, colour, detail_rows, label_pairs, one_line, ordered
from ..secrets import Secret, scrub
from ._env import EnvReader

__all__ = ["BODY_LIMIT", "EmailChannel", "EmailConfig", "build_message", "load_email_config", "smtp_failure"]

_logger = logging.getLogger(__name__)

TlsMode = Literal["starttls", "tls", "none"]
_DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "none": 25}
#: characters of the alerts of one message, text and HTML parts together
BODY_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class EmailConfig:
    host: str
    sender: str
    recipients: tuple[str, ...]
    port: int = 587
    username: str | None = None
    password: Secret | None = None
    tls: TlsMode = "starttls"
    verify: bool = True
    ca_file: str | None = None
    timeout: float = 10.0

    def describe(self) -> str:
        verify = "" if self.verify or self.tls == "none" else ", certificate not verified"
        auth = f", as {self.username}" if self.username else ""
        count = len(self.recipients)
        return (
            f"email via {self.host}:{self.port} ({self.tls}{verify}{auth}) "
            f"from {self.sender} to {count} recipient{'s' if count != 1 else ''}"
        )


def _make_address(name: str, spec: str) -> Address | None:
    if "@" not in spec:
        return None
    try:
        address = Address(display_name=name, addr_spec=spec)
    except (ValueError, HeaderParseError, IndexError):
        return None
    return address if address.username and address.domain else None


def _has_controls(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def _address(text: str) -> Address | None:
    if _has_controls(text):
        return None
    pairs = email.utils.getaddresses([text])
    return _make_address(*pairs[0]) if len(pairs) == 1 else None


def _addresses(text: str) -> list[Address] | None:
    # getaddresses understands quoted display names holding commas.
    if _has_controls(text):
        return None
    pairs = [(name, spec) for name, spec in email.utils.getaddresses([text]) if name or spec]
    addresses = [_make_address(name, spec) for name, spec in pairs]
    if not addresses or any(a is None for a in addresses):
        return None
    return cast("list[Address]", addresses)


def _enabled_by(env: EnvReader) -> str | None:
    """The variable that turns email on; None when email is off or not configured."""
    enabled = env.flag(ev.OTEL_PYTHON_ALERTING_EMAIL_ENABLED)
    if enabled is False:
        return None
    if enabled:
        return env.source(ev.OTEL_PYTHON_ALERTING_EMAIL_ENABLED)
    given = env.given((ev.OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST, ev.OTEL_PYTHON_ALERTING_EMAIL_TO))
    return given[0] if given else None


def _host(env: EnvReader, enabled_by: str) -> str | None:
    host, variable = env.lookup(ev.OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST)
    if host is None:
        env.fail(variable, f"required: the SMTP server (email is configured by {enabled_by})")
    elif any(c.isspace() or ord(c) < 32 for c in host):
        env.invalid(variable, host, "a host name or address")
        return None
    return host


def _recipients(env: EnvReader, enabled_by: str) -> list[Address] | None:
    to, variable = env.lookup(ev.OTEL_PYTHON_ALERTING_EMAIL_TO)
    if to is None:
        env.fail(variable, f"required: the recipients, comma-separated (email is configured by {enabled_by})")
        return None
    recipients = _addresses(to)
    if recipients is None:
        env.invalid(variable, to, "comma-separated email addresses")
    return recipients


def _credentials(env: EnvReader) -> tuple[str | None, Secret | None]:
    """The user name and password, which come together or not at all."""
    username = env.text(ev.OTEL_PYTHON_ALERTING_EMAIL_USERNAME)
    password = env.secret(ev.OTEL_PYTHON_ALERTING_EMAIL_PASSWORD)
    if (username is None) != (password is None):
        given, missing = (
            (ev.OTEL_PYTHON_ALERTING_EMAIL_USERNAME, ev.OTEL_PYTHON_ALERTING_EMAIL_PASSWORD)
            if password is None
            else (ev.OTEL_PYTHON_ALERTING_EMAIL_PASSWORD, ev.OTEL_PYTHON_ALERTING_EMAIL_USERNAME)
        )
        env.fail(env.source(missing), f"required: {env.source(given)} is set")
    return username, password


def _sender(env: EnvReader, username: str | None) -> Address | None:
    """The From address; the user name when it is an address and none is set."""
    text, variable = env.lookup(ev.OTEL_PYTHON_ALERTING_EMAIL_FROM)
    if text is not None:
        sender = _address(text)
        if sender is None:
            env.invalid(variable, text, "an email address")
        return sender
    sender = _address(username) if username else None
    if sender is None:
        env.fail(variable, "required: the sender address (the user name is not an address)")
    return sender


def _ca_file(env: EnvReader) -> str | None:
    ca_file = env.text(ev.OTEL_PYTHON_ALERTING_EMAIL_CA_FILE)
    if ca_file is not None:
        try:
            ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            env.fail(ev.OTEL_PYTHON_ALERTING_EMAIL_CA_FILE, f"cannot load {ca_file!r}: {exc}")
    return ca_file


def load_email_config(environ: Mapping[str, str] | None = None) -> tuple[EmailConfig | None, list[ConfigError]]:
    """The email channel's configuration, or None when email is not configured (or
    not usable: then the errors say why). Never raises; never shows the password."""
    env = EnvReader(environ)
    enabled_by = _enabled_by(env)
    if enabled_by is None:
        return None, env.errors
    host = _host(env, enabled_by)
    recipients = _recipients(env, enabled_by)
    username, password = _credentials(env)
    sender = _sender(env, username)
    tls = cast(TlsMode, env.choice(ev.OTEL_PYTHON_ALERTING_EMAIL_TLS, "starttls", ("starttls", "tls", "none")))
    port = env.port(ev.OTEL_PYTHON_ALERTING_EMAIL_SMTP_PORT) or _DEFAULT_PORTS[tls]
    verify = env.flag(ev.OTEL_PYTHON_ALERTING_EMAIL_VERIFY)
    ca_file = _ca_file(env)
    timeout = env.seconds(ev.OTEL_PYTHON_ALERTING_EMAIL_TIMEOUT, EmailConfig.timeout)
    if env.errors or host is None or recipients is None or sender is None:
        return None, env.errors
    config = EmailConfig(
        host=host,
        sender=str(sender),
        recipients=tuple(str(r) for r in recipients),
        port=port,
        username=username,
        password=password,
        tls=tls,
        verify=verify is not False,
        ca_file=ca_file,
        timeout=timeout,
    )
    return config, env.errors


# --- the message -----------------------------------------------------------------------


def _text_alert(n: Notification) -> list[str]:
    lines = [f"{n.status.value} · {n.severity.name} · {n.alert}"]
    summary = n.annotations.get("summary")
    if summary:
        lines.append(f"  {one_line(summary)}")
    lines += [f"  {name}: {one_line(value)}" for name, value in detail_rows(n)]
    lines.append(f"  Labels: {one_line(label_pairs(n.labels))}")
    for key, value in sorted(n.annotations.items()):
        if key == "summary":
            continue
        body = "\n      ".join(one_line(line) for line in value.splitlines() or [""])
        lines.append(f"  {one_line(key)}: {body}")
    lines.append(f"  Fingerprint: {n.fingerprint}")
    return lines


def _more(batch: Batch, shown: int) -> str | None:
    rest = len(batch.notifications) - shown
    return f"…and {rest} more alert{'s' if rest != 1 else ''} (message size limit)" if rest > 0 else None


def _shown(batch: Batch) -> int:
    """How many alerts (in ``ordered`` order) fit in ``BODY_LIMIT``; at least one."""
    size = 0
    for index, n in enumerate(ordered(batch)):
        size += sum(len(line) + 1 for line in _text_alert(n)) + len(_html_alert(n))
        if size > BODY_LIMIT and index > 0:
            return index
    return len(batch.notifications)


def text_body(batch: Batch, shown: int | None = None) -> str:
    lines = [batch_title(batch), ""]
    if batch.repeat:
        lines += ["Still firing: this is a reminder.", ""]
    for n in ordered(batch)[:shown]:
        lines += [*_text_alert(n), ""]
    more = _more(batch, len(batch.notifications) if shown is None else shown)
    if more:
        lines += [more, ""]
    lines += ["-- ", "Sent by otel-alerting."]
    return "\n".join(lines) + "\n"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html_alert(n: Notification) -> str:
    rows = [*detail_rows(n), ("Labels", label_pairs(n.labels)), ("Fingerprint", n.fingerprint)]
    rows += [(key, value) for key, value in sorted(n.annotations.items()) if key != "summary"]
    cells = "".join(
        f'<tr><th style="text-align:left;padding:2px 12px 2px 0;vertical-align:top">{_e(name)}</th>'
        f'<td style="padding:2px 0">{_e(value).replace(chr(10), "<br>")}</td></tr>'
        for name, value in rows
    )
    summary = n.annotations.get("summary")
    return (
        f'<div style="border-left:6px solid {colour(n)};padding:4px 12px;margin:12px 0">'
        f'<h3 style="margin:4px 0">{_e(n.status.value)} · {_e(n.severity.name)} · {_e(n.alert)}</h3>'
        + (f'<p style="margin:4px 0">{_e(summary)}</p>' if summary else "")
        + f'<table style="border-collapse:collapse;font-size:14px">{cells}</table></div>'
    )


def html_body(batch: Batch, shown: int | None = None) -> str:
    repeat = "<p>Still firing: this is a reminder.</p>" if batch.repeat else ""
    alerts = "".join(_html_alert(n) for n in ordered(batch)[:shown])
    more = _more(batch, len(batch.notifications) if shown is None else shown)
    if more:
        alerts += f"<p>{_e(more)}</p>"
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body style="font-family:sans-serif"><h2>{_e(batch_title(batch))}</h2>{repeat}{alerts}'
        '<p style="color:#888">Sent by otel-alerting.</p></body></html>\n'
    )


def build_message(batch: Batch, config: EmailConfig) -> EmailMessage:
    batch = bounded_batch(batch)
    shown = _shown(batch)
    message = EmailMessage()
    message["Subject"] = one_line(batch_title(batch), 250)
    message["From"] = config.sender
    message["To"] = ", ".join(config.recipients)
    message["Date"] = email.utils.formatdate(usegmt=True)
    domain = config.sender.rpartition("@")[2].rstrip(">") or None
    message["Message-ID"] = email.utils.make_msgid("otel-alerting", domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies
    message.set_content(text_body(batch, shown))
    message.add_alternative(html_body(batch, shown), subtype="html")
    return message


# --- errors ----------------------------------------------------------------------------


def _find(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def smtp_failure(
    exc: BaseException, where: str, timeout: float, secrets: Sequence[Secret | str | None]
) -> DeliveryResult:
    """The DeliveryResult of an exception raised while talking to ``where``."""

    def text(e: BaseException) -> str:
        return one_line(scrub(str(e), secrets), 300).strip()

    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        retryable = any(400 <= r.code < 500 for r in exc.recipients)
        detail = "; ".join(
            f"{r.recipient}: {r.code} {text(aiosmtplib.SMTPException(r.message))}" for r in exc.recipients
        )
        return DeliveryResult.failed(f"email: {where} refused every recipient: {detail}", retryable=retryable)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        transient = 400 <= exc.code < 500
        state = "temporarily failed" if transient else "refused"
        message = f"email: authentication {state} at {where}: {exc.code} {text(aiosmtplib.SMTPException(exc.message))}"
        return DeliveryResult.failed(message, retryable=transient)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        message = f"email: {where} answered {exc.code} {text(aiosmtplib.SMTPException(exc.message))}"
        return DeliveryResult.failed(message, retryable=not 500 <= exc.code < 600)
    if isinstance(exc, (aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError)):
        return DeliveryResult.failed(f"email: no answer from {where} within {timeout:g}s", retryable=True)
    cert = _find(exc, ssl.SSLCertVerificationError)
    if cert is not None:
        reason = getattr(cert, "verify_message", "") or text(cert)
        return DeliveryResult.failed(f"email: certificate of {where} not trusted: {reason}", retryable=False)
    tls = _find(exc, ssl.SSLError)
    if tls is not None:
        reason = getattr(tls, "reason", None) or text(tls)
        hint = f" (does {ev.OTEL_PYTHON_ALERTING_EMAIL_TLS} match what the port speaks?)"
        return DeliveryResult.failed(f"email: TLS with {where} failed: {reason}{hint}", retryable=False)
    if isinstance(exc, (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError)):
        return DeliveryResult.failed(f"email: cannot reach {where}: {text(exc)}", retryable=True)
    if isinstance(exc, aiosmtplib.SMTPException):  # STARTTLS or AUTH not offered, ...
        return DeliveryResult.failed(f"email: {where}: {text(exc)}", retryable=False)
    return DeliveryResult.failed(f"email: {type(exc).__name__} with {where}: {text(exc)}", retryable=False)


# --- the channel -----------------------------------------------------------------------


def _tls_context(config: EmailConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=config.ca_file)
    if not config.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class EmailChannel(Channel):
    """One SMTP connection per batch: connect, (STARTTLS), (AUTH), send, QUIT."""

    name = "email"

    def __init__(self, config: EmailConfig) -> None:
        self._config = config
        self._where = f"{config.host}:{config.port}"
        self._tls: ssl.SSLContext | None = None
        self._tls_error: str | None = None
        if config.tls != "none":
            try:
                self._tls = _tls_context(config)
            except (OSError, ssl.SSLError) as exc:  # the CA file went away since it was checked
                self._tls_error = f"email: cannot load {config.ca_file!r}: {exc}"
        elif config.password is not None:
            _logger.warning(
                "otel-alerting: email: %s=none: the SMTP password to %s is sent unencrypted",
                ev.OTEL_PYTHON_ALERTING_EMAIL_TLS,
                self._where,
            )
        sender = _address(config.sender)
        self._envelope_from = sender.addr_spec if sender is not None else config.sender
        self._envelope_to = [a.addr_spec if (a := _address(r)) is not None else r for r in config.recipients]

    def describe(self) -> str:
        return self._config.describe()

    def __repr__(self) -> str:
        return f"EmailChannel({self._config.describe()!r})"

    async def send(self, batch: Batch) -> DeliveryResult:
        config = self._config
        if self._tls_error is not None:
            return DeliveryResult.failed(self._tls_error, retryable=False)
        try:
            message = build_message(batch, config)
        except Exception as exc:  # a rendering bug must not reach the dispatcher
            return DeliveryResult.failed(f"email: cannot build the message: {type(exc).__name__}", retryable=False)
        smtp = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password.reveal() if config.password is not None else None,
            use_tls=config.tls == "tls",
            start_tls=config.tls == "starttls",
            tls_context=self._tls,
            timeout=config.timeout,
        )
        try:
            with suppress_instrumentation():  # the plugin's own traffic makes no spans or metrics
                refused = await asyncio.wait_for(self._transact(smtp, message), config.timeout * 3)
        except Exception as exc:
            return smtp_failure(exc, self._where, config.timeout, [config.password])
        finally:
            smtp.close()
        if refused:
            # Delivered to the others: a retry would send them the message twice.
            _logger.warning(
                "otel-alerting: email: %s refused %d of %d recipients: %s",
                self._where,
                len(refused),
                len(self._envelope_to),
                ", ".join(f"{addr} ({response.code})" for addr, response in sorted(refused.items())),
            )
        return DeliveryResult.delivered()

    async def _transact(self, smtp: aiosmtplib.SMTP, message: EmailMessage) -> dict[str, aiosmtplib.SMTPResponse]:
        await smtp.connect()
        refused, _ = await smtp.send_message(message, sender=self._envelope_from, recipients=self._envelope_to)
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):
            await smtp.quit()
        return refused
