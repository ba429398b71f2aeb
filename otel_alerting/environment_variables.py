"""The ``OTEL_PYTHON_ALERTING_*`` names, registered under ``opentelemetry_environment_variables``
so each one is also an ``opentelemetry-instrument`` flag (``--alerting_interval 500``).
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

``reader`` (default): a second metric reader with its own aggregation and timer.
``export``: one aggregation; the alerting reader evaluates and forwards the same
data to the exporters named in ``OTEL_PYTHON_ALERTING_EXPORTERS``.
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

OTEL_PYTHON_ALERTING_QUEUE_SIZE = "OTEL_PYTHON_ALERTING_QUEUE_SIZE"
"""
.. envvar:: OTEL_PYTHON_ALERTING_QUEUE_SIZE

Notifications each channel may hold before the lowest severities are dropped. Default: ``1000``.
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

OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES = "OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES"
"""
.. envvar:: OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES

``false`` stops adding ``otel_alerting.cache.result`` (and ``.hits``/``.misses``) to the
spans of opentelemetry-instrumentation-redis; the metric is counted either way. Each
attribute is one SDK ``set_attribute``, about 1 µs on a sampled span. Default: ``true``.
"""
