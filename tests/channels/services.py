"""The services the Slack, Mattermost and PagerDuty channels talk to, as the shared
``HttpReceiver`` plays them: each checks requests against the payload rules written
from the service's documentation (``service_payload_rules``) and answers as the
documentation describes."""

from __future__ import annotations

import json

from ..support.http import HttpReceiver, Reply, Service
from .service_payload_rules import mattermost_problems, pagerduty_problems, slack_problems

__all__ = [
    "MATTERMOST_PATH",
    "PAGERDUTY_PATH",
    "SLACK_PATH",
    "mattermost_service",
    "pagerduty_service",
    "slack_service",
]

SLACK_PATH = "/services/T0001/B0001/slackT0kenV4lue0123456789"
MATTERMOST_PATH = "/hooks/mmK3yV4lue0123456789abcd"
PAGERDUTY_PATH = "/v2/enqueue"
_TEXT = {"Content-Type": "text/plain"}
_JSON = {"Content-Type": "application/json"}


def slack_service(path: str = SLACK_PATH) -> HttpReceiver:
    """200 ``ok``; 400 ``invalid_payload``; 404 ``no_service`` for an unknown hook."""
    return HttpReceiver(
        service=Service(
            path,
            lambda body, size: slack_problems(body),
            ok=Reply(200, "ok", _TEXT),
            invalid=lambda problems: Reply(400, "invalid_payload", _TEXT),
            wrong_path=Reply(404, "no_service", _TEXT),
        )
    )


def mattermost_service(path: str = MATTERMOST_PATH) -> HttpReceiver:
    """200 ``ok``; 400 with Mattermost's JSON error otherwise."""

    def error(message: str) -> Reply:
        return Reply(
            400, json.dumps({"id": "web.incoming_webhook.error", "message": message, "status_code": 400}), _JSON
        )

    return HttpReceiver(
        service=Service(
            path,
            lambda body, size: mattermost_problems(body),
            ok=Reply(200, "ok", _TEXT),
            invalid=lambda problems: error("; ".join(problems)),
            wrong_path=error("Invalid webhook."),
        )
    )


def pagerduty_service(path: str = PAGERDUTY_PATH) -> HttpReceiver:
    """202 ``Event processed``; 400 ``invalid event`` with the errors."""
    ok = json.dumps({"status": "success", "message": "Event processed"})
    return HttpReceiver(
        service=Service(
            path,
            pagerduty_problems,
            ok=Reply(202, ok, _JSON),
            invalid=lambda problems: Reply(
                400,
                json.dumps({"status": "invalid event", "message": "Event object is invalid", "errors": problems}),
                _JSON,
            ),
            wrong_path=Reply(404, "Not Found", _TEXT),
        )
    )
