"""One resuming connection to the hub (`GET /v1/ws`, subprotocol `affinity.v1`) shared by every
request of a process: subscribe to keys, await their outcomes or get callbacks, publish.

On a dropped socket it reconnects with back-off and subscribes every key again with `after` = the
last seq it saw, so nothing is missed and nothing is delivered twice (docs/delivery.md)."""
import asyncio
import itertools
import json
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import websockets


class HubError(Exception):
    """The hub refused a request (`code` as in docs/protocol.md), or a wait timed out (`timeout`)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


@dataclass(frozen=True)
class Outcome:
    key: str
    seq: int
    id: str
    status: str
    data: Any
    published_at: int

    @property
    def terminal(self) -> bool:
        return self.status != "progress"

    @staticmethod
    def from_envelope(e: dict) -> "Outcome":
        return Outcome(e["key"], int(e["seq"]), e.get("id", ""), e.get("status", "completed"), e.get("data"), int(e.get("publishedAt", 0)))


@dataclass
class _Key:
    token: Optional[str] = None
    last_seq: int = 0
    last_terminal: Optional[Outcome] = None
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)
    waiters: list = field(default_factory=list)          # futures for the next terminal outcome
    callbacks: list = field(default_factory=list)        # (id, callable)
    error: Optional[HubError] = None


class Subscription:
    """A callback registration; `cancel()` stops it (the key stays subscribed for others)."""

    def __init__(self, connection: "HubConnection", key: str, ident: int):
        self._connection, self._key, self._id = connection, key, ident

    def cancel(self) -> None:
        state = self._connection._keys.get(self._key)
        if state:
            state.callbacks = [(i, c) for i, c in state.callbacks if i != self._id]


class HubConnection:
    def __init__(self, hub_url: str, *, token: Optional[str] = None, publisher_key: Optional[str] = None,
                 session: Optional[str] = None, max_backoff: float = 10.0, ping_interval: float = 15.0):
        base = hub_url.rstrip("/")
        self.url = ("wss://" + base[len("https://"):] if base.startswith("https://") else "ws://" + base.removeprefix("http://")) + "/v1/ws"
        self.token, self.publisher_key, self.session = token, publisher_key, session
        self.max_backoff, self.ping_interval = max_backoff, ping_interval
        self._keys: dict[str, _Key] = {}
        self._ws = None
        self._task: Optional[asyncio.Task] = None
        self._closed = False
        self._refs = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self.connects = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> "HubConnection":
        self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        self._closed = True
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    @property
    def connected(self) -> bool:
        return self._ws is not None

    # -- API --------------------------------------------------------------------------------

    async def subscribe(self, key: str, token: Optional[str] = None, timeout: float = 10.0) -> None:
        """Subscribes to `key` and returns once the hub confirmed it (outcomes published from then
        on, and retained ones, will arrive). Raises HubError if the hub refuses it."""
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _Key(token=token)
            if self._ws is not None:
                await self._send_subscribe(key, state)
        elif token:
            state.token = token
        try:
            await asyncio.wait_for(state.confirmed.wait(), timeout)
        except asyncio.TimeoutError:
            raise HubError("timeout", f"the hub did not confirm the subscription to {key} within {timeout} s") from None
        if state.error:
            error, state.error = state.error, None
            self._keys.pop(key, None)
            raise error

    async def outcome(self, key: str, timeout: float, token: Optional[str] = None) -> Outcome:
        """The key's terminal outcome (completed or failed), waiting up to `timeout` seconds."""
        await self.subscribe(key, token=token, timeout=timeout)
        state = self._keys[key]
        if state.last_terminal is not None:
            return state.last_terminal
        future = asyncio.get_running_loop().create_future()
        state.waiters.append(future)
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise HubError("timeout", f"no outcome for {key} within {timeout} s") from None
        finally:
            if future in state.waiters:
                state.waiters.remove(future)

    def on_outcome(self, key: str, callback: Callable[[Outcome], Any], token: Optional[str] = None) -> Subscription:
        """Calls `callback` with every outcome of `key` (progress and terminal), once each, in order."""
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _Key(token=token)
            if self._ws is not None:
                asyncio.get_running_loop().create_task(self._send_subscribe(key, state))
        ident = next(self._ids)
        state.callbacks.append((ident, callback))
        return Subscription(self, key, ident)

    async def unsubscribe(self, key: str) -> None:
        if self._keys.pop(key, None) is not None and self._ws is not None:
            await self._ws.send(json.dumps({"type": "unsubscribe", "key": key}))

    async def publish(self, key: str, status: str, data: Any = None, idempotency_key: Optional[str] = None, timeout: float = 10.0) -> dict:
        """Publishes an outcome over the socket (needs the publisher key); returns the hub's receipt."""
        message = {"type": "publish", "key": key, "status": status, "data": data}
        if idempotency_key:
            message["idempotencyKey"] = idempotency_key
        return await self._request(message, timeout)

    # -- the socket -------------------------------------------------------------------------

    async def _request(self, message: dict, timeout: float) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        while self._ws is None:
            if asyncio.get_running_loop().time() > deadline:
                raise HubError("timeout", "not connected to the hub")
            await asyncio.sleep(0.05)
        ref = next(self._refs)
        future = asyncio.get_running_loop().create_future()
        self._pending[ref] = future
        try:
            await self._ws.send(json.dumps({**message, "ref": ref}))
            return await asyncio.wait_for(future, max(0.0, deadline - asyncio.get_running_loop().time()))
        except asyncio.TimeoutError:
            raise HubError("timeout", f"no answer to {message['type']} within {timeout} s") from None
        finally:
            self._pending.pop(ref, None)

    async def _send_subscribe(self, key: str, state: _Key) -> None:
        message = {"type": "subscribe", "key": key, "after": state.last_seq, "ref": key}
        if self.session:
            message["session"] = self.session
        token = state.token or self.token
        if token:
            message["token"] = token
        state.confirmed.clear()
        if self._ws is not None:
            await self._ws.send(json.dumps(message))

    async def _run(self) -> None:
        failures = 0
        headers = {"Authorization": f"Bearer {self.publisher_key or self.token}"} if (self.publisher_key or self.token) else {}
        while not self._closed:
            try:
                async with websockets.connect(self.url, subprotocols=["affinity.v1"], additional_headers=headers,
                                              ping_interval=self.ping_interval, max_size=None) as ws:
                    self._ws = ws
                    self.connects += 1
                    failures = 0
                    for key, state in list(self._keys.items()):
                        await self._send_subscribe(key, state)
                    async for raw in ws:
                        self._handle(json.loads(raw))
            except asyncio.CancelledError:
                raise
            except Exception:
                pass
            finally:
                self._ws = None
                for future in self._pending.values():
                    if not future.done():
                        future.set_exception(HubError("disconnected", "the connection to the hub closed"))
            if self._closed:
                return
            failures += 1
            await asyncio.sleep(min(self.max_backoff, 0.1 * 2 ** min(failures, 10)) * random.uniform(0.5, 1.0))

    def _handle(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "subscribed":
            state = self._keys.get(message.get("key"))
            if state:
                state.confirmed.set()
        elif kind == "outcome":
            state = self._keys.get(message.get("key"))
            if state is None or int(message["seq"]) <= state.last_seq:
                return  # not ours, or a repeat after a reconnect
            outcome = Outcome.from_envelope(message)
            state.last_seq = outcome.seq
            for _, callback in list(state.callbacks):
                callback(outcome)
            if outcome.terminal:
                state.last_terminal = outcome
                for future in state.waiters:
                    if not future.done():
                        future.set_result(outcome)
                state.waiters.clear()
            if self.session and self._ws is not None:
                asyncio.get_running_loop().create_task(self._ws.send(json.dumps({"type": "ack", "key": outcome.key, "seq": outcome.seq})))
        elif kind in ("published", "unsubscribed", "pong"):
            future = self._pending.get(message.get("ref"))
            if future and not future.done():
                future.set_result(message)
        elif kind == "error":
            error = HubError(message.get("code", "error"), message.get("message", ""))
            future = self._pending.get(message.get("ref"))
            if future and not future.done():
                future.set_exception(error)
                return
            state = self._keys.get(message.get("key"))
            if state:
                state.error = error
                state.confirmed.set()   # wakes subscribe(), which raises
                for f in state.waiters:
                    if not f.done():
                        f.set_exception(error)
