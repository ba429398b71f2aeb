from __future__ import annotations

from collections.abc import Iterator

import pytest

from otel_alerting.testing import OtlpReceiver


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r
