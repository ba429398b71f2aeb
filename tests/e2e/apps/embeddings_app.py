"""A service that calls an embeddings service with httpx and never imports
otel_alerting: under opentelemetry-instrument, the plugin's distro, probes and the
httpx instrumentation do the rest.

EMBEDDINGS_BASE is the service's URL; REQUESTS the number of embeddings calls;
RUN_SECONDS how long the process then stays up, so the probe thread runs a few rounds.
"""

import os
import sys
import time

import httpx

print(f"app: chromadb loaded: {'chromadb' in sys.modules}", flush=True)
base = os.environ["EMBEDDINGS_BASE"]
with httpx.Client() as client:
    for i in range(int(os.environ.get("REQUESTS", "5"))):
        response = client.post(f"{base}/v1/embeddings", json={"input": [f"text {i}"], "model": "tiny"})
        response.raise_for_status()
# the process stays up RUN_SECONDS, the time under test: the probe thread runs its rounds meanwhile
time.sleep(float(os.environ.get("RUN_SECONDS", "1")))
print("app: done", flush=True)
