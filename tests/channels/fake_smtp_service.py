"""A real SMTP server for the email tests: aiosmtpd on 127.0.0.1, on its own thread.

STARTTLS or implicit TLS with a trustme certificate, AUTH against a table of users,
a scripted answer to DATA (``data_reply``) for the 4xx/5xx tests, and a slow answer to
DATA (``data_delay``) for the timeout tests. Received
messages are parsed with the default policy, as a mail client would read them.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

__all__ = ["ReceivedMail", "SmtpServer", "server_tls_context"]


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    auth_login: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def server_tls_context(cert: Any) -> ssl.SSLContext:
    """A server context for a ``trustme`` leaf certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    return context


class SmtpServer:
    def __init__(
        self,
        port: int,
        *,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        users: dict[str, str] | None = None,
    ) -> None:
        self.port = port
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.users = users
        self.data_reply: str | None = None
        #: seconds before DATA is answered: a server too slow for the client's time limit
        self.data_delay = 0.0
        self.received: list[ReceivedMail] = []
        self._controller: Controller | None = None

    # aiosmtpd hooks ------------------------------------------------------------------

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)  # the slowness under test (cancelled by stop())
        if self.data_reply is not None:
            return self.data_reply
        content = envelope.original_content or b""
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.received.append(ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), content, login))
        return "250 2.0.0 Message accepted for delivery"

    def _authenticate(self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        users = self.users or {}
        ok = isinstance(data, LoginPassword) and users.get(data.login.decode()) == data.password.decode()
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    # lifecycle -------------------------------------------------------------------------

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = {}
        if self.users is not None:
            # aiosmtpd cannot see implicit TLS (TLS from the first byte): it would not
            # offer AUTH, and requiring AUTH without TLS warns. With implicit TLS, AUTH is
            # offered and checked but not demanded before MAIL.
            implicit = self.implicit_tls is not None
            kwargs.update(authenticator=self._authenticate, auth_required=not implicit, auth_require_tls=not implicit)
        if self.starttls is not None:
            kwargs.update(tls_context=self.starttls, require_starttls=True)
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=self.implicit_tls,
            server_hostname="127.0.0.1" if self.implicit_tls else None,
            **kwargs,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
