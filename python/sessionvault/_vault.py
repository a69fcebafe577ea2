"""What the Telethon and Pyrogram adapters share: an agent started on first use, and a mirror of
the stored session (everything but the peer cache) kept equal to what the vault holds."""
import base64
import os

from .agent import RESTART_CODES, Agent, ClosedError, VaultError


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


class VaultHandle:
    """The agent of one adapter, started by ``agent()`` and again (with the same options) after an
    error that ended it, and after close() when ``reopen`` (Telethon reconnects a closed session;
    Pyrogram calls open() again). ``dcs``, ``user``, ``state``, ``channels``, ``api_id``,
    ``test_mode``, ``takeout_id`` and ``exists`` mirror the stored session."""

    def __init__(self, location, passphrase=None, reopen=True, **options):
        self.location = os.fspath(location)
        if isinstance(passphrase, str):
            passphrase = passphrase.encode("utf-8")
        self._passphrase = None if passphrase is None else _Hidden(bytes(passphrase))
        self._options, self._reopen, self._closed, self._agent = dict(options), reopen, False, None
        self._mirror(None)

    def __repr__(self):
        return "<sessionvault VaultHandle %r>" % (self.location,)

    def agent(self):
        """The running agent, started when there is none."""
        self._closed = False
        return self._live()

    def _live(self):
        if self._closed and not self._reopen:
            raise ClosedError("the vault %s was closed" % self.location, exit_status=74)
        if self._agent is None or self._agent.closed:
            agent = Agent(self.location, self._passphrase and self._passphrase.value, **self._options)
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
        agent = self._live()
        try:
            return getattr(agent, method)(*args)
        except VaultError as error:
            if error.code in RESTART_CODES:
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

    def close(self):
        self._closed = True
        if self._agent is not None:
            self._agent.close()

    def delete(self):
        self.agent().delete()
