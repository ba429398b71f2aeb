"""Real redis-server processes for tests: ``start_redis()``, ``start_cluster()`` and the
``redis_server`` / ``redis_cluster`` fixtures (import ``redis_server_fixture`` and
``redis_cluster_fixture`` into a test module).

Each server listens on a free loopback port (never 6379), keeps nothing on disk
(``--save "" --appendonly no``, its own temporary directory) and is killed at teardown.
A missing redis-server FAILS the test rather than skipping it: CI installs it, and a
silently skipped integration test proves nothing.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = [
    "RedisCluster",
    "RedisServer",
    "flush",
    "redis_cluster_fixture",
    "redis_server_fixture",
    "start_cluster",
    "start_redis",
]

HOST = "127.0.0.1"
START_TIMEOUT = 10.0
CLUSTER_SLOTS = 16384


def _executable(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed (looked on PATH): the Redis tests need a real server; "
            f"install it (apt-get install redis-server, brew install redis)",
            pytrace=False,
        )
    return path


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL this server when the test process dies, even by
    SIGKILL, so that no killed pytest run leaves redis-servers behind (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def command(port: int, *args: str, timeout: float = 2.0) -> bytes:
    """Send one command in RESP and return the raw reply (enough for PING, CLUSTER INFO)."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(b"".join(parts))
        reply = s.recv(65536)
    return reply


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]
    directory: Path
    log: Path
    cluster: bool = False
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return HOST

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


def _wait(server: RedisServer, ready: bytes, *args: str) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    delay = 0.005
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            if ready in command(server.port, *args):
                return True
        except OSError:
            pass
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    return False


def start_redis(*extra: str, cluster: bool = False, attempts: int = 3) -> RedisServer:
    """Start a redis-server on a free port and wait (bounded) until it answers PING."""
    executable = _executable("redis-server")
    problem = ""
    for _ in range(attempts):  # the free port may be taken between probe and bind
        port = _free_port()
        tmp = tempfile.TemporaryDirectory(prefix="otel-alerting-redis-")
        directory = Path(tmp.name)
        log = directory / "redis.log"
        args: list[str] = [
            executable,
            "--port",
            str(port),
            "--bind",
            HOST,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
            "--logfile",
            str(log),
            "--daemonize",
            "no",
        ]
        if cluster:
            args += ["--cluster-enabled", "yes", "--cluster-config-file", str(directory / "nodes.conf")]
        args += list(extra)
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        server = RedisServer(port, process, directory, log, cluster, tmp)
        if _wait(server, b"+PONG", "PING"):
            return server
        problem = server.output()
        server.stop()
    pytest.fail(f"redis-server did not answer PING within {START_TIMEOUT}s: {problem}", pytrace=False)


@dataclass
class RedisCluster:
    """The nodes of a Redis Cluster; ``port`` is the first node's, where clients start."""

    nodes: list[RedisServer]

    @property
    def port(self) -> int:
        return self.nodes[0].port

    @property
    def host(self) -> str:
        return HOST

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def start_cluster(size: int = 3) -> RedisCluster:
    """A Redis Cluster of ``size`` primaries (no replicas) over all 16384 slots.

    ``size=1`` assigns every slot to one node with ``CLUSTER ADDSLOTSRANGE``; more use
    ``redis-cli --cluster create``. Either way a new primary waits about 2 s before it
    declares the cluster ok (redis-server's CLUSTER_WRITABLE_DELAY), so share the
    fixture per module.
    """
    cluster = RedisCluster([])
    try:
        cluster.nodes = [start_redis(cluster=True) for _ in range(size)]
        if size == 1:
            reply = command(cluster.port, "CLUSTER", "ADDSLOTSRANGE", "0", str(CLUSTER_SLOTS - 1))
            if not reply.startswith(b"+OK"):
                pytest.fail(f"CLUSTER ADDSLOTSRANGE failed: {reply!r}", pytrace=False)
        else:
            cli = _executable("redis-cli")
            addresses = [f"{HOST}:{node.port}" for node in cluster.nodes]
            created = subprocess.run(
                [cli, "--cluster", "create", *addresses, "--cluster-yes"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=START_TIMEOUT * 3,
            )
            if created.returncode != 0:
                pytest.fail(
                    f"redis-cli --cluster create failed: {created.stdout[-1000:]}{created.stderr[-1000:]}",
                    pytrace=False,
                )
        for node in cluster.nodes:
            if not _wait(node, b"cluster_state:ok", "CLUSTER", "INFO"):
                pytest.fail(f"cluster node {node.port} did not reach cluster_state:ok: {node.output()}", pytrace=False)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="module", name="redis_server")
def redis_server_fixture() -> Iterator[RedisServer]:
    server = start_redis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", name="redis_cluster")
def redis_cluster_fixture() -> Iterator[RedisCluster]:
    server = start_cluster()
    try:
        yield server
    finally:
        server.stop()


def flush(server: RedisServer | RedisCluster) -> None:
    """Empty every database of a server (or every node of a cluster) between tests."""
    for node in server.nodes if isinstance(server, RedisCluster) else [server]:
        command(node.port, "FLUSHALL")
