"""End to end for the notification channels: applications under opentelemetry-instrument
notify a real Alertmanager and real local receivers."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from otel_alerting.testing import OtlpReceiver

from ..channels.alertmanager_server import alertmanager_with_webhook
from ..support.waiting import wait_until
from .instrumented import APPS, BIN, ROOT, instrumented_env, run_instrumented

RULES = """
rules:
  - alert: LevelHigh
    expr:
      value: {metric: app.level, reduce: max}
      by: [proc]
    above: {high: 500}
    annotations:
      summary: "level is {value:.0f}"
"""


def test_three_replicas_make_one_alertmanager_notification_and_one_resolve(
    receiver: OtlpReceiver, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    with alertmanager_with_webhook(tmp_path) as (alertmanager, hook):
        env = instrumented_env(
            receiver,
            OTEL_PYTHON_ALERTING_RULES=str(rules),
            OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS=alertmanager,
            OTEL_PYTHON_ALERTING_ALERTMANAGER_RESEND="1s",
            START_AT=f"{time.time() + 4:.3f}",  # after the three have started
            PHASES="0:0.5,700:3,0:2.5",
        )
        command = [str(BIN / "opentelemetry-instrument"), sys.executable, str(APPS / "level_app.py")]
        replicas = [
            subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(3)
        ]
        outputs = [replica.communicate(timeout=60) for replica in replicas]
        for replica, (_, err) in zip(replicas, outputs):
            assert replica.returncode == 0, err[-3000:]
            assert "[FIRING:HIGH] LevelHigh" in err and "[RESOLVED:HIGH] LevelHigh" in err, err[-3000:]

        # Alertmanager waits for its group interval (1 s here) before telling of the resolve
        def notified() -> list[str]:
            documents = [r.json() for r in hook.requests if r.path == "/hook"]
            return [
                doc["status"]
                for doc in documents
                if any(a["labels"].get("alertname") == "LevelHigh" for a in doc["alerts"])
            ]

        wait_until(lambda: "resolved" in notified(), "Alertmanager's resolve notification", 15, seen=notified)
    statuses = notified()
    assert statuses == ["firing", "resolved"], f"webhook notifications behind Alertmanager: {statuses}"


def test_seed_system_variables_send_email_over_starttls_and_a_signed_webhook(
    receiver: OtlpReceiver, tmp_path: Path
) -> None:
    import hashlib
    import hmac

    import trustme

    from ..channels.fake_smtp_service import SmtpServer, server_tls_context
    from ..support.http import HttpReceiver
    from ..support.ports import free_port

    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    password, key = "s3cret-smtp-password", "signing-key-0123456789"
    with (
        SmtpServer(
            free_port(), starttls=server_tls_context(ca.issue_cert("127.0.0.1")), users={"alerts": password}
        ) as smtp,
        HttpReceiver() as hook,
    ):
        env = instrumented_env(
            receiver,
            OTEL_PYTHON_ALERTING_RULES=str(rules),
            PHASES="0:0.3,700:3.5,0:1.5",
            # the names of the system otel-alerting replaces
            ALERT_EMAIL_ENABLED="true",
            ALERT_SMTP_HOST="127.0.0.1",
            ALERT_SMTP_PORT=str(smtp.port),
            ALERT_SMTP_USER="alerts",
            ALERT_SMTP_PASSWORD=password,
            ALERT_FROM_EMAIL="alerts@example.test",
            ALERT_TO_EMAILS="oncall@example.test,lead@example.test",
            OTEL_PYTHON_ALERTING_EMAIL_CA_FILE=str(ca_file),
            ALERT_WEBHOOK_ENABLED="true",
            ALERT_WEBHOOK_URL=f"{hook.url}/alerts?token=webhook-token-42",
            OTEL_PYTHON_ALERTING_WEBHOOK_SIGNING_KEY=key,
        )
        run = run_instrumented(APPS / "level_app.py", env)
        assert run.returncode == 0, run.stderr[-3000:]
        subjects = [mail.message.get("Subject") for mail in smtp.received]
        documents = [r for r in hook.requests if r.path.startswith("/alerts")]
    assert subjects == ["[FIRING:HIGH] LevelHigh (proc=parent)", "[RESOLVED:HIGH] LevelHigh (proc=parent)"], subjects
    assert [d.json()["status"] for d in documents] == ["firing", "resolved"]
    for request in documents:
        stamp = request.headers["x-otel-alerting-timestamp"]
        expected = hmac.new(key.encode(), stamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
        assert request.headers["x-otel-alerting-signature"] == f"sha256={expected}"
    for secret in (password, key, "webhook-token-42"):
        assert secret not in run.stderr and secret not in run.stdout
