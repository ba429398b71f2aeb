"""An LLM-backend-like service: answers questions with a Redis response cache,
ChromaDB retrieval and an embeddings service over HTTP.

It uses only redis-py, chromadb, httpx and the OpenTelemetry API. Run it under
``opentelemetry-instrument`` with otel-alerting installed, and the built-in rules
watch its cache hit rate, its dependencies and its memory::

    REDIS_URL=redis://127.0.0.1:6379/0 EMBEDDINGS_URL=http://127.0.0.1:8081 \
        opentelemetry-instrument python examples/llm_backend/app.py

Phases: a warm cache serves repeated questions; then a new prompt template
changes every cache key, and the hit rate collapses; then the template settles and
the cache warms up again.
``DEMO_STEP_SECONDS`` sets the length of a step, ``DEMO_STEPS`` the steps per phase.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import time
from typing import Any

# Logging first: importing chromadb takes about a second, and otel-alerting states its
# start-up status line at its first evaluation (one interval after start-up); a handler
# configured after that misses the line.
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-8s %(name)s: %(message)s")
log = logging.getLogger("llm_backend")

import chromadb  # noqa: E402
import httpx  # noqa: E402
import redis  # noqa: E402

STEP = float(os.environ.get("DEMO_STEP_SECONDS", "1"))
STEPS = int(os.environ.get("DEMO_STEPS", "10"))
REQUESTS_PER_STEP = int(os.environ.get("DEMO_REQUESTS_PER_STEP", "40"))
EMBEDDINGS_URL = os.environ.get("EMBEDDINGS_URL", "http://127.0.0.1:8081")

DOCUMENTS = [
    "Redis keeps the cache of generated answers.",
    "ChromaDB stores the document embeddings for retrieval.",
    "The embeddings service turns text into vectors.",
    "OpenTelemetry carries metrics, traces and logs to the collector.",
]
QUESTIONS = [f"question {n}: how does part {n % 4} work?" for n in range(12)]


class RemoteEmbeddings(chromadb.EmbeddingFunction[chromadb.Documents]):
    """Calls the embeddings service; the vectors never leave this process in telemetry."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def __call__(self, input: chromadb.Documents) -> chromadb.Embeddings:
        response = self._client.post(f"{EMBEDDINGS_URL}/embed", json={"input": list(input)})
        response.raise_for_status()
        return [list(map(float, vector)) for vector in response.json()["data"]]

    @staticmethod
    def name() -> str:
        return "remote-embeddings"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> RemoteEmbeddings:
        return RemoteEmbeddings(httpx.Client(timeout=5.0))


def main() -> None:
    cache = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    http = httpx.Client(timeout=5.0)
    store = chromadb.EphemeralClient()
    docs = store.get_or_create_collection("docs", embedding_function=RemoteEmbeddings(http))  # type: ignore[arg-type]
    docs.add(ids=[f"doc{n}" for n in range(len(DOCUMENTS))], documents=DOCUMENTS)
    rng = random.Random(3)

    def answer(question: str, template: str) -> str:
        key = "llm:answer:" + hashlib.sha256(f"{template}|{question}".encode()).hexdigest()[:16]
        cached = cache.get(key)
        if cached is not None:
            return cached.decode()
        found = docs.query(query_texts=[question], n_results=1)
        text = f"{template}: {found['documents'][0][0]}" if found["documents"] else template
        cache.set(key, text, ex=600)
        return text

    phases = (
        ("warm cache", "v1"),
        ("new prompt template: every key changes", None),
        ("the new template settles: answers are cached again", "v3"),
    )
    for phase, template in phases:
        log.info("phase: %s", phase)
        for _ in range(STEPS):
            for _ in range(REQUESTS_PER_STEP):
                # in the second phase each request carries a fresh template version
                version = template or f"v2-{rng.randrange(1_000_000)}"
                answer(rng.choice(QUESTIONS), version)
            time.sleep(STEP)
    log.info("done")


if __name__ == "__main__":
    main()
