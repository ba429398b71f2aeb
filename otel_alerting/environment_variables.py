"""Every environment variable the package reads, as constants; nothing else.

The ``OTEL_PYTHON_ALERTING_*`` names are registered under ``opentelemetry_environment_variables``,
so each one is also an ``opentelemetry-instrument`` flag (``--alerting_interval 500``): every
attribute whose name starts with ``OTEL_`` becomes one. The other constants (the seed system's
``ALERT_*`` aliases, the prefixes of names built from a rule or channel, the variables of other
software read as fallbacks) do not start with ``OTEL_``, so they add no flag. Only ``config``
reads these names from the environment; ``config.ALIASES`` maps each alias to its variable.
"""

OTEL_PYTHON_ALERTING_ENABLED = "OTEL_PYTHON_ALERTING_ENABLED"
"""
.. envvar:: OTEL_PYTHON_ALERTING_ENABLED

``false`` turns the plugin off: no alerting reader is added. Default: ``true``.
"""

OTEL_PYTHON_ALERTING_STRICT = "OTEL_PYTHON_ALERTING_STRICT"
"""
.. envvar:: OTEL_PYTHON_ALERTING_STRICT

``true`` makes a configuration error stop the process at start-up instead of
disabling the part it affects. Default: ``false``.
"""

OTEL_PYTHON_ALERTING_INTERVAL = "OTEL_PYTHON_ALERTING_INTERVAL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_INTERVAL

Evaluation interval in milliseconds, like ``OTEL_METRIC_EXPORT_INTERVAL``. Default: ``1000``.
"""

OTEL_PYTHON_ALERTING_MODE = "OTEL_PYTHON_ALERTING_MODE"
"""
.. envvar:: OTEL_PYTHON_ALERTING_MODE

``export``: one aggregation; the alerting reader evaluates and forwards the same
data to the exporters named in ``OTEL_PYTHON_ALERTING_EXPORTERS``.
``reader``: a second metric reader with its own aggregation and timer.
Default: unset, otel-alerting's configurator chooses ``export``, or ``reader`` where
forwarding would change what the collector receives (a ``delta`` or ``lowmemory``
OTLP temporality preference, or an alerting interval longer than
``OTEL_METRIC_EXPORT_INTERVAL``); a reader built by another configurator, or in
code, uses ``reader``.
"""

OTEL_PYTHON_ALERTING_EXPORTERS = "OTEL_PYTHON_ALERTING_EXPORTERS"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EXPORTERS

In ``export`` mode, the metric exporters (``opentelemetry_metrics_exporter`` entry
point names) the alerting reader forwards to. Default: ``otlp``.
"""

OTEL_PYTHON_ALERTING_RULES = "OTEL_PYTHON_ALERTING_RULES"
"""
.. envvar:: OTEL_PYTHON_ALERTING_RULES

Path of a YAML or JSON rules file. Several paths may be separated by ``os.pathsep``.
"""

OTEL_PYTHON_ALERTING_DEFAULT_RULES = "OTEL_PYTHON_ALERTING_DEFAULT_RULES"
"""
.. envvar:: OTEL_PYTHON_ALERTING_DEFAULT_RULES

``false`` leaves out the built-in rule pack. Default: ``true``.
"""

OTEL_PYTHON_ALERTING_PROMETHEUS_SEVERITIES = "OTEL_PYTHON_ALERTING_PROMETHEUS_SEVERITIES"
"""
.. envvar:: OTEL_PYTHON_ALERTING_PROMETHEUS_SEVERITIES

How the ``severity`` labels of an imported Prometheus rule file map onto the engine's
severities: ``label=LEVEL`` pairs separated by commas, labels in any case, added to (and
replacing entries of) the default table
``info=low,warning=medium,error=high,critical=critical,page=critical``.
"""

OTEL_PYTHON_ALERTING_PROMETHEUS_METRICS = "OTEL_PYTHON_ALERTING_PROMETHEUS_METRICS"
"""
.. envvar:: OTEL_PYTHON_ALERTING_PROMETHEUS_METRICS

The application's metrics an imported Prometheus rule file reads, as ``NAME=KIND[:UNIT]``
separated by commas (``app.queue.depth=gauge,app.latency=histogram:ms``), like
``otel-alerting rules export --metric``: a Prometheus name in a rule is mapped back to the
one of these (or of the plugin's own metrics) the export would write it as.
"""

OTEL_PYTHON_ALERTING_COOLDOWN = "OTEL_PYTHON_ALERTING_COOLDOWN"
"""
.. envvar:: OTEL_PYTHON_ALERTING_COOLDOWN

Minimum time between two FIRING notifications of the same alert at the same
severity (``30s``, ``5m`` or seconds). Default: ``60s``.
"""

OTEL_PYTHON_ALERTING_HISTORY_SIZE = "OTEL_PYTHON_ALERTING_HISTORY_SIZE"
"""
.. envvar:: OTEL_PYTHON_ALERTING_HISTORY_SIZE

Number of alert transitions the alert manager keeps in memory. Default: ``1000``.
"""

OTEL_PYTHON_ALERTING_CARDINALITY_LIMIT = "OTEL_PYTHON_ALERTING_CARDINALITY_LIMIT"
"""
.. envvar:: OTEL_PYTHON_ALERTING_CARDINALITY_LIMIT

Series per metric the alerting reader aggregates before the SDK merges the rest into
one overflow series (reported in the log and ``otel_alerting.cardinality.overflow``).
Default: ``10000``.
"""

OTEL_PYTHON_ALERTING_MAX_SERIES_PER_RULE = "OTEL_PYTHON_ALERTING_MAX_SERIES_PER_RULE"
"""
.. envvar:: OTEL_PYTHON_ALERTING_MAX_SERIES_PER_RULE

Series one rule reads at most (per metric it reads). A new series past the limit is not
read by that rule, so it cannot alert, until others have gone away; such series are
counted per rule in ``otel_alerting.rule.series.refused`` and ``/health``, and a rule's
first refusal is logged once. Default: ``10000``.
"""

OTEL_PYTHON_ALERTING_CHANNELS = "OTEL_PYTHON_ALERTING_CHANNELS"
"""
.. envvar:: OTEL_PYTHON_ALERTING_CHANNELS

Comma-separated channels to enable. Default: ``log,console``.
"""

OTEL_PYTHON_ALERTING_CONSOLE_COLOR = "OTEL_PYTHON_ALERTING_CONSOLE_COLOR"
"""
.. envvar:: OTEL_PYTHON_ALERTING_CONSOLE_COLOR

``auto`` (colour when standard error is a terminal), ``always`` or ``never``. Default: ``auto``.
"""

OTEL_PYTHON_ALERTING_GROUP_WAIT = "OTEL_PYTHON_ALERTING_GROUP_WAIT"
"""
.. envvar:: OTEL_PYTHON_ALERTING_GROUP_WAIT

How long the default routes hold a new group's first notification to people's channels
(email, Slack, Mattermost, webhook) to send it with what arrives meanwhile. Default: ``2s``.
"""

OTEL_PYTHON_ALERTING_GROUP_INTERVAL = "OTEL_PYTHON_ALERTING_GROUP_INTERVAL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_GROUP_INTERVAL

The default routes' minimum time between two notifications of one group (resolutions,
escalations and CRITICAL alerts do not wait). Default: ``5m``.
"""

OTEL_PYTHON_ALERTING_REPEAT_INTERVAL = "OTEL_PYTHON_ALERTING_REPEAT_INTERVAL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_REPEAT_INTERVAL

The default routes re-send what still fires after this long. Default: ``4h`` (CRITICAL: ``1h``).
"""

OTEL_PYTHON_ALERTING_ROUTE_LOW = "OTEL_PYTHON_ALERTING_ROUTE_LOW"
"""
.. envvar:: OTEL_PYTHON_ALERTING_ROUTE_LOW

Channels for LOW alerts, replacing the default (``console,log`` plus the sinks).
"""

OTEL_PYTHON_ALERTING_ROUTE_MEDIUM = "OTEL_PYTHON_ALERTING_ROUTE_MEDIUM"
"""
.. envvar:: OTEL_PYTHON_ALERTING_ROUTE_MEDIUM

Channels for MEDIUM alerts, replacing the default (``console,log,slack,mattermost`` plus the sinks).
"""

OTEL_PYTHON_ALERTING_ROUTE_HIGH = "OTEL_PYTHON_ALERTING_ROUTE_HIGH"
"""
.. envvar:: OTEL_PYTHON_ALERTING_ROUTE_HIGH

Channels for HIGH alerts, replacing the default (``console,log,email,slack,mattermost,webhook``
plus the sinks).
"""

OTEL_PYTHON_ALERTING_ROUTE_CRITICAL = "OTEL_PYTHON_ALERTING_ROUTE_CRITICAL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_ROUTE_CRITICAL

Channels for CRITICAL alerts, replacing the default (every configured channel).
"""

OTEL_PYTHON_ALERTING_DELIVERY_DEADLINE = "OTEL_PYTHON_ALERTING_DELIVERY_DEADLINE"
"""
.. envvar:: OTEL_PYTHON_ALERTING_DELIVERY_DEADLINE

How long a notification may be retried (transient failures, with exponential backoff
and jitter) before it counts as failed. Default: ``2m``.
"""

OTEL_PYTHON_ALERTING_SHUTDOWN_TIMEOUT = "OTEL_PYTHON_ALERTING_SHUTDOWN_TIMEOUT"
"""
.. envvar:: OTEL_PYTHON_ALERTING_SHUTDOWN_TIMEOUT

At most this long at exit for the final evaluation and the delivery of what is still
queued (CRITICAL first); what is left is counted as dropped. It also leaves the rest of
the MeterProvider's shutdown budget to the other readers. Default: ``5s``.
"""

OTEL_PYTHON_ALERTING_HANDLE_SIGTERM = "OTEL_PYTHON_ALERTING_HANDLE_SIGTERM"
"""
.. envvar:: OTEL_PYTHON_ALERTING_HANDLE_SIGTERM

``true``: under otel-alerting's configurator, a process that has no SIGTERM handler of its
own gets one that shuts the SDK down (the final evaluation, the final export, what is still
queued, within ``OTEL_PYTHON_ALERTING_SHUTDOWN_TIMEOUT``), then ends by SIGTERM as it would
have. ``false``: SIGTERM is left alone. Default: ``true``.
"""

OTEL_PYTHON_ALERTING_HEARTBEAT_URL = "OTEL_PYTHON_ALERTING_HEARTBEAT_URL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_HEARTBEAT_URL

A dead man's switch: this ``http(s)`` URL gets an HTTP GET after an evaluation, at most
once per :envvar:`OTEL_PYTHON_ALERTING_HEARTBEAT_INTERVAL` (the ping URL of
healthchecks.io, Cronitor, Better Stack or Uptime Kuma's push monitors). When the
pings stop, the service that receives them alerts: the process died or its evaluation
stopped. Treated as a secret (it usually carries a token): never logged or reported.
Default: unset (no heartbeat).
"""

OTEL_PYTHON_ALERTING_HEARTBEAT_INTERVAL = "OTEL_PYTHON_ALERTING_HEARTBEAT_INTERVAL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_HEARTBEAT_INTERVAL

The least time between two heartbeat pings (``60s``, ``5m`` or seconds). Set the
receiving service's period to it and its grace time to a few intervals. Default: ``60s``.
"""

OTEL_PYTHON_ALERTING_STATE = "OTEL_PYTHON_ALERTING_STATE"
"""
.. envvar:: OTEL_PYTHON_ALERTING_STATE

A path to an SQLite file that keeps the alert state across restarts and deploys: each
alert's lifecycle (start, ``for`` progress, severity, what receivers were told), the
silences and a notification log. Created if missing (with WAL mode, so the processes of
one host can share it). A file that cannot be used (corrupt, another program's database,
a directory that does not exist) is one configuration problem: alerting goes on with the
state in memory. Or a ``redis://`` (``rediss://``) URL, ``redis://[:password@]host:port/db``,
for processes on several hosts (needs the ``redis`` extra). Processes that share a store
send each notification once (the workers of a pre-fork server, the replicas of a
service). Default: unset (state in memory, lost at exit).
"""

OTEL_PYTHON_ALERTING_STATE_LEASE = "OTEL_PYTHON_ALERTING_STATE_LEASE"
"""
.. envvar:: OTEL_PYTHON_ALERTING_STATE_LEASE

With a shared :envvar:`OTEL_PYTHON_ALERTING_STATE`: how long a process's hold on the
alerts it fires outlives its last evaluation (``15s``, ``1m`` or seconds; at least three
intervals). A process that dies holding an alert that the others have resolved delays
its RESOLVED by up to this long. Default: ``15s``.
"""

OTEL_PYTHON_ALERTING_QUEUE_SIZE = "OTEL_PYTHON_ALERTING_QUEUE_SIZE"
"""
.. envvar:: OTEL_PYTHON_ALERTING_QUEUE_SIZE

Notifications each channel may hold before the lowest severities are dropped. Default: ``10000``
(Prometheus's notification queue; an alert storm of that size is delivered, not dropped).
"""

OTEL_PYTHON_ALERTING_REDIS_URL = "OTEL_PYTHON_ALERTING_REDIS_URL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_REDIS_URL

Redis server(s) whose health is probed with ``PING`` over a connection of the probe's
own: a ``redis://``, ``rediss://`` or ``unix://`` URL, or a comma-separated list, each
optionally named (``sessions=redis://10.0.0.5:6379/0``; the name becomes
``otel_alerting.dependency.name``, default ``redis``). A password in the URL is never
logged. Default: ``REDIS_URL`` if the application sets it, else no Redis probe.
"""

OTEL_PYTHON_ALERTING_CHROMA_URL = "OTEL_PYTHON_ALERTING_CHROMA_URL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_CHROMA_URL

ChromaDB server(s) whose health is probed with ``GET /api/v2/heartbeat``
(``http://chroma:8000``; a list and names as for ``OTEL_PYTHON_ALERTING_REDIS_URL``).
Default: chromadb's own ``CHROMA_SERVER_HOST``/``CHROMA_SERVER_HTTP_PORT``/``CHROMA_SERVER_SSL_ENABLED``,
else ``CHROMA_HOST``/``CHROMA_PORT``, else the server of the first ``chromadb.HttpClient``
the application uses. An embedded client's health comes from its operations.
"""

OTEL_PYTHON_ALERTING_EMBEDDINGS_URL = "OTEL_PYTHON_ALERTING_EMBEDDINGS_URL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EMBEDDINGS_URL

Health URL of the embeddings service, checked with ``GET`` (any status below 400 is
healthy); with ``OTEL_PYTHON_ALERTING_EMBEDDINGS_REQUEST`` set, the embeddings endpoint,
checked with a minimal ``POST``. A list and names as for ``OTEL_PYTHON_ALERTING_REDIS_URL``.
"""

OTEL_PYTHON_ALERTING_EMBEDDINGS_REQUEST = "OTEL_PYTHON_ALERTING_EMBEDDINGS_REQUEST"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EMBEDDINGS_REQUEST

A JSON body (``{"input": "ping", "model": "text-embedding-3-small"}``): the embeddings
probe POSTs it instead of sending a GET.
"""

OTEL_PYTHON_ALERTING_EMBEDDINGS_HEADERS = "OTEL_PYTHON_ALERTING_EMBEDDINGS_HEADERS"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EMBEDDINGS_HEADERS

Headers of the embeddings probe, as ``key=value`` pairs separated by commas and
URL-encoded like ``OTEL_EXPORTER_OTLP_HEADERS`` (``Authorization=Bearer%20sk-...``).
Their values are treated as secrets.
"""

OTEL_PYTHON_ALERTING_PROBE_INTERVAL = "OTEL_PYTHON_ALERTING_PROBE_INTERVAL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_PROBE_INTERVAL

Time between two rounds of dependency checks (``5s``, ``500ms`` or seconds). Default: ``5s``.
"""

OTEL_PYTHON_ALERTING_PROBE_TIMEOUT = "OTEL_PYTHON_ALERTING_PROBE_TIMEOUT"
"""
.. envvar:: OTEL_PYTHON_ALERTING_PROBE_TIMEOUT

Connect and read timeout of one dependency check (``2s``, ``500ms`` or seconds). Default: ``2s``.
"""

OTEL_PYTHON_ALERTING_CACHE_KEY_PREFIXES = "OTEL_PYTHON_ALERTING_CACHE_KEY_PREFIXES"
"""
.. envvar:: OTEL_PYTHON_ALERTING_CACHE_KEY_PREFIXES

Comma-separated Redis key prefixes whose reads count as cache lookups, each ``PREFIX``
(the cache is named after it, trailing ``:``, ``.``, ``/``, ``-``, ``_`` dropped:
``session:`` is cache ``session``) or ``NAME=PREFIX``. The longest matching prefix wins;
other keys are not counted. Empty (the default): every key counts, as cache
:envvar:`OTEL_PYTHON_ALERTING_CACHE_NAME`.
"""

OTEL_PYTHON_ALERTING_CACHE_NAME = "OTEL_PYTHON_ALERTING_CACHE_NAME"
"""
.. envvar:: OTEL_PYTHON_ALERTING_CACHE_NAME

The cache name (``otel_alerting.cache.name``) of Redis lookups when no key prefixes are
configured. Default: ``redis``.
"""

OTEL_PYTHON_ALERTING_CACHE_COMMANDS = "OTEL_PYTHON_ALERTING_CACHE_COMMANDS"
"""
.. envvar:: OTEL_PYTHON_ALERTING_CACHE_COMMANDS

Comma-separated Redis read commands counted as cache lookups, among ``GET``, ``GETEX``,
``GETDEL``, ``HGET``, ``LINDEX``, ``ZSCORE``, ``JSON.GET``, ``MGET``, ``HMGET``, ``EXISTS``,
``HGETALL``. Default: all of them.
"""

# --- channels: email, Slack, Mattermost, PagerDuty ------------------------------------

OTEL_PYTHON_ALERTING_EMAIL_ENABLED = "OTEL_PYTHON_ALERTING_EMAIL_ENABLED"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EMAIL_ENABLED

``true`` requires a complete email configuration (a missing SMTP host is then an
error); ``false`` turns the email channel off whatever else is set. Unset: email is
configured when an SMTP host or recipients are set. Alias: ``ALERT_EMAIL_ENABLED``.
"""

OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST = "OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST

Host name or address of the SMTP server. Alias: ``ALERT_SMTP_HOST``.
"""

OTEL_PYTHON_ALERTING_EMAIL_SMTP_PORT = "OTEL_PYTHON_ALERTING_EMAIL_SMTP_PORT"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EMAIL_SMTP_PORT

SMTP port. Default: ``587`` with ``starttls``, ``465`` with ``tls``, ``25`` with
``none``. Alias: ``ALERT_SMTP_PORT``.
"""

OTEL_PYTHON_ALERTING_EMAIL_USERNAME = "OTEL_PYTHON_ALERTING_EMAIL_USERNAME"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EMAIL_USERNAME

User name for SMTP authentication (AUTH); unset, no authentication. Alias: ``ALERT_SMTP_USER``.
"""

OTEL_PYTHON_ALERTING_EMAIL_PASSWORD = "OTEL_PYTHON_ALERTING_EMAIL_PASSWORD"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EMAIL_PASSWORD

Password for SMTP authentication; a secret, never logged or printed. Alias: ``ALERT_SMTP_PASSWORD``.
"""

OTEL_PYTHON_ALERTING_EMAIL_FROM = "OTEL_PYTHON_ALERTING_EMAIL_FROM"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EMAIL_FROM

Sender address (``alerts@example.com`` or ``Alerts <alerts@example.com>``). Default: the
user name, when it is an address. Alias: ``ALERT_FROM_EMAIL``.
"""

OTEL_PYTHON_ALERTING_EMAIL_TO = "OTEL_PYTHON_ALERTING_EMAIL_TO"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EMAIL_TO

Comma-separated recipient addresses. Alias: ``ALERT_TO_EMAILS``.
"""

OTEL_PYTHON_ALERTING_EMAIL_TLS = "OTEL_PYTHON_ALERTING_EMAIL_TLS"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EMAIL_TLS

``starttls`` (default: plain connection upgraded with STARTTLS, which the server must
offer), ``tls`` (implicit TLS from the first byte, usually port 465) or ``none``.
"""

OTEL_PYTHON_ALERTING_EMAIL_VERIFY = "OTEL_PYTHON_ALERTING_EMAIL_VERIFY"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EMAIL_VERIFY

``false`` turns off verification of the SMTP server's certificate and host name.
Default: ``true``.
"""

OTEL_PYTHON_ALERTING_EMAIL_CA_FILE = "OTEL_PYTHON_ALERTING_EMAIL_CA_FILE"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EMAIL_CA_FILE

PEM file of the certificate authorities that sign the SMTP server's certificate,
instead of the system's. Default: the system's trust store.
"""

OTEL_PYTHON_ALERTING_EMAIL_TIMEOUT = "OTEL_PYTHON_ALERTING_EMAIL_TIMEOUT"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EMAIL_TIMEOUT

Time limit of each SMTP step (connect, TLS handshake, each command); one delivery
attempt takes at most three times this. Default: ``10s``.
"""

OTEL_PYTHON_ALERTING_SLACK_ENABLED = "OTEL_PYTHON_ALERTING_SLACK_ENABLED"
"""
.. envvar:: OTEL_PYTHON_ALERTING_SLACK_ENABLED

``true`` requires a webhook URL; ``false`` turns the Slack channel off. Unset: Slack is
configured when a webhook URL is set. Alias: ``ALERT_SLACK_ENABLED``.
"""

OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL = "OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL

Slack incoming webhook URL (``https://hooks.slack.com/services/...``); a secret, since
its path is the token. Alias: ``ALERT_SLACK_WEBHOOK_URL``.
"""

OTEL_PYTHON_ALERTING_SLACK_CHANNEL = "OTEL_PYTHON_ALERTING_SLACK_CHANNEL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_SLACK_CHANNEL

Channel override sent as ``channel`` (``#alerts``). Webhooks of Slack apps always post
to the channel chosen at installation and ignore it; legacy webhooks honour it.
Alias: ``ALERT_SLACK_CHANNEL``.
"""

OTEL_PYTHON_ALERTING_SLACK_USERNAME = "OTEL_PYTHON_ALERTING_SLACK_USERNAME"
"""
.. envvar:: OTEL_PYTHON_ALERTING_SLACK_USERNAME

Sender name override sent as ``username`` (honoured by legacy webhooks only).
"""

OTEL_PYTHON_ALERTING_SLACK_TIMEOUT = "OTEL_PYTHON_ALERTING_SLACK_TIMEOUT"
"""
.. envvar:: OTEL_PYTHON_ALERTING_SLACK_TIMEOUT

Time limit of one webhook request, connection included. Default: ``5s``.
"""

OTEL_PYTHON_ALERTING_MATTERMOST_WEBHOOK_URL = "OTEL_PYTHON_ALERTING_MATTERMOST_WEBHOOK_URL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_MATTERMOST_WEBHOOK_URL

Mattermost incoming webhook URL (``https://chat.example.com/hooks/...``); a secret.
Setting it configures the ``mattermost`` channel.
"""

OTEL_PYTHON_ALERTING_MATTERMOST_CHANNEL = "OTEL_PYTHON_ALERTING_MATTERMOST_CHANNEL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_MATTERMOST_CHANNEL

Channel override sent as ``channel`` (the channel's name, ``town-square``, or ``@user``).
"""

OTEL_PYTHON_ALERTING_MATTERMOST_USERNAME = "OTEL_PYTHON_ALERTING_MATTERMOST_USERNAME"
"""
.. envvar:: OTEL_PYTHON_ALERTING_MATTERMOST_USERNAME

Sender name override sent as ``username`` (the server must allow integrations to
override user names).
"""

OTEL_PYTHON_ALERTING_MATTERMOST_TIMEOUT = "OTEL_PYTHON_ALERTING_MATTERMOST_TIMEOUT"
"""
.. envvar:: OTEL_PYTHON_ALERTING_MATTERMOST_TIMEOUT

Time limit of one webhook request, connection included. Default: ``5s``.
"""

OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY = "OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY"
"""
.. envvar:: OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY

The 32-character integration key of an Events API v2 integration; a secret. Setting it
configures the ``pagerduty`` channel.
"""

OTEL_PYTHON_ALERTING_PAGERDUTY_URL = "OTEL_PYTHON_ALERTING_PAGERDUTY_URL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_PAGERDUTY_URL

Events API v2 endpoint. Default: ``https://events.pagerduty.com/v2/enqueue``.
"""

OTEL_PYTHON_ALERTING_PAGERDUTY_SOURCE = "OTEL_PYTHON_ALERTING_PAGERDUTY_SOURCE"
"""
.. envvar:: OTEL_PYTHON_ALERTING_PAGERDUTY_SOURCE

``payload.source`` of the events: the affected system. Default: ``OTEL_SERVICE_NAME``
when set, else the host name.
"""

OTEL_PYTHON_ALERTING_PAGERDUTY_TIMEOUT = "OTEL_PYTHON_ALERTING_PAGERDUTY_TIMEOUT"
"""
.. envvar:: OTEL_PYTHON_ALERTING_PAGERDUTY_TIMEOUT

Time limit of one event request, connection included. Default: ``5s``.
"""

# --- end of channels: email, Slack, Mattermost, PagerDuty -----------------------------

# --- channels: webhook, Alertmanager, OTel log records ---------------------------------

OTEL_PYTHON_ALERTING_WEBHOOK_ENABLED = "OTEL_PYTHON_ALERTING_WEBHOOK_ENABLED"
"""
.. envvar:: OTEL_PYTHON_ALERTING_WEBHOOK_ENABLED

``true`` requires a webhook URL (a missing one is then an error); ``false`` turns the
webhook channel off whatever else is set. Unset: the webhook is configured when a URL
is set. Alias: ``ALERT_WEBHOOK_ENABLED``.
"""

OTEL_PYTHON_ALERTING_WEBHOOK_URL = "OTEL_PYTHON_ALERTING_WEBHOOK_URL"
"""
.. envvar:: OTEL_PYTHON_ALERTING_WEBHOOK_URL

``http(s)://`` URL the webhook channel POSTs each batch to, as JSON in Alertmanager's
webhook format (version 4). A secret: it often holds a token. Alias: ``ALERT_WEBHOOK_URL``.
"""

OTEL_PYTHON_ALERTING_WEBHOOK_HEADERS = "OTEL_PYTHON_ALERTING_WEBHOOK_HEADERS"
"""
.. envvar:: OTEL_PYTHON_ALERTING_WEBHOOK_HEADERS

Extra request headers, ``NAME=value`` pairs separated by commas and URL-decoded like
``OTEL_EXPORTER_OTLP_HEADERS`` (``Authorization=Bearer%20abc,X-Team=payments``). Their
values are secrets.
"""

OTEL_PYTHON_ALERTING_WEBHOOK_SIGNING_KEY = "OTEL_PYTHON_ALERTING_WEBHOOK_SIGNING_KEY"
"""
.. envvar:: OTEL_PYTHON_ALERTING_WEBHOOK_SIGNING_KEY

HMAC key, ``whsec_<base64>`` (the Standard Webhooks form) or any other string; when set,
each request carries the Standard Webhooks headers (``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>``) and
``X-Otel-Alerting-Timestamp`` with ``X-Otel-Alerting-Signature: sha256=<hex HMAC-SHA256
of timestamp + "." + body>``. A secret.
"""

OTEL_PYTHON_ALERTING_WEBHOOK_TIMEOUT = "OTEL_PYTHON_ALERTING_WEBHOOK_TIMEOUT"
"""
.. envvar:: OTEL_PYTHON_ALERTING_WEBHOOK_TIMEOUT

Time limit of each phase of a webhook request (connect, write, read). Default: ``5s``.
"""

OTEL_PYTHON_ALERTING_WEBHOOK_MAX_ALERTS = "OTEL_PYTHON_ALERTING_WEBHOOK_MAX_ALERTS"
"""
.. envvar:: OTEL_PYTHON_ALERTING_WEBHOOK_MAX_ALERTS

At most this many alerts per request, the others counted in ``truncatedAlerts`` (as
Alertmanager's ``max_alerts``). Default: ``0``, all of them.
"""

OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS = "OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS"
"""
.. envvar:: OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS

Comma-separated base URLs of Alertmanagers (``http://am-0:9093,http://am-1:9093``);
alerts go to ``<url>/api/v2/alerts`` of each. Setting it configures the
``alertmanager`` channel. Secrets: a URL may hold credentials.
"""

OTEL_PYTHON_ALERTING_ALERTMANAGER_USERNAME = "OTEL_PYTHON_ALERTING_ALERTMANAGER_USERNAME"
"""
.. envvar:: OTEL_PYTHON_ALERTING_ALERTMANAGER_USERNAME

User name for HTTP basic authentication to the Alertmanagers (with the password).
"""

OTEL_PYTHON_ALERTING_ALERTMANAGER_PASSWORD = "OTEL_PYTHON_ALERTING_ALERTMANAGER_PASSWORD"
"""
.. envvar:: OTEL_PYTHON_ALERTING_ALERTMANAGER_PASSWORD

Password for HTTP basic authentication to the Alertmanagers; a secret.
"""

OTEL_PYTHON_ALERTING_ALERTMANAGER_BEARER_TOKEN = "OTEL_PYTHON_ALERTING_ALERTMANAGER_BEARER_TOKEN"
"""
.. envvar:: OTEL_PYTHON_ALERTING_ALERTMANAGER_BEARER_TOKEN

Token sent as ``Authorization: Bearer <token>`` to the Alertmanagers, instead of basic
authentication; a secret.
"""

OTEL_PYTHON_ALERTING_ALERTMANAGER_TIMEOUT = "OTEL_PYTHON_ALERTING_ALERTMANAGER_TIMEOUT"
"""
.. envvar:: OTEL_PYTHON_ALERTING_ALERTMANAGER_TIMEOUT

Time limit of each phase of a request to one Alertmanager. Default: ``10s`` (Prometheus's).
"""

OTEL_PYTHON_ALERTING_ALERTMANAGER_RESEND = "OTEL_PYTHON_ALERTING_ALERTMANAGER_RESEND"
"""
.. envvar:: OTEL_PYTHON_ALERTING_ALERTMANAGER_RESEND

How often firing alerts (and, for 15 minutes, resolved ones) are sent again, as
Prometheus's ``--rules.alert.resend-delay``. A firing alert's ``endsAt`` is
``now + 4 * max(this, the evaluation interval)``. Default: ``1m``.
"""

OTEL_PYTHON_ALERTING_OTEL_LOGS = "OTEL_PYTHON_ALERTING_OTEL_LOGS"
"""
.. envvar:: OTEL_PYTHON_ALERTING_OTEL_LOGS

``true``: each notification is also an OpenTelemetry log record (event
``otel_alerting.alert``) through the SDK's LoggerProvider; ``false``: never. ``auto``
(default): on when ``OTEL_LOGS_EXPORTER`` names an exporter, as ``opentelemetry-instrument``
with this package's distro does (``otlp``).
"""

# --- end of channels: webhook, Alertmanager, OTel log records --------------------------

OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES = "OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES"
"""
.. envvar:: OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES

``true`` adds ``otel_alerting.cache.result`` (and ``.hits``/``.misses``) to the spans of
opentelemetry-instrumentation-redis; the metric is counted either way. Off by default:
each attribute is one SDK ``set_attribute``, 1.2 to 1.5 µs inside a real GET, more than
the whole hot-path budget of the counting itself (see docs/performance.md). Default: ``false``.
"""

# --- the HTTP endpoint (/health) ----------------------------------------------------------

OTEL_PYTHON_ALERTING_HTTP_PORT = "OTEL_PYTHON_ALERTING_HTTP_PORT"
"""
.. envvar:: OTEL_PYTHON_ALERTING_HTTP_PORT

A port: the plugin serves ``/health`` on it from a thread of its own. Unset (the
default): no server; the ASGI and WSGI apps of ``otel_alerting.http`` can still be
mounted in the service's own framework.
"""

OTEL_PYTHON_ALERTING_HTTP_HOST = "OTEL_PYTHON_ALERTING_HTTP_HOST"
"""
.. envvar:: OTEL_PYTHON_ALERTING_HTTP_HOST

The address the server of :envvar:`OTEL_PYTHON_ALERTING_HTTP_PORT` binds to
(``0.0.0.0`` for every interface). Default: ``127.0.0.1``.
"""

OTEL_PYTHON_ALERTING_HTTP_TOKEN = "OTEL_PYTHON_ALERTING_HTTP_TOKEN"
"""
.. envvar:: OTEL_PYTHON_ALERTING_HTTP_TOKEN

A secret: requests that change state must carry ``Authorization: Bearer <token>``.
Reads of ``/health`` never need it.
"""

OTEL_PYTHON_ALERTING_HTTP_HEALTH_FAILING_STATUS = "OTEL_PYTHON_ALERTING_HTTP_HEALTH_FAILING_STATUS"
"""
.. envvar:: OTEL_PYTHON_ALERTING_HTTP_HEALTH_FAILING_STATUS

The HTTP status of ``/health`` when the report says ``failing`` (200 for probes
that read only the body). Default: ``503``.
"""

# --- per channel: resolved notifications ------------------------------------------------

OTEL_PYTHON_ALERTING_LOG_SEND_RESOLVED = "OTEL_PYTHON_ALERTING_LOG_SEND_RESOLVED"
"""
.. envvar:: OTEL_PYTHON_ALERTING_LOG_SEND_RESOLVED

``false``: the ``log`` channel is not told when an alert resolves. Default: ``true``.
"""

OTEL_PYTHON_ALERTING_CONSOLE_SEND_RESOLVED = "OTEL_PYTHON_ALERTING_CONSOLE_SEND_RESOLVED"
"""
.. envvar:: OTEL_PYTHON_ALERTING_CONSOLE_SEND_RESOLVED

``false``: the ``console`` channel is not told when an alert resolves. Default: ``true``.
"""

OTEL_PYTHON_ALERTING_EMAIL_SEND_RESOLVED = "OTEL_PYTHON_ALERTING_EMAIL_SEND_RESOLVED"
"""
.. envvar:: OTEL_PYTHON_ALERTING_EMAIL_SEND_RESOLVED

``false``: the ``email`` channel is not told when an alert resolves. Default: ``true``.
"""

OTEL_PYTHON_ALERTING_SLACK_SEND_RESOLVED = "OTEL_PYTHON_ALERTING_SLACK_SEND_RESOLVED"
"""
.. envvar:: OTEL_PYTHON_ALERTING_SLACK_SEND_RESOLVED

``false``: the ``slack`` channel is not told when an alert resolves. Default: ``true``.
"""

OTEL_PYTHON_ALERTING_MATTERMOST_SEND_RESOLVED = "OTEL_PYTHON_ALERTING_MATTERMOST_SEND_RESOLVED"
"""
.. envvar:: OTEL_PYTHON_ALERTING_MATTERMOST_SEND_RESOLVED

``false``: the ``mattermost`` channel is not told when an alert resolves. Default: ``true``.
"""

OTEL_PYTHON_ALERTING_WEBHOOK_SEND_RESOLVED = "OTEL_PYTHON_ALERTING_WEBHOOK_SEND_RESOLVED"
"""
.. envvar:: OTEL_PYTHON_ALERTING_WEBHOOK_SEND_RESOLVED

``false``: the ``webhook`` channel is not told when an alert resolves. Default: ``true``.
"""

OTEL_PYTHON_ALERTING_PAGERDUTY_SEND_RESOLVED = "OTEL_PYTHON_ALERTING_PAGERDUTY_SEND_RESOLVED"
"""
.. envvar:: OTEL_PYTHON_ALERTING_PAGERDUTY_SEND_RESOLVED

``false``: the ``pagerduty`` channel is not told when an alert resolves. Default: ``true``.
"""

OTEL_PYTHON_ALERTING_ALERTMANAGER_SEND_RESOLVED = "OTEL_PYTHON_ALERTING_ALERTMANAGER_SEND_RESOLVED"
"""
.. envvar:: OTEL_PYTHON_ALERTING_ALERTMANAGER_SEND_RESOLVED

``false``: the ``alertmanager`` channel is not told when an alert resolves. Default: ``true``.
"""

OTEL_PYTHON_ALERTING_OTEL_LOGS_SEND_RESOLVED = "OTEL_PYTHON_ALERTING_OTEL_LOGS_SEND_RESOLVED"
"""
.. envvar:: OTEL_PYTHON_ALERTING_OTEL_LOGS_SEND_RESOLVED

``false``: the ``otel_logs`` channel is not told when an alert resolves. Default: ``true``.
"""

# --- the seed system's names, accepted as aliases ---------------------------------------

ALERT_EMAIL_ENABLED = "ALERT_EMAIL_ENABLED"
"""
.. envvar:: ALERT_EMAIL_ENABLED

Alias of :envvar:`OTEL_PYTHON_ALERTING_EMAIL_ENABLED`, read when that one is unset.
"""

ALERT_SMTP_HOST = "ALERT_SMTP_HOST"
"""
.. envvar:: ALERT_SMTP_HOST

Alias of :envvar:`OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST`, read when that one is unset.
"""

ALERT_SMTP_PORT = "ALERT_SMTP_PORT"
"""
.. envvar:: ALERT_SMTP_PORT

Alias of :envvar:`OTEL_PYTHON_ALERTING_EMAIL_SMTP_PORT`, read when that one is unset.
"""

ALERT_SMTP_USER = "ALERT_SMTP_USER"
"""
.. envvar:: ALERT_SMTP_USER

Alias of :envvar:`OTEL_PYTHON_ALERTING_EMAIL_USERNAME`, read when that one is unset.
"""

ALERT_SMTP_PASSWORD = "ALERT_SMTP_PASSWORD"
"""
.. envvar:: ALERT_SMTP_PASSWORD

Alias of :envvar:`OTEL_PYTHON_ALERTING_EMAIL_PASSWORD`, read when that one is unset.
"""

ALERT_FROM_EMAIL = "ALERT_FROM_EMAIL"
"""
.. envvar:: ALERT_FROM_EMAIL

Alias of :envvar:`OTEL_PYTHON_ALERTING_EMAIL_FROM`, read when that one is unset.
"""

ALERT_TO_EMAILS = "ALERT_TO_EMAILS"
"""
.. envvar:: ALERT_TO_EMAILS

Alias of :envvar:`OTEL_PYTHON_ALERTING_EMAIL_TO`, read when that one is unset.
"""

ALERT_SLACK_ENABLED = "ALERT_SLACK_ENABLED"
"""
.. envvar:: ALERT_SLACK_ENABLED

Alias of :envvar:`OTEL_PYTHON_ALERTING_SLACK_ENABLED`, read when that one is unset.
"""

ALERT_SLACK_WEBHOOK_URL = "ALERT_SLACK_WEBHOOK_URL"
"""
.. envvar:: ALERT_SLACK_WEBHOOK_URL

Alias of :envvar:`OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL`, read when that one is unset.
"""

ALERT_SLACK_CHANNEL = "ALERT_SLACK_CHANNEL"
"""
.. envvar:: ALERT_SLACK_CHANNEL

Alias of :envvar:`OTEL_PYTHON_ALERTING_SLACK_CHANNEL`, read when that one is unset.
"""

ALERT_WEBHOOK_ENABLED = "ALERT_WEBHOOK_ENABLED"
"""
.. envvar:: ALERT_WEBHOOK_ENABLED

Alias of :envvar:`OTEL_PYTHON_ALERTING_WEBHOOK_ENABLED`, read when that one is unset.
"""

ALERT_WEBHOOK_URL = "ALERT_WEBHOOK_URL"
"""
.. envvar:: ALERT_WEBHOOK_URL

Alias of :envvar:`OTEL_PYTHON_ALERTING_WEBHOOK_URL`, read when that one is unset.
"""

# --- prefixes of names built from a rule or a channel -----------------------------------

RULE_OVERRIDE_PREFIX = "OTEL_PYTHON_ALERTING_RULE_"
"""
.. envvar:: OTEL_PYTHON_ALERTING_RULE_<ALERT>_<FIELD>

Overrides one field of one rule: ``<ALERT>`` is the rule's name in upper case
(``CACHE_HIT_RATE_LOW``), ``<FIELD>`` one of ``ENABLED``, ``ABOVE``, ``BELOW``, ``FOR``,
``KEEP_FIRING_FOR``, ``RECOVERY``, ``WINDOW``, ``MIN_DENOMINATOR``, ``NO_DATA``.
"""

EMAIL_PREFIX = "OTEL_PYTHON_ALERTING_EMAIL_"
"""The prefix of the ``email`` channel's variables: one of them set (and not empty) means the
channel is configured, so its module is imported and its configuration read."""

SLACK_PREFIX = "OTEL_PYTHON_ALERTING_SLACK_"
"""The prefix of the ``slack`` channel's variables: one of them set (and not empty) means the
channel is configured, so its module is imported and its configuration read."""

MATTERMOST_PREFIX = "OTEL_PYTHON_ALERTING_MATTERMOST_"
"""The prefix of the ``mattermost`` channel's variables: one of them set (and not empty) means the
channel is configured, so its module is imported and its configuration read."""

WEBHOOK_PREFIX = "OTEL_PYTHON_ALERTING_WEBHOOK_"
"""The prefix of the ``webhook`` channel's variables: one of them set (and not empty) means the
channel is configured, so its module is imported and its configuration read."""

PAGERDUTY_PREFIX = "OTEL_PYTHON_ALERTING_PAGERDUTY_"
"""The prefix of the ``pagerduty`` channel's variables: one of them set (and not empty) means the
channel is configured, so its module is imported and its configuration read."""

ALERTMANAGER_PREFIX = "OTEL_PYTHON_ALERTING_ALERTMANAGER_"
"""The prefix of the ``alertmanager`` channel's variables: one of them set (and not empty) means the
channel is configured, so its module is imported and its configuration read."""

# --- other software's variables, read as fallbacks --------------------------------------

REDIS_URL = "REDIS_URL"
"""
.. envvar:: REDIS_URL

The application's Redis URL: probed when :envvar:`OTEL_PYTHON_ALERTING_REDIS_URL` is unset.
"""

CHROMA_SERVER_HOST = "CHROMA_SERVER_HOST"
"""
.. envvar:: CHROMA_SERVER_HOST

chromadb's own server setting (with ``CHROMA_SERVER_HTTP_PORT`` and
``CHROMA_SERVER_SSL_ENABLED``): probed when :envvar:`OTEL_PYTHON_ALERTING_CHROMA_URL` is unset.
"""

CHROMA_SERVER_HTTP_PORT = "CHROMA_SERVER_HTTP_PORT"
"""
.. envvar:: CHROMA_SERVER_HTTP_PORT

The port of :envvar:`CHROMA_SERVER_HOST`. Default: ``8000``.
"""

CHROMA_SERVER_SSL_ENABLED = "CHROMA_SERVER_SSL_ENABLED"
"""
.. envvar:: CHROMA_SERVER_SSL_ENABLED

``true``: :envvar:`CHROMA_SERVER_HOST` (or :envvar:`CHROMA_HOST`) speaks HTTPS. Default: ``false``.
"""

CHROMA_HOST = "CHROMA_HOST"
"""
.. envvar:: CHROMA_HOST

What applications and Chroma's docker examples commonly use (with ``CHROMA_PORT``): probed
when neither :envvar:`OTEL_PYTHON_ALERTING_CHROMA_URL` nor :envvar:`CHROMA_SERVER_HOST` is set.
"""

CHROMA_PORT = "CHROMA_PORT"
"""
.. envvar:: CHROMA_PORT

The port of :envvar:`CHROMA_HOST`. Default: ``8000``.
"""
