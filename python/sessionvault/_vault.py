"""What the Telethon and Pyrogram adapters share: an agent started on first use, and a mirror of
the stored session (everything but the peer cache) kept equal to what the vault holds."""
import asyncio
import base64
import os
import threading

from .agent import RESTART_CODES, Agent, ClosedError, LeaseLostError, VaultError


class _Hidden:
    """The passphrase, kept only to start the agent again after close(); never shown."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return "<hidden>"


def b64(key):
    return None if not key else base64.b64encode(bytes(key)).decode("ascii")


def unb64(text):
    return None if not text else base64.b64decode(text)


def address(host, port):
    """An endpoint as (ipv4, ipv6): hosts with ':' are IPv6."""
    endpoint = None if not host else {"host": host, "port": port}
    return (None, endpoint) if host and ":" in host else (endpoint, None)


def data_center(dc_id, ipv4=None, ipv6=None, auth_key=None):
    return {"id": dc_id, "media_only": False, "ipv4": ipv4, "ipv6": ipv6, "auth_key": auth_key,
            "temporary_auth_key": None}


class LeaseAware:
    """The lease-loss surface that the Telethon session and the Pyrogram storage share; the class
    that mixes it in keeps its VaultHandle in self._vault."""

    @property
    def on_lease_lost(self):
        return self._vault.on_lease_lost

    @on_lease_lost.setter
    def on_lease_lost(self, handler):
        self._vault.on_lease_lost = handler

    @property
    def lease_lost(self):
        """The LeaseLostError once the PostgreSQL lease is lost, else None."""
        return self._vault.lease_lost


class VaultHandle:
    """The agent of one adapter, started by ``agent()`` and again (with the same options) after an
    error that ended it, and after close() when ``reopen`` (Telethon reconnects a closed session;
    Pyrogram calls open() again). ``dcs``, ``user``, ``state``, ``channels``, ``api_id``,
    ``test_mode``, ``takeout_id`` and ``exists`` mirror the stored session.

    A lost PostgreSQL lease (docs/LEASES.md) sets ``lease_lost`` and calls ``on_lease_lost(error)``
    once: on the event loop the adapter was last used from while that loop runs (an awaitable it
    returns runs there as a task), else on a new thread; never on the agent's reader thread, so the
    handler may close the session. From then on ``refuse_if_lost()`` and every request raise
    LeaseLostError and no new agent is started, until ``agent()`` is called again (an explicit open)."""

    def __init__(self, location, passphrase=None, reopen=True, on_lease_lost=None, **options):
        self.location = os.fspath(location)
        if isinstance(passphrase, str):
            passphrase = passphrase.encode("utf-8")
        self._passphrase = None if passphrase is None else _Hidden(bytes(passphrase))
        self._options, self._reopen, self._closed, self._agent = dict(options), reopen, False, None
        self._on_lease_lost, self.lease_lost, self._loop, self._generation = on_lease_lost, None, None, 0
        self._lost_lock, self._tasks = threading.Lock(), set()
        self._mirror(None)

    def __repr__(self):
        return "<sessionvault VaultHandle %r>" % (self.location,)

    def agent(self):
        """The running agent, started when there is none (a new one after a lost lease)."""
        self.note_loop()
        if self.lease_lost is not None:
            self._end_agent()
            with self._lost_lock:
                self.lease_lost, self._generation = None, self._generation + 1
        self._closed = False
        return self._live()

    # A lost lease

    @property
    def on_lease_lost(self):
        return self._on_lease_lost

    @on_lease_lost.setter
    def on_lease_lost(self, handler):
        """A handler set after the loss is called at once."""
        self._on_lease_lost = handler
        if handler is not None and self.lease_lost is not None:
            self._dispatch(handler, self.lease_lost)

    def note_loop(self):
        """Remembers the running event loop, if any: the handler runs there."""
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            pass

    def refuse_if_lost(self):
        """Raises LeaseLostError once the lease is lost (a new exception each time)."""
        lost = self.lease_lost
        if lost is not None:
            raise LeaseLostError(str(lost), lost.code, lost.exit_status)

    def _lost(self, error, generation):
        """The agent's reader thread (its event), or a request answered with ``lease-lost``."""
        with self._lost_lock:
            if generation != self._generation or self.lease_lost is not None:
                return
            self.lease_lost = error
        if self._on_lease_lost is not None:
            self._dispatch(self._on_lease_lost, error)

    def _dispatch(self, handler, error):
        loop = self._loop
        if loop is not None and loop.is_running():
            try:
                loop.call_soon_threadsafe(self._run_on_loop, handler, error)
                return
            except RuntimeError:  # closed meanwhile
                pass
        threading.Thread(target=self._run_on_thread, args=(handler, error), name="sessionvault-lease-lost",
                         daemon=True).start()

    def _run_on_loop(self, handler, error):
        result = handler(error)
        if hasattr(result, "__await__"):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)  # kept until done (the loop holds tasks weakly)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _run_on_thread(handler, error):
        result = handler(error)
        if asyncio.iscoroutine(result):
            asyncio.run(result)

    def _live(self):
        self.refuse_if_lost()
        if self._closed and not self._reopen:
            raise ClosedError("the vault %s was closed" % self.location, exit_status=74)
        if self._agent is None or self._agent.closed:
            generation = self._generation
            agent = Agent(self.location, self._passphrase and self._passphrase.value,
                          on_lease_lost=lambda error: self._lost(error, generation), **self._options)
            try:
                self._mirror(agent.load()["session"])
            except BaseException:
                agent.close()
                raise
            self._agent = agent
        return self._agent

    def _mirror(self, session):
        self.exists = session is not None
        session = session or {}
        self.dcs = {(dc["id"], dc["media_only"]): dc for dc in session.get("data_centers") or []}
        self.user = session.get("user")
        state = session.get("update_state")
        self.state = None if state is None else {k: state[k] for k in ("pts", "qts", "date", "seq")}
        self.channels = {c["channel_id"]: c["pts"] for c in (state or {}).get("channels") or []}
        self.api_id, self.takeout_id = session.get("api_id"), session.get("takeout_id")
        self.test_mode = session.get("test_mode") if self.exists else None

    def call(self, method, *args):
        self.note_loop()
        generation, agent = self._generation, self._live()
        try:
            return getattr(agent, method)(*args)
        except VaultError as error:
            if isinstance(error, LeaseLostError):
                self._lost(error, generation)  # answered before the event arrived: the same handling
            elif error.code in RESTART_CODES:
                try:
                    agent.close()
                except VaultError:
                    pass
            raise

    def write(self, changes):
        """One durable transaction; the mirror follows only when it succeeded."""
        self.call("write", changes)
        if "data_centers" in changes:
            if changes["data_centers"].get("exclusive"):
                self.dcs = {}
            for dc in changes["data_centers"].get("upsert", ()):
                self.dcs[(dc["id"], dc["media_only"])] = dc
        if "update_state" in changes:
            self.state = dict(changes["update_state"])
        if "channels" in changes:
            self.state = self.state or {"pts": 0, "qts": 0, "date": 0, "seq": 0}
            self.channels.update((c["channel_id"], c["pts"]) for c in changes["channels"].get("upsert", ()))
            for channel_id in changes["channels"].get("delete", ()):
                self.channels.pop(channel_id, None)
        for name in ("user", "api_id", "test_mode", "takeout_id"):
            if name in changes:
                setattr(self, name, changes[name])
        if set(changes) - {"peers"}:
            self.exists = True
            self.test_mode = bool(self.test_mode)

    def account_state(self):
        """The account's update state; an all-zero one (what the vault makes when only channel
        states were given, and what deleting it writes) counts as none."""
        return self.state if self.state and any(self.state.values()) else None

    def current_dc(self):
        """The user's home DC if it has a key, else the lowest non-media DC with a key, else the
        lowest non-media DC (None when there is none)."""
        self.note_loop()
        main = sorted((dc for dc in self.dcs.values() if not dc["media_only"]), key=lambda dc: dc["id"])
        home = [dc for dc in main if self.user and dc["id"] == self.user["dc_id"] and dc["auth_key"]]
        keyed = [dc for dc in main if dc["auth_key"]]
        return (home or keyed or main or [None])[0]

    def user_changes(self, user_id, default_dc, **updates):
        """``{"user": …}`` for this id, keeping what is stored of the same user (``default_dc``
        for a new one) except ``updates``; {} when the vault already holds exactly that."""
        if user_id is None:
            return {} if self.user is None else {"user": None}
        same = self.user if self.user and self.user["id"] == user_id else {}
        user = {"id": user_id, "dc_id": same.get("dc_id", default_dc), "is_bot": same.get("is_bot", False),
                "username": same.get("username")}
        user.update(updates)
        return {} if user == self.user else {"user": user}

    def peers_by_id(self, ids):
        """The stored peers with these marked ids (None where absent), in one pipelined round trip."""
        return [answer["peer"] for answer in self.call("pipeline", [("peer", {"by": "id", "value": i}) for i in ids])]

    def _end_agent(self):
        if self._agent is not None:
            try:
                self._agent.close()
            except LeaseLostError:
                pass  # the agent ended all the same; the lease was not ours any more

    def close(self):
        self._closed = True
        self._end_agent()

    def delete(self):
        self.refuse_if_lost()
        self.agent().delete()
