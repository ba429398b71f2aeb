"""The state in Redis (``redis://[:password@]host:port/db``), for processes on several
hosts: the same records as the SQLite file, under one key prefix.

Keys (``otel-alerting:`` by default): ``meta`` (the schema's name and version); one
hash ``alerts:<holder>`` of alert records per process (fingerprint -> record), and the
set ``alert-holders`` of the processes that have one; the silences in the hash
``silence-log`` (id -> record), merged by id and ``updated_at`` in one script, each
change numbered by the counter ``silence-log:count`` in the sorted set
``silence-log:seq`` (so that a process reads only what changed since its last read);
the hash ``nflog`` (field ``fingerprint NUL receiver``) with two indexes of the log,
``nflog:at`` (a sorted set by time, for its bounds) and ``firing`` (a set of the entries
told FIRING, for the search for orphans); for the shared notification log ``holders``
(holder -> heartbeat: ``expires``, and ``stopped`` with ``stopped_at``, its last heartbeat,
once it stopped cleanly) and one hash ``held:<holder>`` per process (fingerprint ->
severity). A process writes only its own alert records, and deletes another's record of
an alert it writes only once that process holds no live lease (its record is stale). A
write is one MULTI/EXEC; a claim or a search for orphans reads under WATCH and writes in
MULTI/EXEC, retried when another process wrote in between. ``redis`` (the ``redis`` extra) is imported here only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..notify.dedup import Claim, Lease, LogRecord, decide, episode_start, granted
from ..secrets import redact_location, scrub
from .model import Changes, NotificationLogKey, Record, SavedState, furthest, silence_stamp
from .store import StateError

__all__ = ["SCHEMA", "SCHEMA_VERSION", "RedisStore"]

SCHEMA = "otel-alerting-state"
SCHEMA_VERSION = 1

#: the longest time between two searches of the whole log for orphans
_FULL_SEARCH_S = 300.0

#: a claim retried this often when other processes keep writing the log in between
_RETRIES = 50

_T = TypeVar("_T")

#: KEYS: the silences, their change numbers, the counter; ARGV: id, updated_at, record, ...
#: A version older than the one saved (another process changed it since) is left out.
_MERGE_SILENCES = """
for i = 1, #ARGV, 3 do
  local id, updated = ARGV[i], tonumber(ARGV[i + 1])
  local old = redis.call('HGET', KEYS[1], id)
  local newer = true
  if old then
    local saved = cjson.decode(old)
    local stamp = saved['updated_at']
    if stamp == nil or stamp == cjson.null then stamp = saved['starts_at'] end
    if type(stamp) == 'number' and stamp > updated then newer = false end
  end
  if newer then
    redis.call('HSET', KEYS[1], id, ARGV[i + 2])
    redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), id)
  end
end
return 0
"""


class RedisStore:
    def __init__(self, url: str, *, prefix: str = "otel-alerting:", timeout: float = 1.0) -> None:
        """Connect to ``url`` and check that its keys are ours; StateError if not (the
        message holds no password)."""
        self.description = redact_location(url)
        self._url = url
        self._prefix = prefix
        self._timeout = timeout
        self._lock = threading.Lock()
        try:
            import redis
        except ImportError:
            raise StateError(
                f"{self.description} needs the redis package: pip install 'otel-alerting[redis]'"
            ) from None
        self._redis = redis
        self._client: Any = None
        #: the search for orphans reads the whole log only from then on (see ``orphans``)
        self._next_search = 0.0
        self._call(self._check_schema)

    def _key(self, name: str) -> str:
        return self._prefix + name

    def _connection(self) -> Any:
        if self._client is None:
            self._client = self._redis.Redis.from_url(
                self._url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout
            )
        return self._client

    def _call(self, work: Callable[[Any], _T]) -> _T:
        """``work`` with the client; a Redis or data error becomes a StateError."""
        with self._lock:
            try:
                return work(self._connection())
            except StateError:
                raise
            except (self._redis.RedisError, OSError, ValueError, TypeError) as exc:
                message = scrub(f"{type(exc).__name__}: {exc}", [self._url, urlsplit(self._url).password])
                raise StateError(f"cannot use {self.description}: {message}") from None

    def _check_schema(self, client: Any) -> None:
        meta = {k.decode(): v.decode() for k, v in client.hgetall(self._key("meta")).items()}
        if not meta:
            client.hsetnx(self._key("meta"), "schema", SCHEMA)
            client.hsetnx(self._key("meta"), "version", str(SCHEMA_VERSION))
            meta = {k.decode(): v.decode() for k, v in client.hgetall(self._key("meta")).items()}
        if meta.get("schema") != SCHEMA:
            raise StateError(f"{self.description}: the key {self._key('meta')} belongs to another program")
        if meta.get("version") != str(SCHEMA_VERSION):
            raise StateError(
                f"{self.description} holds otel-alerting state of version {meta.get('version')!r}; "
                f"this version reads {SCHEMA_VERSION}"
            )

    # --- the StateStore ----------------------------------------------------------------

    def load(self) -> SavedState:
        def read(client: Any) -> SavedState:
            rows: dict[str, list[Record]] = {}
            for holder in sorted(h.decode() for h in client.smembers(self._key("alert-holders"))):
                for fp, raw in client.hgetall(self._key(f"alerts:{holder}")).items():
                    rows.setdefault(fp.decode(), []).append(_record(raw))
            alerts = {fp: furthest(records) for fp, records in rows.items()}
            seq = int(client.get(self._key("silence-log:count")) or 0)
            silences = {k.decode(): _record(v) for k, v in client.hgetall(self._key("silence-log")).items()}
            nflog = {_log_key(k): _record(v) for k, v in client.hgetall(self._key("nflog")).items()}
            return SavedState(alerts, silences, nflog, seq)

        return self._call(read)

    def save(self, changes: Changes) -> None:
        if not changes:
            return

        def write(client: Any) -> None:
            touched = [*changes.alerts, *changes.removed_alerts]
            # the records of these alerts kept by processes that no longer speak for them
            stale = self._stale_holders(client, changes.holder, changes.at) if touched else []
            pipe = client.pipeline(transaction=True)
            own = self._key(f"alerts:{changes.holder}")
            if changes.alerts:
                pipe.hset(own, mapping={fp: _text(r) for fp, r in changes.alerts.items()})
                pipe.sadd(self._key("alert-holders"), changes.holder)
            if changes.removed_alerts:
                pipe.hdel(own, *changes.removed_alerts)
            for holder in stale:
                pipe.hdel(self._key(f"alerts:{holder}"), *touched)
            if changes.silences:
                merged: list[str | float] = []
                for silence_id, record in changes.silences.items():
                    merged += [silence_id, repr(max(silence_stamp(record), -1e300)), _text(record)]
                keys = [self._key("silence-log"), self._key("silence-log:seq"), self._key("silence-log:count")]
                pipe.eval(_MERGE_SILENCES, len(keys), *keys, *merged)
            if changes.removed_silences:
                pipe.hdel(self._key("silence-log"), *changes.removed_silences)
                pipe.zrem(self._key("silence-log:seq"), *changes.removed_silences)
            if changes.nflog:
                self._log_entries(pipe, {_field(k): r for k, r in changes.nflog.items()})
            if changes.removed_nflog:
                self._drop_entries(pipe, list(map(_field, changes.removed_nflog)))
            pipe.execute()

        self._call(write)

    def silences_since(self, seq: int) -> tuple[dict[str, Record], int]:
        def read(client: Any) -> tuple[dict[str, Record], int]:
            latest = int(client.get(self._key("silence-log:count")) or 0)
            if latest == seq:
                return {}, latest
            # read after the count: a change made in between is read now and again next time
            ids = [i.decode() for i in client.zrangebyscore(self._key("silence-log:seq"), f"({seq}", "+inf")]
            raws = client.hmget(self._key("silence-log"), ids) if ids else []
            return {i: _record(raw) for i, raw in zip(ids, raws, strict=True) if raw is not None}, latest

        return self._call(read)

    def _stale_holders(self, client: Any, holder: str, now: float) -> list[str]:
        """The processes other than ``holder`` that keep alert records and hold no live lease."""
        live = {
            h.decode()
            for h, raw in client.hgetall(self._key("holders")).items()
            if float((r := _record(raw)).get("expires", 0.0)) > now and not r.get("stopped")
        }
        members = (h.decode() for h in client.smembers(self._key("alert-holders")))
        return [h for h in members if h != holder and h not in live]

    def after_fork(self) -> None:
        # the parent's sockets stay the parent's: the child connects on first use
        self._lock = threading.Lock()
        self._client = None

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                try:
                    self._client.close()
                finally:
                    self._client = None

    # --- the shared notification log (see otel_alerting.notify.dedup) ----------------

    def hold(self, holder: str, expires: float, held: Mapping[str, int], released: Collection[str]) -> None:
        def write(client: Any) -> None:
            pipe = client.pipeline(transaction=True)
            pipe.hset(self._key("holders"), holder, json.dumps({"expires": expires, "stopped": False}))
            if held:
                pipe.hset(self._key(f"held:{holder}"), mapping=dict(held))
            if released:
                pipe.hdel(self._key(f"held:{holder}"), *released)
            if held:
                # a live process speaks for these alerts now: the leases that stopped processes
                # left on them would keep them from the search for orphans if this one crashed
                for other, raw in client.hgetall(self._key("holders")).items():
                    if other.decode() != holder and _record(raw).get("stopped"):
                        pipe.hdel(self._key(f"held:{other.decode()}"), *held)
            pipe.execute()

        self._call(write)

    def claim(self, holder: str, now: float, claims: Sequence[Claim]) -> list[float | bool | None]:
        fields = [_field((c.fingerprint, c.receiver)) for c in claims]
        fingerprints = sorted({c.fingerprint for c in claims})

        def attempt(pipe: Any) -> list[float | bool | None] | None:
            entries = pipe.hmget(self._key("nflog"), fields)
            leases = self._leases(pipe, now, fingerprints, exclude=holder)
            answers: list[float | bool | None] = []
            writes: dict[str, str] = {}
            for c, name, raw in zip(claims, fields, entries, strict=True):
                entry = None if raw is None else _record(raw)
                if name in writes:  # a second claim of one (alert, receiver) in one call
                    entry = _record(writes[name])
                if not decide(c, entry, leases.get(c.fingerprint, []), now):
                    answers.append(False)
                    continue
                writes[name] = _text(granted(c, entry))
                answers.append(episode_start(entry))
            pipe.multi()
            if writes:
                self._log_entries(pipe, {name: _record(text) for name, text in writes.items()})
            return answers

        return self._call(lambda client: self._watched(client, attempt))

    def orphans(self, now: float, retention: float, limit: int, since: float = 0.0) -> list[tuple[str, str, LogRecord]]:
        def attempt(pipe: Any) -> list[tuple[str, str, LogRecord]]:
            heartbeats = {h.decode(): _record(raw) for h, raw in pipe.hgetall(self._key("holders")).items()}
            # Orphans come from holders that stopped renewing: the log is searched when one
            # has expired since the last search, and every _FULL_SEARCH_S in any case (an
            # entry may be left firing with no lease at all: a RESOLVED its channel does
            # not want). Reading the whole index costs ~60 ms at 10,000 alerts.
            expired = [
                h for h, r in heartbeats.items() if float(r.get("expires", 0.0)) <= now and not r.get("searched")
            ]
            search = bool(expired) or now >= self._next_search
            firing = [_log_key(raw) for raw in pipe.smembers(self._key("firing"))] if search else []
            leases = self._leases(pipe, now, sorted({fp for fp, _ in firing}), exclude=None, stopped_since=since)
            orphaned = [key for key in firing if not leases.get(key[0])]
            found: list[tuple[str, str, LogRecord]] = []
            if orphaned:
                raw_entries = pipe.hmget(self._key("nflog"), [_field(k) for k in orphaned])
                found = [(fp, receiver, _record(raw)) for (fp, receiver), raw in zip(orphaned, raw_entries) if raw]
            # bounds: what is not firing goes after the retention, then the oldest past the limit
            still = {_field(k) for k in firing} - {_field(k) for k in orphaned}
            old = [f.decode() for f in pipe.zrangebyscore(self._key("nflog:at"), "-inf", f"({now - retention}")]
            gone = [f for f in old if f not in still]
            excess = pipe.zcard(self._key("nflog:at")) - len(gone) - limit
            if excess > 0:
                going = set(gone)
                oldest = [f.decode() for f in pipe.zrange(self._key("nflog:at"), 0, excess + len(gone) - 1)]
                gone += [f for f in oldest if f not in going][:excess]
            dead = [h for h, r in heartbeats.items() if float(r.get("expires", 0.0)) < now - retention]
            # resolved for the processes that held them: their records of these alerts are stale
            stale = self._stale_holders(pipe, "", now) if found else []
            pipe.multi()
            for holder in stale:
                pipe.hdel(self._key(f"alerts:{holder}"), *{fp for fp, _, _ in found})
            searched = {h: json.dumps({**heartbeats[h], "searched": True}) for h in expired if h not in dead}
            if searched:  # a holder that renews again is searched for again once it expires
                pipe.hset(self._key("holders"), mapping=searched)
            if found:
                self._log_entries(
                    pipe,
                    {
                        _field((fp, receiver)): {"status": "RESOLVED", "severity": entry.get("severity"), "at": now}
                        for fp, receiver, entry in found
                    },
                )
            if gone:
                self._drop_entries(pipe, gone)
            if dead:
                pipe.hdel(self._key("holders"), *dead)
                pipe.delete(*(self._key(f"held:{h}") for h in dead))
                pipe.delete(*(self._key(f"alerts:{h}") for h in dead))
                pipe.srem(self._key("alert-holders"), *dead)
            if search:
                self._next_search = now + _FULL_SEARCH_S
            return found

        return self._call(lambda client: self._watched(client, attempt))

    def _log_entries(self, pipe: Any, entries: Mapping[str, Record]) -> None:
        """Queue writing log entries (by field) with their indexes: the time of each,
        and the set of those told FIRING."""
        pipe.hset(self._key("nflog"), mapping={name: _text(r) for name, r in entries.items()})
        pipe.zadd(self._key("nflog:at"), {name: float(r.get("at", 0.0)) for name, r in entries.items()})
        firing = [name for name, r in entries.items() if r.get("status") == "FIRING"]
        other = [name for name, r in entries.items() if r.get("status") != "FIRING"]
        if firing:
            pipe.sadd(self._key("firing"), *firing)
        if other:
            pipe.srem(self._key("firing"), *other)

    def _drop_entries(self, pipe: Any, fields: Sequence[str]) -> None:
        pipe.hdel(self._key("nflog"), *fields)
        pipe.zrem(self._key("nflog:at"), *fields)
        pipe.srem(self._key("firing"), *fields)

    def stop(self, holder: str, at: float) -> None:
        def write(client: Any) -> None:
            raw = client.hget(self._key("holders"), holder)
            if raw is not None:
                record = {**_record(raw), "stopped": True, "stopped_at": at}
                client.hset(self._key("holders"), holder, json.dumps(record))

        self._call(write)

    def _leases(
        self,
        pipe: Any,
        now: float,
        fingerprints: Sequence[str],
        exclude: str | None,
        stopped_since: float | None = None,
    ) -> dict[str, list[Lease]]:
        """By fingerprint: the live leases on it of every holder but ``exclude``; with
        ``stopped_since``, also those of the holders that stopped cleanly after it (see
        SharedLog.orphans)."""
        leases: dict[str, list[Lease]] = {}
        if not fingerprints:
            return leases
        for raw_holder, raw in pipe.hgetall(self._key("holders")).items():
            holder = raw_holder.decode()
            heartbeat = _record(raw)
            stopped = bool(heartbeat.get("stopped"))
            kept = stopped_since is not None and stopped and float(heartbeat.get("stopped_at", 0.0)) > stopped_since
            if holder == exclude or (float(heartbeat.get("expires", 0.0)) <= now and not kept):
                continue
            for fp, severity in zip(fingerprints, pipe.hmget(self._key(f"held:{holder}"), fingerprints), strict=True):
                if severity is not None:
                    leases.setdefault(fp, []).append(Lease(int(severity), stopped))
        return leases

    def _watched(self, client: Any, attempt: Callable[[Any], _T | None]) -> _T:
        """``attempt`` reads under WATCH (of the log and the heartbeats), queues its
        writes after ``pipe.multi()``; run again when another process wrote meanwhile."""
        for _ in range(_RETRIES):
            with client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(self._key("nflog"), self._key("holders"), self._key("firing"))
                    result = attempt(pipe)
                    pipe.execute()
                except self._redis.WatchError:
                    continue
                if result is not None:
                    return result
        raise StateError(f"{self.description}: the notification log kept changing ({_RETRIES} attempts)")


def _field(key: NotificationLogKey) -> str:
    return f"{key[0]}\x00{key[1]}"


def _log_key(raw: bytes) -> NotificationLogKey:
    fp, _, receiver = raw.decode().partition("\x00")
    return fp, receiver


def _text(record: Record) -> str:
    return json.dumps(record, separators=(",", ":"), allow_nan=False)


def _record(raw: bytes | str) -> dict[str, Any]:
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError(f"a saved record is a {type(value).__name__}, not an object")
    return value
