"""Real peers for the instrumentation and end-to-end tests, each of which a test can break
and bring back on the same address: redis-server (alone, with a password or extra
arguments, or as the nodes of a Redis Cluster) that a test kills (SIGKILL) and restarts,
``chroma run`` it stops and starts, an HTTP embeddings stub it makes fail or closes, and
a TCP black hole that accepts and never answers (for timeouts). The HTTP stub is the
suite's one ``HttpReceiver`` answering as an embeddings service; ports and waits come
from ``tests.support`` too.

Everything listens on 127.0.0.1 on a free port (never 6379) and keeps its files in the
directory the test gives it. Every server process dies with the test process, even when
that is SIGKILLed (Linux), so that no interrupted run leaves servers behind. A missing
redis-server, redis-cli or ``chroma`` FAILS the test instead of skipping it: CI installs
them, and a skipped test proves nothing. Every wait is bounded and says what it waited
for, with the end of the server's log.

The module-scoped ``redis_server`` and ``redis_cluster`` fixtures are registered by
importing ``redis_server_fixture`` and ``redis_cluster_fixture`` into a test module.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..support.http import HttpReceiver, Received, Reply
from ..support.ports import HOST, free_port, port_open
from ..support.waiting import wait_until

__all__ = [
    "BlackHole",
    "ChromaServer",
    "EmbeddingsStub",
    "RedisCluster",
    "RedisServer",
    "redis_cluster_fixture",
    "redis_server_fixture",
    "start_cluster",
]

CLUSTER_SLOTS = 16384
CLUSTER_BUS_OFFSET = 10000
REDIS_BIN = Path("/usr/bin")  # the Debian packages' place: found even by a test run whose PATH leaves it out
REDIS_INSTALL = "./scripts/bootstrap installs it (apt-get install redis-server redis-tools, brew install redis)"


def _binary(name: str, *candidates: Path, install: str) -> str:
    """The server's executable, from ``candidates`` or else PATH. A missing one fails the
    test (never skips it): CI installs it, and ``install`` says how."""
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        places = ", ".join([*map(str, candidates), "PATH"])
        message = f"{name} is not installed (looked in {places}): these tests need the real server; {install}"
        pytest.fail(message, pytrace=False)
    return found


def _free_cluster_port() -> int:
    """A free port for a cluster node. The node also listens 10000 above it (the cluster
    bus), so it refuses a port above 55535, which the kernel's ephemeral range (often
    32768-60999) hands out often enough to fail a node all its attempts."""
    for _ in range(100):
        port = free_port()
        if port + CLUSTER_BUS_OFFSET <= 65535 and not _port_taken(port + CLUSTER_BUS_OFFSET):
            return port
    pytest.fail("no free port with a free cluster bus port in 100 tries", pytrace=False)


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def _death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel SIGKILL the server when the test process dies,
    even by SIGKILL (PR_SET_PDEATHSIG, Linux only). prctl is looked up here, in the parent,
    so that the child, forked from a process that may run threads, only calls it. The
    signal follows the thread that spawned the server: spawn from the test's thread."""
    if sys.platform != "linux":
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def die_with_parent() -> None:
        prctl(1, signal.SIGKILL)  # 1 is PR_SET_PDEATHSIG

    return die_with_parent


_DIE_WITH_PARENT = _death_signal()


class _Process:
    """A server process that can be killed and started again with the same command."""

    def __init__(self, command: list[str], log: Path) -> None:
        self.command = command
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_DIE_WITH_PARENT,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None, "the server was never started"
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def end(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def tail(self) -> str:
        """How the process ended, if it did, and the end of its log: what a failed wait shows."""
        code = None if self.process is None else self.process.poll()
        ended = "" if code is None else f"the process exited with {code}; "
        try:
            return ended + self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ended


def _resp(*args: str) -> bytes:
    """One command in RESP, the protocol redis-server reads."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class RedisServer:
    """redis-server on a free port, keeping its log (and a cluster node's nodes.conf) in
    ``directory`` and no data (``--save "" --appendonly no``).

    ``start()`` returns once this process answers; ``kill()`` SIGKILLs it, as a crash
    would, and ``start()`` brings it back on the same port, which its clients know;
    ``stop()`` ends it for good. As a context manager it is started and stopped.
    """

    START_TIMEOUT = 10.0
    PORT_ATTEMPTS = 3

    def __init__(
        self, directory: Path, password: str | None = None, *, cluster: bool = False, extra: Sequence[str] = ()
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.password = password
        self.cluster = cluster
        self.extra = tuple(extra)
        self.port = self._free_port()
        self._binary = _binary("redis-server", REDIS_BIN / "redis-server", install=REDIS_INSTALL)
        self._process = _Process(self._command(), directory / "redis.log")
        self._answered = False

    @property
    def host(self) -> str:
        return HOST

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{HOST}:{self.port}/0"

    def _free_port(self) -> int:
        return _free_cluster_port() if self.cluster else free_port()

    def _command(self) -> list[str]:
        command = [self._binary, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.directory)]
        if self.password:
            command += ["--requirepass", self.password]
        if self.cluster:
            command += ["--cluster-enabled", "yes", "--cluster-config-file", str(self.directory / "nodes.conf")]
        return command + list(self.extra)

    def command(self, *args: str, timeout: float = 2.0) -> bytes:
        """Send one command (after AUTH when the server has a password) and return the raw
        reply: enough for PING, INFO or FLUSHALL, whose replies come in one read."""
        with socket.create_connection((HOST, self.port), timeout=timeout) as s:
            if self.password:
                s.sendall(_resp("AUTH", self.password))
                s.recv(256)
            s.sendall(_resp(*args))
            return s.recv(65536)

    def reply(self, *args: str) -> bytes:
        """``command()``, or b"" while nothing takes connections on the port: for polling."""
        try:
            return self.command(*args)
        except OSError:
            return b""

    def _answers(self) -> bool:
        # INFO's process_id tells this server from another one (another test run's) that
        # bound the port between free_port() and our start: a PING would not.
        return b"process_id:%d\r\n" % self._process.pid in self.reply("INFO", "server")

    def _answers_or_exited(self) -> bool:
        return self._answers() or not self._process.running()

    def start(self) -> RedisServer:
        """Start it and wait (bounded) until it answers. A first start whose server exits
        before answering lost its port to another process: it is tried again on another
        port, ``PORT_ATTEMPTS`` times in all. A restart keeps its port or fails."""
        attempts = 1 if self._answered else self.PORT_ATTEMPTS
        for attempt in range(attempts):
            if attempt:
                self.port = self._free_port()
                self._process = _Process(self._command(), self._process.log)
            self._process.spawn()
            try:
                what = f"redis-server on port {self.port} to answer"
                wait_until(self._answers_or_exited, what, self.START_TIMEOUT, seen=self.log_tail)
            except BaseException:
                self.stop()
                raise
            if self._process.running():
                self._answered = True
                return self
        pytest.fail(f"redis-server exited before answering ({attempts} attempts): {self.log_tail()}", pytrace=False)

    def log_tail(self) -> str:
        return self._process.tail()

    def flush(self) -> None:
        """Empty every database, between tests that share the server."""
        reply = self.command("FLUSHALL")
        assert reply.startswith(b"+OK"), reply

    def kill(self) -> None:
        """SIGKILL, as a crash would; returns once the port refuses connections."""
        self.stop()
        wait_until(lambda: not port_open(self.port), f"port {self.port} to close", 5)

    def stop(self) -> None:
        self._process.end(signal.SIGKILL)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class RedisCluster:
    """The primaries of a Redis Cluster (no replicas); ``port`` is the first node's, where
    clients start."""

    nodes: list[RedisServer]

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        return self.nodes[0].port

    def flush(self) -> None:
        for node in self.nodes:
            node.flush()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _assign_slots(nodes: list[RedisServer]) -> None:
    """All 16384 slots over the nodes: one node takes them with CLUSTER ADDSLOTSRANGE,
    several are joined by ``redis-cli --cluster create`` (which wants three or more)."""
    if len(nodes) == 1:
        reply = nodes[0].command("CLUSTER", "ADDSLOTSRANGE", "0", str(CLUSTER_SLOTS - 1))
        if not reply.startswith(b"+OK"):
            pytest.fail(f"CLUSTER ADDSLOTSRANGE failed: {reply!r}", pytrace=False)
        return
    cli = _binary("redis-cli", REDIS_BIN / "redis-cli", install=REDIS_INSTALL)
    addresses = [f"{HOST}:{node.port}" for node in nodes]
    created = subprocess.run(
        [cli, "--cluster", "create", *addresses, "--cluster-yes"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RedisServer.START_TIMEOUT * 3,
    )
    if created.returncode != 0:
        output = created.stdout[-1000:] + created.stderr[-1000:]
        pytest.fail(f"redis-cli --cluster create failed: {output}", pytrace=False)


def _cluster_ok(node: RedisServer) -> bool:
    return b"cluster_state:ok" in node.reply("CLUSTER", "INFO")


def start_cluster(directory: Path, size: int = 3) -> RedisCluster:
    """A Redis Cluster of ``size`` primaries over all slots, each node in its own folder
    of ``directory``; returns once every node says cluster_state:ok. A new primary waits
    about 2 s before it does (redis-server's CLUSTER_WRITABLE_DELAY): share the cluster."""
    cluster = RedisCluster([])
    try:
        for index in range(size):
            cluster.nodes.append(RedisServer(directory / f"node{index}", cluster=True).start())
        _assign_slots(cluster.nodes)
        for node in cluster.nodes:
            what = f"cluster node {node.port} to reach cluster_state:ok"
            wait_until(functools.partial(_cluster_ok, node), what, RedisServer.START_TIMEOUT, seen=node.log_tail)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="module", name="redis_server")
def redis_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for a test module; each test empties it with ``flush()``."""
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module", name="redis_cluster")
def redis_cluster_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A three-node cluster for a test module (it takes seconds to become ready)."""
    cluster = start_cluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        yield cluster
    finally:
        cluster.stop()


class ChromaServer:
    """``chroma run`` on a free port; ``start()`` returns once the heartbeat answers and
    keeps how long that took in ``start_seconds``."""

    START_TIMEOUT = 60.0

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        binary = _binary("chroma", Path(sys.executable).parent / "chroma", install="pip install chromadb")
        command = [binary, "run", "--path", str(directory / "data"), "--host", HOST, "--port", str(self.port)]
        self._process = _Process(command, directory / "chroma.log")
        self.start_seconds: list[float] = []

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def heartbeat(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def start(self) -> ChromaServer:
        self._process.spawn()
        what = f"chroma heartbeat on port {self.port}"
        took = wait_until(self.heartbeat, what, self.START_TIMEOUT, seen=self._process.tail)
        self.start_seconds.append(took)
        return self

    def stop(self) -> None:
        self._process.end(signal.SIGTERM)
        wait_until(lambda: not port_open(self.port), f"chroma port {self.port} to close", 10)

    def __enter__(self) -> ChromaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self._process.end(signal.SIGKILL)


class EmbeddingsStub(HttpReceiver):
    """An embeddings service: ``GET /health`` and ``POST /v1/embeddings`` (OpenAI's shape).

    ``failing = True`` makes every answer a 503; ``stop()`` closes the port (connection
    refused) and ``start()`` opens it again on the same port.
    """

    DIMENSION = 3

    def __init__(self) -> None:
        super().__init__(respond=self._embeddings, port=free_port())
        self.failing = False

    def _embeddings(self, request: Received) -> Reply:
        if self.failing:
            return _json(503, {"status": "unavailable"} if request.method == "GET" else {"error": "overloaded"})
        if request.method == "GET":
            if request.path.split("?")[0] == "/health":
                return _json(200, {"status": "ok"})
            return _json(404, {"error": "not found"})
        texts = json.loads(request.body or b"{}").get("input", [])
        texts = [texts] if isinstance(texts, str) else texts
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0, 0.5]} for i, t in enumerate(texts)
        ]
        return _json(200, {"object": "list", "data": data})

    def __enter__(self) -> EmbeddingsStub:
        self.start()
        return self


def _json(status: int, payload: object) -> Reply:
    return Reply(status, json.dumps(payload), {"Content-Type": "application/json"})


class BlackHole:
    """Accepts TCP connections and never answers: a hung dependency."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((HOST, 0))
        self._socket.listen(16)
        self.port: int = self._socket.getsockname()[1]
        self._held: list[socket.socket] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name="black-hole", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self._held.append(connection)

    def close(self) -> None:
        self._closed.set()
        try:
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the accept() above
        except OSError:
            pass
        self._socket.close()
        for connection in self._held:
            connection.close()

    def __enter__(self) -> BlackHole:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
