"""Instrumentation the plugin adds: Redis cache hit/miss, dependency health probes,
ChromaDB operations, memory pressure. Each part is a ``BaseInstrumentor`` registered
under ``opentelemetry_instrumentor`` (disable it with OTEL_PYTHON_DISABLED_INSTRUMENTATIONS)
and imports its library lazily."""
