"""collector-config/ checked without a collector: the collector files structurally, the
Prometheus and Alertmanager files with ``promtool`` and ``amtool``, the generated files
against a fresh export, and the Grafana dashboard's queries.

``promtool`` and ``amtool`` are Debian's ``prometheus`` and ``prometheus-alertmanager``
(scripts/bootstrap); a missing one fails these tests, it never skips them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_alerting.rules.prometheus_names import Kind, MetricInfo, NameOptions, metric_name

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "collector-config"
COLLECTOR_FILES = ("otelcol-prometheus-scrape.yaml", "otelcol-remote-write.yaml")
PROMETHEUS_FILES = ("prometheus-scrape.yml", "prometheus-remote-write.yml")

# The keys each component accepts, as far as these files use them. A leaf is ``None``
# (any value). Every component is in the contrib distribution (otelcol-contrib) under this
# name: open-telemetry/opentelemetry-collector-releases
# distributions/otelcol-contrib/manifest.yaml lists the module of each, and the keys are
# from the module's config.schema.yaml:
#   otlp (receiver)        open-telemetry/opentelemetry-collector receiver/otlpreceiver/config.schema.yaml
#   memory_limiter         open-telemetry/opentelemetry-collector processor/memorylimiterprocessor/config.schema.yaml
#                          -> internal/memorylimiter/config.go
#   batch                  open-telemetry/opentelemetry-collector processor/batchprocessor/config.schema.yaml
#   prometheus             open-telemetry/opentelemetry-collector-contrib exporter/prometheusexporter/config.schema.yaml
#   prometheusremotewrite  open-telemetry/opentelemetry-collector-contrib
#                          exporter/prometheusremotewriteexporter/config.schema.yaml
#   otlphttp               open-telemetry/opentelemetry-collector exporter/otlphttpexporter/config.schema.yaml
#   otlp (exporter)        open-telemetry/opentelemetry-collector exporter/otlpexporter/config.schema.yaml
#   debug                  open-telemetry/opentelemetry-collector exporter/debugexporter/config.schema.yaml
# ``endpoint`` and ``tls`` come from the squashed confighttp/configgrpc server and client
# configs; ``enabled`` of resource_to_telemetry_conversion from pkg/resourcetotelemetry.
_TLS_CLIENT: Mapping[str, Any] = {"insecure": None, "ca_file": None, "cert_file": None, "key_file": None}
COMPONENTS: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    "receivers": {
        "otlp": {"protocols": {"grpc": {"endpoint": None}, "http": {"endpoint": None}}},
    },
    "processors": {
        "memory_limiter": {
            "check_interval": None,
            "limit_mib": None,
            "spike_limit_mib": None,
            "limit_percentage": None,
            "spike_limit_percentage": None,
        },
        "batch": {"timeout": None, "send_batch_size": None, "send_batch_max_size": None},
    },
    "exporters": {
        "prometheus": {
            "endpoint": None,
            "namespace": None,
            "metric_expiration": None,
            "send_timestamps": None,
            "add_metric_suffixes": None,
            "resource_to_telemetry_conversion": {"enabled": None},
        },
        "prometheusremotewrite": {
            "endpoint": None,
            "namespace": None,
            "add_metric_suffixes": None,
            "resource_to_telemetry_conversion": {"enabled": None},
            "target_info": {"enabled": None},
            "tls": _TLS_CLIENT,
        },
        "otlphttp": {"endpoint": None, "logs_endpoint": None, "encoding": None, "tls": _TLS_CLIENT},
        "otlp": {"endpoint": None, "tls": _TLS_CLIENT},
        "debug": {"verbosity": None},
    },
}
SIGNALS = ("metrics", "logs", "traces")


def _binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: run ./scripts/bootstrap (apt prometheus, prometheus-alertmanager)")
    return found


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, cwd=cwd)


def _load(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((CONFIG / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def _unknown_keys(value: Any, accepted: Mapping[str, Any] | None, where: str) -> Iterator[str]:
    if accepted is None or not isinstance(value, dict):
        return
    for key, inner in value.items():
        if key not in accepted:
            yield f"{where}.{key}"
        else:
            yield from _unknown_keys(inner, accepted[key], f"{where}.{key}")


# --- the collector files ---------------------------------------------------------------


@pytest.mark.parametrize("name", COLLECTOR_FILES)
def test_every_pipeline_component_is_defined(name: str) -> None:
    config = _load(name)
    pipelines = config["service"]["pipelines"]
    assert pipelines
    for pipeline_id, pipeline in pipelines.items():
        assert pipeline_id.split("/")[0] in SIGNALS, pipeline_id
        assert pipeline["receivers"] and pipeline["exporters"], pipeline_id
        for section in ("receivers", "processors", "exporters"):
            for component in pipeline.get(section, []):
                assert component in config.get(section, {}), f"{pipeline_id}: {section} {component} is not defined"


@pytest.mark.parametrize("name", COLLECTOR_FILES)
def test_every_component_exists_in_contrib_with_keys_it_accepts(name: str) -> None:
    config = _load(name)
    for section in ("receivers", "processors", "exporters"):
        for component_id, body in config[section].items():
            component_type = component_id.split("/")[0]
            assert component_type in COMPONENTS[section], f"{section} {component_type} is not in the list"
            accepted = COMPONENTS[section][component_type]
            assert list(_unknown_keys(body or {}, accepted, component_id)) == []


@pytest.mark.parametrize("name", COLLECTOR_FILES)
def test_the_pipelines_carry_every_signal_through_the_limiter_then_the_batch(name: str) -> None:
    pipelines = _load(name)["service"]["pipelines"]
    assert set(pipelines) == set(SIGNALS)
    for pipeline in pipelines.values():
        assert pipeline["receivers"] == ["otlp"]
        assert pipeline["processors"] == ["memory_limiter", "batch"]
    receiver = _load(name)["receivers"]["otlp"]["protocols"]
    assert set(receiver) == {"grpc", "http"}


def test_each_variant_exports_metrics_to_its_prometheus_exporter() -> None:
    assert _load("otelcol-prometheus-scrape.yaml")["service"]["pipelines"]["metrics"]["exporters"] == ["prometheus"]
    remote = _load("otelcol-remote-write.yaml")["service"]["pipelines"]["metrics"]["exporters"]
    assert remote == ["prometheusremotewrite"]


def test_every_collector_file_is_commented() -> None:
    for name in COLLECTOR_FILES:
        text = (CONFIG / name).read_text()
        assert text.startswith("#"), name
        for component in ("otlp:", "memory_limiter:", "batch:", "otlphttp/logs:", "otlp/traces:"):
            block = text[: text.index(component)].rstrip().splitlines()
            assert block[-1].lstrip().startswith("#"), f"{name}: {component} has no comment above it"


# --- the Prometheus and Alertmanager files ----------------------------------------------


@pytest.mark.parametrize("name", PROMETHEUS_FILES)
def test_promtool_checks_each_prometheus_yml(name: str) -> None:
    done = _run([_binary("promtool"), "check", "config", str(CONFIG / name)], CONFIG)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rules.yml" in done.stdout  # the rule file is found and checked with it


def test_promtool_checks_the_rules() -> None:
    done = _run([_binary("promtool"), "check", "rules", str(CONFIG / "rules.yml")], CONFIG)
    assert done.returncode == 0, done.stdout + done.stderr


def test_amtool_checks_the_alertmanager_yml() -> None:
    done = _run([_binary("amtool"), "check-config", str(CONFIG / "alertmanager.yml")], CONFIG)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_generated_files_match_a_fresh_export(tmp_path: Path) -> None:
    """scripts/collector-config regenerates them; run it when this fails."""
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    (copy / "collector-config").mkdir()
    shutil.copy(ROOT / "scripts" / "collector-config", copy / "scripts" / "collector-config")
    (copy / "otel_alerting").symlink_to(ROOT / "otel_alerting")
    done = subprocess.run(
        ["bash", str(copy / "scripts" / "collector-config")],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable},
    )
    assert done.returncode == 0, done.stderr
    for name in ("rules.yml", "alertmanager.yml"):
        fresh = (copy / "collector-config" / name).read_text()
        assert (CONFIG / name).read_text() == fresh, f"collector-config/{name} is stale: run scripts/collector-config"


# --- the Grafana dashboard --------------------------------------------------------------

# Prometheus's own series for its alerting rules: the dashboard shows the exported rules too.
PROMETHEUS_SERIES = frozenset({"ALERTS"})
_KEYWORDS = frozenset({"and", "or", "unless", "by", "without", "on", "ignoring", "bool", "offset", "inf", "nan"})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_BRACES = re.compile(r"\{[^}]*\}|\[[^\]]*\]")
_IDENTIFIER = re.compile(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")


def _metrics_read(query: str) -> set[str]:
    """The metric names a PromQL query selects: identifiers that are not functions,
    keywords or label names (grouping clauses, matchers and ranges are removed first)."""
    bare = _BRACES.sub(" ", _GROUPING.sub(" ", _STRING.sub('""', query)))
    return {
        match.group(1) for match in _IDENTIFIER.finditer(bare) if not match.group(2) and match.group(1) not in _KEYWORDS
    }


def _recorded_names() -> set[str]:
    """Every metric of docs/metrics.md's table under the names the Collector's exporters
    give it (collector-config/ reads through them: unit suffixes, ``_total``, ``_ratio``)."""
    options = NameOptions(ratio_suffix=True)
    names: set[str] = set()
    row = re.compile(r"^\| `([^`]+)` \| ([^|]+) \| `([^`]*)` \|", re.MULTILINE)
    for name, instrument, unit in row.findall((ROOT / "docs" / "metrics.md").read_text()):
        kind: Kind = (
            "histogram"
            if "histogram" in instrument
            else "counter"
            if "counter" in instrument and "up-down" not in instrument
            else "gauge"
        )
        exposed = metric_name(name, MetricInfo(kind, unit), options)
        names.update({exposed + "_bucket", exposed + "_count", exposed + "_sum"} if kind == "histogram" else {exposed})
    assert len(names) > 20  # the table was read
    return names


def _dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads((CONFIG / "grafana-dashboard.json").read_text())
    queries = [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]
    assert queries
    return queries


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    queries = _dashboard_queries()
    # the parser that reads imported Prometheus rule files, and then Prometheus's own
    import promql_parser

    for title, expr in queries:
        try:
            promql_parser.parse(expr)
        except ValueError as exc:
            raise AssertionError(f"{title}: {expr}: {exc}") from None
    rules = [{"record": f"dashboard:query:{index}", "expr": expr} for index, (_, expr) in enumerate(queries)]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = _run([_binary("promtool"), "check", "rules", str(path)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout


def test_every_dashboard_query_reads_metrics_the_package_records() -> None:
    recorded = _recorded_names() | PROMETHEUS_SERIES
    for title, expr in _dashboard_queries():
        read = _metrics_read(expr)
        assert read, f"{title}: no metric found in {expr}"
        assert read <= recorded, f"{title}: {sorted(read - recorded)} is not a metric the package records"


def test_the_dashboard_covers_cache_dependencies_memory_and_alert_severity() -> None:
    read = {name for _, expr in _dashboard_queries() for name in _metrics_read(expr)}
    for needed in (
        "otel_alerting_cache_requests_total",
        "otel_alerting_dependency_up_ratio",
        "otel_alerting_dependency_downtime_seconds",
        "otel_alerting_memory_utilization_ratio",
        "otel_alerting_alerts",
    ):
        assert needed in read
    assert any("otel_alerting_alert_severity" in expr for _, expr in _dashboard_queries())


@pytest.mark.parametrize(
    ("query", "metrics"),
    [
        ('sum by (a_b) (rate(x_total{c="d e"}[5m])) / on(a_b) y', {"x_total", "y"}),
        ("histogram_quantile(0.95, sum by (le) (rate(h_bucket[1m])))", {"h_bucket"}),
        ('count by (severity) (ALERTS{alertstate="firing"}) > bool 0', {"ALERTS"}),
    ],
)
def test_the_metric_finder(query: str, metrics: set[str]) -> None:
    assert _metrics_read(query) == metrics
