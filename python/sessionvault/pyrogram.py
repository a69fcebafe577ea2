"""A Pyrogram 2.0 storage kept in a SessionVault vault; also Kurigram's and Pyrofork's shapes.

Pyrogram 2.0.106: ``client.storage = VaultStorage("bot")`` before ``start()``; Kurigram:
``Client(…, storage_engine=VaultStorage("bot"))``; Pyrofork: ``Client(…, storage=VaultStorage("bot"))``.
Every setter, ``update_peers`` and update-state call is one durable write of the agent when it
returns (called synchronously, as Pyrogram's own SQLite storage does). ``date`` stays in memory.

A PostgreSQL session whose lease is lost (docs/LEASES.md): ``on_lease_lost`` is called once, and
every write, auth key read and peer lookup raises LeaseLostError; ``disconnect_on_lease_lost(client)``
makes the client stop (disconnect from Telegram) at once.
"""
import asyncio
import os
import time

from pyrogram.storage import Storage
from pyrogram.storage.sqlite_storage import get_input_peer

from ._vault import LeaseAware, VaultHandle, address, b64, data_center, unb64
from .agent import LeaseLostError  # noqa: F401 (raised by the methods below)

_KINDS = {"direct": "channel", "forum": "supergroup", "community": "supergroup"}  # Kurigram's extra kinds
_REFRESH = 3600  # an unchanged peer is written again after this many seconds (its username age)
try:
    from pyrogram.storage.storage import UpdateState  # Kurigram
except ImportError:
    UpdateState = None


def _known_address(dc_id, test_mode):
    """Telegram's well-known address of a DC from the library's own tables: (host or None, port)."""
    try:
        from pyrogram.session.internals.data_center import DataCenter as tables  # Pyrogram, Pyrofork
    except ImportError:
        from pyrogram.storage import sqlite_storage as tables  # Kurigram
    return getattr(tables, "TEST" if test_mode else "PROD").get(dc_id), 80 if test_mode else 443


def _channel(state_id):
    """Marked channel id <-> raw channel id (the vault stores raw ones)."""
    return -1000000000000 - state_id


class VaultStorage(LeaseAware, Storage):
    """``location``: a vault path (``.session`` is appended without an extension) or a PostgreSQL
    location; ``passphrase=None`` lets the agent read SESSION_VAULT_PASSPHRASE(_FILE) or the
    systemd credential. The agent starts in ``open()``; the vault is created (with ``kdf``) when
    missing unless ``create=False``.

    ``on_lease_lost(error)`` (PostgreSQL): called once with the LeaseLostError when the session's
    lease is lost, on the event loop the storage is used from (a coroutine it returns runs there as
    a task). From then on ``lease_lost`` holds the error, and every write (even one that would
    change nothing), every ``auth_key()`` read and every peer lookup raises LeaseLostError;
    ``save()`` and ``close()`` still work, and ``open()`` (Pyrogram's ``start()``) takes the session
    again when it is free."""
    USERNAME_TTL = 8 * 60 * 60

    def __init__(self, location, passphrase=None, *, create=True, kdf=None, lock_wait=None,
                 durability=None, binary=None, on_lease_lost=None):
        self.name = os.path.splitext(os.path.basename(os.fspath(location)))[0]
        self._vault = VaultHandle(location, passphrase, reopen=False, create=create, kdf=kdf,
                                  lock_wait=lock_wait, durability=durability, binary=binary,
                                  on_lease_lost=on_lease_lost)
        self._date, self._is_bot = 0, None

    def __repr__(self):
        return "<sessionvault.pyrogram.VaultStorage %r>" % (self._vault.location,)

    async def open(self):
        self._vault.note_loop()
        await asyncio.to_thread(self._vault.agent)

    async def save(self):
        self._date = int(time.time())  # everything else was durable when its call returned

    async def close(self):
        self._vault.close()

    async def delete(self):
        self._vault.delete()

    def _dc(self):
        return self._vault.current_dc() or {}

    def _write_dc(self, dc):
        self._vault.refuse_if_lost()
        current = {k: v for k, v in self._dc().items() if k != "auth_key_id"}
        if dc != current:
            changes = {"data_centers": {"upsert": [dc], "exclusive": True}}
            if self._vault.user:
                changes.update(self._vault.user_changes(self._vault.user["id"], dc["id"], dc_id=dc["id"]))
            self._vault.write(changes)

    def _endpoint(self):
        """The current DC's address; Telegram's well-known one when the vault has none (Kurigram
        needs one: a session imported from Pyrogram 2.0 never stored it)."""
        endpoint = self._dc().get("ipv4") or self._dc().get("ipv6")
        if endpoint or not self._dc():
            return endpoint or {}
        host, port = _known_address(self._dc()["id"], bool(self._vault.test_mode))
        return {"host": host, "port": port} if host else {}

    async def dc_id(self, value=object):
        if value is object:
            return self._dc().get("id")
        if value != self._dc().get("id"):
            self._write_dc(data_center(value, *address(*_known_address(value, bool(self._vault.test_mode)))))

    async def server_address(self, value=object):
        if value is object:
            return self._endpoint().get("host")
        port = self._endpoint().get("port") or (80 if self._vault.test_mode else 443)
        self._write_dc(data_center(self._dc().get("id", 2), *address(value, port), self._dc().get("auth_key")))

    async def port(self, value=object):
        if value is object:
            return self._endpoint().get("port")
        self._write_dc(data_center(self._dc().get("id", 2), *address(self._endpoint().get("host"), value),
                                   self._dc().get("auth_key")))

    async def auth_key(self, value=object):
        self._vault.refuse_if_lost()  # a lost session's key must not reach Telegram again
        if value is object:
            return unb64(self._dc().get("auth_key"))
        dc = self._dc() or data_center(2, *address(*_known_address(2, bool(self._vault.test_mode))))
        self._write_dc(data_center(dc["id"], dc["ipv4"], dc["ipv6"], b64(value)))

    async def api_id(self, value=object):
        if value is object:
            return self._vault.api_id
        self._vault.refuse_if_lost()
        if value != self._vault.api_id or not self._vault.exists:
            self._vault.write({"api_id": value})

    async def test_mode(self, value=object):
        if value is object:
            return self._vault.test_mode
        self._vault.refuse_if_lost()
        if bool(value) != self._vault.test_mode:
            self._vault.write({"test_mode": bool(value)})

    async def date(self, value=object):
        if value is object:
            return self._date
        self._date = value

    async def user_id(self, value=object):
        user = self._vault.user
        if value is object:
            return user and user["id"]
        self._vault.refuse_if_lost()
        new = {} if user and user["id"] == value else {"is_bot": bool(self._is_bot)}
        changes = self._vault.user_changes(value, self._dc().get("id", 2), **new)
        if changes:
            self._vault.write(changes)

    async def is_bot(self, value=object):
        user = self._vault.user
        if value is object:
            return user["is_bot"] if user else self._is_bot
        self._vault.refuse_if_lost()
        self._is_bot = value
        if user and value is not None:
            changes = self._vault.user_changes(user["id"], user["dc_id"], is_bot=bool(value))
            if changes:
                self._vault.write(changes)

    # Peers

    def _write_peers(self, peers, stored):
        self._vault.refuse_if_lost()
        now = int(time.time())
        fresh = [new for new, old in zip(peers, stored)
                 if not old or dict(old, updated_at=None) != new or now - (old["updated_at"] or 0) >= _REFRESH]
        if fresh:
            self._vault.write({"peers": [dict(peer, updated_at=now) for peer in fresh]})

    async def update_peers(self, peers):
        """Pyrogram's (id, access_hash, type, username, phone) or Kurigram's (id, access_hash, type, phone)."""
        peers = list(peers)
        stored = self._vault.peers_by_id([row[0] for row in peers])
        new = []
        for row, old in zip(peers, stored):
            row = tuple(row)
            if len(row) == 4:  # Kurigram: usernames come through update_usernames
                row = row[:3] + ((old or {}).get("username"),) + row[3:]
            peer_id, access_hash, kind, username, phone = row
            new.append({"id": peer_id, "access_hash": access_hash, "kind": _KINDS.get(kind, kind),
                        "username": username, "phone": phone, "name": (old or {}).get("name"), "updated_at": None})
        self._write_peers(new, stored)

    async def update_usernames(self, usernames):
        """Kurigram's (id, [usernames]): the first is kept (the vault holds one per peer). Pyrofork's
        extra (id, username) pairs are not kept: its update_peers already gave the main one."""
        usernames = [(i, names) for i, names in usernames if isinstance(names, (list, tuple))]
        stored = self._vault.peers_by_id([i for i, _ in usernames])
        pairs = [(dict(old, username=next((n for n in names if n), None), updated_at=None), old)
                 for (_, names), old in zip(usernames, stored) if old]
        self._write_peers([new for new, _ in pairs], [old for _, old in pairs])

    def _input_peer(self, peer, missing):
        if peer is None:
            raise KeyError(missing)
        return get_input_peer(peer["id"], peer["access_hash"], peer["kind"])

    async def get_peer_by_id(self, peer_id):
        return self._input_peer(self._vault.call("peer", "id", peer_id), "ID not found: %s" % peer_id)

    async def get_peer_by_username(self, username):
        peer = self._vault.call("peer", "username", username)
        if peer is not None and abs(time.time() - (peer["updated_at"] or 0)) > self.USERNAME_TTL:
            raise KeyError("Username expired: %s" % username)
        return self._input_peer(peer, "Username not found: %s" % username)

    async def get_peer_by_phone_number(self, phone_number):
        return self._input_peer(self._vault.call("peer", "phone", phone_number),
                                "Phone number not found: %s" % phone_number)

    # Update states: id 0 is the account, others marked channel ids (Kurigram, Pyrofork)

    def _states(self, ids=None):
        states = [(_channel(c), pts, None, None, None) for c, pts in sorted(self._vault.channels.items())]
        if self._vault.account_state():
            states.append((0,) + tuple(self._vault.state[k] for k in ("pts", "qts", "date", "seq")))
        return [s for s in states if ids is None or s[0] in ids]

    def _set_states(self, states):
        self._vault.refuse_if_lost()
        changes, channels, account = {}, [], dict(self._vault.state or {"pts": 0, "qts": 0, "date": 0, "seq": 0})
        for state_id, pts, qts, date, seq in states:
            if state_id == 0:
                account.update((k, v) for k, v in zip(("pts", "qts", "date", "seq"), (pts, qts, date, seq)) if v is not None)
            elif pts is not None and self._vault.channels.get(_channel(state_id)) != pts:
                channels.append({"channel_id": _channel(state_id), "pts": pts})
        if account != self._vault.state and any(s[0] == 0 for s in states):
            changes["update_state"] = account
        if channels:
            changes["channels"] = {"upsert": channels}
        if changes:
            self._vault.write(changes)

    def _delete_states(self, ids):
        self._vault.refuse_if_lost()
        changes = {}
        if 0 in ids and self._vault.account_state():  # protocol 1 cannot remove it: all zero counts as none
            changes["update_state"] = {"pts": 0, "qts": 0, "date": 0, "seq": 0}
        if any(_channel(i) in self._vault.channels for i in ids):
            changes["channels"] = {"delete": [_channel(i) for i in ids if i]}
        if changes:
            self._vault.write(changes)

    async def get_update_states(self, ids=None):
        """Kurigram: UpdateState objects, channels first (as its SQLite ``ORDER BY date`` gives them)."""
        ids = None if ids is None else ({ids} if isinstance(ids, int) else set(ids))
        return [UpdateState(*state) for state in self._states(ids)]

    async def set_update_state(self, update_state):
        states = [update_state] if hasattr(update_state, "pts") else update_state
        self._set_states([(s.id, s.pts, s.qts, s.date, s.seq) for s in states])

    async def delete_update_state(self, state_id):
        self._delete_states({state_id} if isinstance(state_id, int) else set(state_id))

    async def update_state(self, value=object):
        """Pyrofork: no argument reads (id, pts, qts, date, seq) tuples, an id deletes, a tuple sets."""
        if value is object:
            return self._states()
        if isinstance(value, int):
            return self._delete_states({value})
        self._set_states([tuple(value)])

    async def remove_state(self, chat_id):
        self._delete_states({chat_id})


def disconnect_on_lease_lost(client):
    """Makes ``client`` (a Pyrogram, Kurigram or Pyrofork Client on a VaultStorage) stop as soon as
    the session's lease is lost: ``terminate()`` when it was started, ``disconnect()`` when it is
    connected (which closes the storage), else the storage is closed. Replaces ``on_lease_lost``.
    ``pyrogram.idle()`` still waits for a signal: a bot that should end then awaits its own event."""
    storage = client.storage
    if not isinstance(storage, VaultStorage):
        raise TypeError("disconnect_on_lease_lost needs a client on a sessionvault VaultStorage")

    async def disconnect(error):
        if client.is_initialized:
            await client.terminate()
        if client.is_connected:
            await client.disconnect()
        else:
            await storage.close()
    storage.on_lease_lost = disconnect
