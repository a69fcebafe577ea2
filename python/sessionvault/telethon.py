"""A Telethon 1.x session kept in a SessionVault vault: ``TelegramClient(VaultSession("bot"), …)``.

Like SQLiteSession it holds one data center. Every setter, ``set_update_state`` and
``process_entities`` is one durable write of the agent when it returns, so ``save()`` has nothing
left to do. Sent-file hashes (``cache_file``) and the temporary auth key stay in memory.

A PostgreSQL session whose lease is lost (docs/LEASES.md): ``on_lease_lost`` is called once, and
every write, auth key read and peer lookup raises LeaseLostError; ``disconnect_on_lease_lost(client)``
makes the client disconnect from Telegram at once.
"""
import asyncio
import datetime
import time

from telethon import utils
from telethon.crypto import AuthKey
from telethon.sessions import MemorySession
from telethon.tl.types import PeerChannel, PeerChat, PeerUser
from telethon.tl.types.updates import State

from ._vault import LeaseAware, VaultHandle, address, b64, data_center, unb64
from .agent import LeaseLostError

_EPOCH = datetime.datetime.fromtimestamp(0, tz=datetime.timezone.utc)


def _timestamp(date):
    return int(date.timestamp()) if hasattr(date, "timestamp") else int(date or 0)


class VaultSession(LeaseAware, MemorySession):
    """``location``: a vault path (``.session`` is appended without an extension) or a PostgreSQL
    location; ``passphrase=None`` lets the agent read SESSION_VAULT_PASSPHRASE(_FILE) or the
    systemd credential. The vault is created (with ``kdf``) when missing unless ``create=False``.

    ``on_lease_lost(error)`` (PostgreSQL): called once with the LeaseLostError when the session's
    lease is lost, on the event loop the session is used from (a coroutine it returns runs there as
    a task), else on a new thread. From then on ``lease_lost`` holds the error, and every write
    (even one that would change nothing), every ``auth_key`` read and every peer lookup raises
    LeaseLostError; ``close()`` still works. A new VaultSession takes the session back."""

    def __init__(self, location, passphrase=None, *, create=True, kdf=None, lock_wait=None,
                 durability=None, binary=None, on_lease_lost=None):
        super().__init__()
        self.save_entities = True
        self._written = {}  # marked id -> the row last written, so repeated entities cost no write
        self._vault = VaultHandle(location, passphrase, create=create, kdf=kdf, lock_wait=lock_wait,
                                  durability=durability, binary=binary, on_lease_lost=on_lease_lost)
        self._vault.agent()

    def __repr__(self):
        return "<sessionvault.telethon.VaultSession %r dc=%s>" % (self._vault.location, self.dc_id)

    def _dc(self):
        return self._vault.current_dc() or {}

    def set_dc(self, dc_id, server_address, port):
        self._vault.refuse_if_lost()
        current = self._dc()
        key = current.get("auth_key") if current.get("id") == dc_id else None
        changes = {"data_centers": {"upsert": [data_center(dc_id, *address(server_address, port), key)],
                                    "exclusive": True}}
        if self._vault.user:
            changes.update(self._vault.user_changes(self._vault.user["id"], dc_id, dc_id=dc_id))
        self._vault.write(changes)

    @property
    def dc_id(self):
        return self._dc().get("id", 0)

    @property
    def server_address(self):
        endpoint = self._dc().get("ipv4") or self._dc().get("ipv6")
        return endpoint and endpoint["host"]

    @property
    def port(self):
        endpoint = self._dc().get("ipv4") or self._dc().get("ipv6")
        return endpoint and endpoint["port"]

    @property
    def auth_key(self):
        self._vault.refuse_if_lost()  # a lost session's key must not reach Telegram again
        key = self._dc().get("auth_key")
        return AuthKey(unb64(key)) if key else None

    @auth_key.setter
    def auth_key(self, value):
        self._vault.refuse_if_lost()
        current = self._dc()
        key = value.key if isinstance(value, AuthKey) else value
        if not current:
            if key:
                raise ValueError("set_dc() must come before an auth key: a key belongs to a data center")
            return
        dc = data_center(current["id"], current["ipv4"], current["ipv6"], b64(key))
        self._vault.write({"data_centers": {"upsert": [dc], "exclusive": True}})

    @property
    def takeout_id(self):
        return self._vault.takeout_id

    @takeout_id.setter
    def takeout_id(self, value):
        self._vault.refuse_if_lost()
        self._vault.write({"takeout_id": value})

    def get_update_state(self, entity_id):
        if entity_id == 0:
            s = self._vault.account_state()
            if s:
                date = datetime.datetime.fromtimestamp(s["date"], tz=datetime.timezone.utc)
                return State(s["pts"], s["qts"], date, s["seq"], unread_count=0)
        elif entity_id in self._vault.channels:
            return State(self._vault.channels[entity_id], 0, _EPOCH, 0, unread_count=0)
        return None

    def set_update_state(self, entity_id, state):
        self._vault.refuse_if_lost()
        if entity_id == 0:
            new = {"pts": state.pts, "qts": state.qts, "date": _timestamp(state.date), "seq": state.seq}
            if new != self._vault.state:
                self._vault.write({"update_state": new})
        elif self._vault.channels.get(entity_id) != state.pts:
            self._vault.write({"channels": {"upsert": [{"channel_id": entity_id, "pts": state.pts}]}})

    def get_update_states(self):
        ids = ([0] if self._vault.account_state() else []) + sorted(self._vault.channels)
        return [(i, self.get_update_state(i)) for i in ids]

    def _entity_to_row(self, e):
        row = super()._entity_to_row(e)
        if row:
            kind = utils.resolve_id(row[0])[1]
            if kind is PeerUser:
                kind = "bot" if getattr(e, "bot", False) else "user"
            elif kind is PeerChat:
                kind = "group"
            else:
                kind = "supergroup" if getattr(e, "megagroup", False) else "channel"
            return row + (kind,)

    def process_entities(self, tlo):
        if not self.save_entities:
            return
        self._vault.refuse_if_lost()
        changes, rows, now = {}, [], int(time.time())
        for row in self._entities_to_rows(tlo):
            if row[0] == 0:  # Telethon's self row: the hash is our own user id
                changes.update(self._vault.user_changes(row[1], self.dc_id))
            elif self._written.get(row[0]) != row:
                rows.append(row)
        if rows:
            changes["peers"] = [{"id": i, "access_hash": h, "kind": kind, "username": username,
                                 "phone": phone and str(phone), "name": name, "updated_at": now}
                                for i, h, username, phone, name, kind in rows]
        if changes:
            self._vault.write(changes)
            self._written.update((row[0], row) for row in rows)

    def get_entity_rows_by_phone(self, phone):
        return self._row(self._vault.call("peer", "phone", phone))

    def get_entity_rows_by_username(self, username):
        return self._row(self._vault.call("peer", "username", username))

    def get_entity_rows_by_name(self, name):
        return next((self._row(p) for p in self._vault.call("peers") if p["name"] == name), None)

    def get_entity_rows_by_id(self, id, exact=True):
        if id == 0:
            return (0, self._vault.user["id"]) if self._vault.user else None
        if exact:
            return self._row(self._vault.call("peer", "id", id))
        ids = [utils.get_peer_id(cls(id)) for cls in (PeerUser, PeerChat, PeerChannel)]
        return next((self._row(p) for p in self._vault.peers_by_id(ids) if p), None)

    @staticmethod
    def _row(peer):
        return (peer["id"], peer["access_hash"]) if peer else None

    def save(self):
        pass  # every change was durable when its call returned

    def close(self):
        self._vault.close()

    def delete(self):
        self._vault.delete()
        return True

    def clone(self, to_instance=None):
        return to_instance or MemorySession()  # Telethon clones for CDN connections: memory only


def disconnect_on_lease_lost(client):
    """Makes ``client`` (a TelegramClient on a VaultSession) disconnect from Telegram as soon as the
    session's lease is lost, then close the session: ``client.run_until_disconnected()`` then ends
    with LeaseLostError (Telethon saves the update state on disconnect, which the vault refuses).
    Replaces the session's ``on_lease_lost``."""
    session = client.session
    if not isinstance(session, VaultSession):
        raise TypeError("disconnect_on_lease_lost needs a client on a sessionvault VaultSession")

    async def disconnect(error):
        try:
            await client.disconnect()  # the connection first; its last save is refused
        except LeaseLostError:
            pass
        session.close()
    session.on_lease_lost = disconnect
