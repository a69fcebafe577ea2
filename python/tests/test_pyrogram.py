"""sessionvault.pyrogram.VaultStorage through the real Client of Pyrogram 2.0.106, Kurigram 2.2.26 or
Pyrofork 2.3.69 (whichever this venv holds: each installs the `pyrogram` package), offline."""
import asyncio
import hashlib
import os
import struct
import threading
from importlib import metadata

import pytest

import sessionvault
from sessionvault.pyrogram import VaultStorage, disconnect_on_lease_lost
from conftest import (API_HASH, KDF, PASSPHRASE, import_fixture, lease_location, make_key, needs_postgres, run_python,
                      scan_for_secrets, secret_needles, take_over_while_stopped)


def _flavour():
    for name in ("Kurigram", "pyrofork", "Pyrogram"):
        try:
            return name.lower(), metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    raise AssertionError("no Pyrogram-family library in this venv")


FLAVOUR, VERSION = _flavour()
KEY = make_key("pyrogram")
SELF_ID = 7123456789
assert (FLAVOUR, VERSION) in {("pyrogram", "2.0.106"), ("kurigram", "2.2.26"), ("pyrofork", "2.3.69")}

COMMON = """
import asyncio, hashlib, json, sys
from pyrogram import Client, raw
from sessionvault.pyrogram import VaultStorage
from conftest import API_HASH, KDF, PASSPHRASE, make_key
from test_pyrogram import FLAVOUR

def client_with(storage, workdir):
    if FLAVOUR == "kurigram":
        return Client("bot", api_id=12345, api_hash=API_HASH, workdir=workdir, storage_engine=storage)
    if FLAVOUR == "pyrofork":
        return Client("bot", api_id=12345, api_hash=API_HASH, workdir=workdir, storage=storage)
    client = Client("bot", api_id=12345, api_hash=API_HASH, workdir=workdir)
    client.storage = storage  # Pyrogram 2.0.106 has no constructor argument for it
    return client

def input_peer(peer):
    return {"_": type(peer).__name__, **{k: getattr(peer, k) for k in peer.__slots__}}
"""

WRITER = COMMON + """
async def main(path, workdir):
    client = client_with(VaultStorage(path, PASSPHRASE, kdf=KDF), workdir)
    storage = client.storage
    await storage.open()
    # What load_session() does for a new session (the auth key would come from the network) ...
    empty = [await storage.test_mode(), await storage.auth_key(), await storage.user_id(), await storage.is_bot()]
    await storage.api_id(12345)
    await storage.dc_id(2)
    if FLAVOUR == "kurigram":
        await storage.server_address("149.154.167.51")
        await storage.port(443)
    await storage.date(0)
    await storage.test_mode(False)
    await storage.auth_key(make_key("pyrogram"))
    await storage.user_id(None)
    await storage.is_bot(None)
    # ... then sign_in_bot() after a migration to DC 4.
    await storage.dc_id(4)
    await storage.auth_key(make_key("pyrogram"))
    await storage.user_id(7123456789)
    await storage.is_bot(True)
    users = [
        raw.types.User(id=1234567890, access_hash=-5000000000000000001, first_name="Alice",
                       username="Alice_Example", phone="15551234567"),
        raw.types.User(id=5555555555, access_hash=8070450532247928832, first_name="Bot", username="example_bot",
                       bot=True),
        raw.types.User(id=6666, access_hash=66, first_name="Collector",
                       usernames=[raw.types.Username(username="First_Name", active=True),
                                  raw.types.Username(username="second_name", active=True)]),
        raw.types.User(id=4444, access_hash=1, first_name="min", min=True),
    ]
    chats = [
        raw.types.Chat(id=987654321, title="Group", photo=raw.types.ChatPhotoEmpty(), participants_count=2, date=0,
                       version=1),
        raw.types.Channel(id=1987654321, title="Channel", photo=raw.types.ChatPhotoEmpty(), date=0,
                          access_hash=1311768467463790320, username="ExampleChannel", broadcast=True),
        raw.types.Channel(id=2123456789, title="Supergroup", photo=raw.types.ChatPhotoEmpty(), date=0,
                          access_hash=-2401053089206453570, megagroup=True, forum=True),
    ]
    is_min = await client.fetch_peers(users)
    await client.fetch_peers(chats)
    string = await storage.export_session_string()
    await storage.save()
    await storage.close()
    print(json.dumps({"empty": empty, "is_min": is_min, "string": string}))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""

READER = COMMON + """
async def main(path, workdir):
    client = client_with(VaultStorage(path, PASSPHRASE), workdir)
    storage = client.storage
    await storage.open()
    result = {"dc_id": await storage.dc_id(), "api_id": await storage.api_id(), "test_mode": await storage.test_mode(),
              "key_sha256": hashlib.sha256(await storage.auth_key()).hexdigest(), "user_id": await storage.user_id(),
              "is_bot": await storage.is_bot(), "string": await storage.export_session_string(), "peers": {}}
    if FLAVOUR == "kurigram":
        result["address"] = [await storage.server_address(), await storage.port()]
    lookups = [("id", 1234567890), ("id", 5555555555), ("id", -987654321), ("id", -1001987654321),
               ("id", -1002123456789), ("id", 4444), ("username", "alice_example"), ("username", "examplechannel"),
               ("username", "first_name"), ("username", "second_name"), ("phone_number", "15551234567"),
               ("phone_number", "15550000000")]
    for by, value in lookups:
        try:
            found = input_peer(await getattr(storage, "get_peer_by_" + by)(value))
        except KeyError as error:
            found = "KeyError: " + str(error)
        result["peers"]["%s=%s" % (by, value)] = found
    await storage.close()
    print(json.dumps(result))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_real_client_round_trip_in_a_new_process(tmp_path):
    path, workdir = str(tmp_path / "vault" / "bot"), tmp_path / "work"
    os.makedirs(tmp_path / "vault")
    os.makedirs(workdir)
    written = run_python(WRITER, path, workdir, cwd=workdir)
    assert written["empty"] == [None, None, None, None]  # load_session() sees a new session
    assert written["is_min"] is True
    read = run_python(READER, path, workdir, cwd=workdir)
    assert (read["dc_id"], read["api_id"], read["test_mode"], read["user_id"], read["is_bot"]) == (
        4, 12345, False, SELF_ID, True)
    assert read["key_sha256"] == hashlib.sha256(KEY).hexdigest()
    assert read["string"] == written["string"]
    dc_id, api_id, test_mode, key, user_id, is_bot = struct.unpack(
        ">BI?256sQ?", __import__("base64").urlsafe_b64decode(read["string"] + "=" * (-len(read["string"]) % 4)))
    assert (dc_id, api_id, test_mode, key, user_id, is_bot) == (4, 12345, False, KEY, SELF_ID, True)
    if FLAVOUR == "kurigram":
        assert read["address"] == ["149.154.167.91", 443]  # a new DC: Telegram's address for it
    peers = read["peers"]
    alice = {"_": "InputPeerUser", "user_id": 1234567890, "access_hash": -5000000000000000001}
    assert peers["id=1234567890"] == peers["username=alice_example"] == peers["phone_number=15551234567"] == alice
    assert peers["id=5555555555"] == {"_": "InputPeerUser", "user_id": 5555555555, "access_hash": 8070450532247928832}
    assert peers["id=-987654321"] == {"_": "InputPeerChat", "chat_id": 987654321}
    channel = {"_": "InputPeerChannel", "channel_id": 1987654321, "access_hash": 1311768467463790320}
    assert peers["id=-1001987654321"] == peers["username=examplechannel"] == channel
    assert peers["id=-1002123456789"] == {"_": "InputPeerChannel", "channel_id": 2123456789,
                                          "access_hash": -2401053089206453570}
    assert peers["username=first_name"] == {"_": "InputPeerUser", "user_id": 6666, "access_hash": 66}
    # One username per peer in the vault: a collectible second username is not kept.
    assert peers["username=second_name"].startswith("KeyError")
    assert peers["id=4444"].startswith("KeyError") and peers["phone_number=15550000000"].startswith("KeyError")
    with sessionvault.Agent(path, PASSPHRASE) as agent:
        stored = agent.load()["session"]
        kinds = {p["id"]: p["kind"] for p in agent.peers()}
    assert [(dc["id"], dc["ipv4"]) for dc in stored["data_centers"]] == [(4, {"host": "149.154.167.91", "port": 443})]
    assert stored["user"] == {"id": SELF_ID, "dc_id": 4, "is_bot": True, "username": None}
    assert kinds == {1234567890: "user", 5555555555: "bot", 6666: "user", -987654321: "group",
                     -1001987654321: "channel", -1002123456789: "supergroup"}  # Kurigram's "forum" too
    assert os.listdir(workdir) == []  # the client's working directory: nothing written there
    assert not scan_for_secrets([tmp_path], secret_needles([KEY], [SELF_ID]))


def test_every_write_is_durable_and_reopening_works(tmp_path):
    async def main():
        storage = VaultStorage(tmp_path / "bot", PASSPHRASE, kdf=KDF)
        assert "VaultStorage" in repr(storage) and PASSPHRASE not in repr(storage)
        await storage.open()
        await storage.dc_id(2)
        await storage.auth_key(KEY)
        await storage.user_id(SELF_ID)
        await storage.update_peers([(1, 11, "user", "one", "15550001111")] if FLAVOUR != "kurigram"
                                   else [(1, 11, "user", "15550001111")])
        if FLAVOUR == "kurigram":
            await storage.update_usernames([(1, ["one"])])
            await storage.update_peers([(1, 12, "user", "15550001111")])  # keeps the username
        else:
            await storage.update_peers([(1, 12, "user", "one", "15550001111")])
        # A second storage on the same vault is refused while this one holds it ...
        with pytest.raises(sessionvault.InUseError) as in_use:
            await VaultStorage(tmp_path / "bot", PASSPHRASE).open()
        assert in_use.value.holder_pid == storage._vault._agent.pid
        # ... and Pyrogram's restart() (close, then open again) works with the same passphrase;
        # between the two the storage is closed, as Pyrogram's own SQLite storage is.
        await storage.close()
        with pytest.raises(sessionvault.ClosedError):
            await storage.get_peer_by_id(1)
        await storage.open()
        assert (await storage.dc_id(), await storage.auth_key(), await storage.user_id()) == (2, KEY, SELF_ID)
        assert (await storage.get_peer_by_username("@ONE")).access_hash == 12
        await storage.user_id(None)
        assert await storage.user_id() is None and await storage.is_bot() is None
        await storage.delete()
    asyncio.run(main())
    assert os.listdir(tmp_path) == []


def test_update_states(tmp_path):
    """Kurigram's get/set/delete_update_state; Pyrofork's update_state/remove_state (Pyrogram 2.0.106
    calls neither: its venv runs Pyrofork's shape, which needs nothing of the library)."""
    channel, other = -1001987654321, -1002123456789

    async def write():
        storage = VaultStorage(tmp_path / "bot", PASSPHRASE, kdf=KDF)
        await storage.open()
        if FLAVOUR == "kurigram":
            from pyrogram.storage.storage import UpdateState
            assert await storage.get_update_states() == []
            await storage.set_update_state(UpdateState(0, 10, 2, 1700000000, 3))
            await storage.set_update_state([UpdateState(channel, 55, None, None, None),
                                            UpdateState(other, 66, None, None, None)])
            await storage.set_update_state(UpdateState(0, None, None, 1700000100, 4))  # None keeps the value
            await storage.delete_update_state(other)
        else:
            assert await storage.update_state() == []
            await storage.update_state((0, 10, 2, 1700000000, 3))
            await storage.update_state((channel, 55, None, 1700000000, None))
            await storage.update_state((other, 66, None, 1700000000, None))
            await storage.update_state((0, None, None, 1700000100, 4))
            await storage.remove_state(other)
        await storage.close()

    async def read_and_delete():
        storage = VaultStorage(tmp_path / "bot", PASSPHRASE)
        await storage.open()
        if FLAVOUR == "kurigram":
            states = [(s.id, s.pts, s.qts, s.date, s.seq) for s in await storage.get_update_states()]
            account = [(s.id, s.pts) for s in await storage.get_update_states(0)]
            await storage.delete_update_state([0, channel])
            after = await storage.get_update_states()
        else:
            states = [tuple(s) for s in await storage.update_state()]
            account = [(s[0], s[1]) for s in states if s[0] == 0]
            await storage.update_state(0)
            await storage.update_state(channel)
            after = await storage.update_state()
        await storage.close()
        return states, account, after
    asyncio.run(write())
    states, account, after = asyncio.run(read_and_delete())
    assert states == [(channel, 55, None, None, None), (0, 10, 2, 1700000100, 4)]  # channels first, as by date
    assert account == [(0, 10)] and after == []


def test_imported_pyrogram_session_runs_through_the_adapter(tmp_path):
    path, facts = import_fixture("pyrogram-2.0.106.session", tmp_path)

    async def main():
        storage = VaultStorage(path, PASSPHRASE, create=False)
        await storage.open()
        assert (await storage.dc_id(), await storage.api_id(), await storage.test_mode()) == (
            facts["dc_id"], facts["api_id"], facts["test_mode"])
        assert hashlib.sha256(await storage.auth_key()).hexdigest() == facts["auth_key_sha256"]
        assert (await storage.user_id(), await storage.is_bot()) == (facts["user"]["id"], facts["user"]["is_bot"])
        if FLAVOUR == "kurigram":  # schema 3 stored no address: Telegram's address for DC 2
            assert (await storage.server_address(), await storage.port()) == ("149.154.167.51", 443)
        for peer in facts["peers"]:
            found = await storage.get_peer_by_id(peer["id"])
            if peer["type"] == "group":
                assert found.chat_id == -peer["id"]
            else:
                assert found.access_hash == peer["access_hash"]
                assert type(found).__name__ == ("InputPeerUser" if peer["type"] in ("user", "bot") else "InputPeerChannel")
            if peer["phone"]:
                assert (await storage.get_peer_by_phone_number(peer["phone"])).access_hash == peer["access_hash"]
            if peer["username"]:  # seen in 2024: older than Pyrogram's 8-hour username age, as in its own storage
                with pytest.raises(KeyError, match="expired"):
                    await storage.get_peer_by_username(peer["username"])
        await storage.close()
    asyncio.run(main())
    with sessionvault.Agent(path, PASSPHRASE) as agent:
        kinds = {p["id"]: p["kind"] for p in agent.peers()}
    assert kinds == {p["id"]: p["type"] for p in facts["peers"]}


def test_failures_are_clear_and_lose_nothing(tmp_path):
    import signal

    async def main():
        storage = VaultStorage(tmp_path / "bot", PASSPHRASE, kdf=KDF)
        await storage.open()
        await storage.dc_id(2)
        await storage.auth_key(KEY)
        os.kill(storage._vault._agent.pid, signal.SIGKILL)  # the agent killed under the bot
        with pytest.raises(sessionvault.AgentDiedError):
            await storage.user_id(SELF_ID)
        assert await storage.user_id() is None  # that write is known not to have happened
        await storage.user_id(SELF_ID)  # the next call starts a new agent
        assert (await storage.auth_key(), await storage.user_id()) == (KEY, SELF_ID)
        await storage.close()
        with pytest.raises(sessionvault.WrongPassphraseError):
            await VaultStorage(tmp_path / "bot", "not the passphrase").open()
        with pytest.raises(sessionvault.NotFoundError):
            await VaultStorage(tmp_path / "other", PASSPHRASE, create=False).open()
        reopened = VaultStorage(tmp_path / "bot", PASSPHRASE)
        await reopened.open()
        assert (await reopened.dc_id(), await reopened.auth_key(), await reopened.user_id()) == (2, KEY, SELF_ID)
        await reopened.close()
    asyncio.run(main())
    assert {name.split("-")[0] for name in os.listdir(tmp_path)} == {"bot.session"}
    assert not scan_for_secrets([tmp_path], secret_needles([KEY], [SELF_ID]))


@pytest.mark.skipif(not os.environ.get("SESSION_VAULT_TEST_POSTGRES_URL"),
                    reason="no PostgreSQL server (make python-test runs one with scripts/with-postgres.sh)")
def test_a_storage_kept_in_postgresql(monkeypatch):
    monkeypatch.setenv("SESSION_VAULT_POSTGRES_PASSWORD_FILE", os.environ["SESSION_VAULT_TEST_POSTGRES_PASSWORD_FILE"])
    monkeypatch.setenv("SESSION_VAULT_POSTGRES_URL", os.environ["SESSION_VAULT_TEST_POSTGRES_URL"])
    location = "pg:python-%s-%d" % (FLAVOUR, os.getpid())

    async def main():
        storage = VaultStorage(location, PASSPHRASE, kdf=KDF)
        await storage.open()
        await storage.dc_id(2)
        await storage.auth_key(KEY)
        await storage.user_id(SELF_ID)
        await storage.update_peers([(-1001987654321, 99, "channel", "examplechannel", None)] if FLAVOUR != "kurigram"
                                   else [(-1001987654321, 99, "channel", None)])
        await storage.close()
        await storage.open()
        assert (await storage.dc_id(), await storage.auth_key(), await storage.user_id()) == (2, KEY, SELF_ID)
        assert (await storage.get_peer_by_id(-1001987654321)).access_hash == 99
        await storage.delete()
    asyncio.run(main())


def _client(storage, workdir):
    """The real Client of this venv's library on ``storage`` (not started: offline)."""
    from pyrogram import Client
    if FLAVOUR == "kurigram":
        return Client("bot", api_id=12345, api_hash=API_HASH, workdir=str(workdir), storage_engine=storage)
    if FLAVOUR == "pyrofork":
        return Client("bot", api_id=12345, api_hash=API_HASH, workdir=str(workdir), storage=storage)
    client = Client("bot", api_id=12345, api_hash=API_HASH, workdir=str(workdir))
    client.storage = storage
    return client


def _peers(peer_id, access_hash):
    return ([(peer_id, access_hash, "user", "alice_example", None)] if FLAVOUR != "kurigram"
            else [(peer_id, access_hash, "user", None)])


async def _hold_then_lose(location, workdir, before=None, **options):
    """A Client on a PostgreSQL VaultStorage writes; its agent is stopped (SIGSTOP) past the lease
    while a second holder takes the session and writes api_id 2222; then it resumes."""
    storage = VaultStorage(location, PASSPHRASE, kdf=KDF, **options)
    client = _client(storage, workdir)
    await client.storage.open()
    await storage.api_id(1111)
    await storage.dc_id(2)
    await storage.auth_key(KEY)
    await storage.user_id(SELF_ID)
    await storage.update_peers(_peers(1234567890, -5000000000000000001))
    if before is not None:
        before(client)
    agent = storage._vault._agent
    second = VaultStorage(location, PASSPHRASE, create=False, lock_wait=60)
    await asyncio.to_thread(take_over_while_stopped, agent.pid, lambda: asyncio.run(second.open()))
    await second.api_id(2222)
    return storage, client, agent, second


@needs_postgres
def test_a_lost_lease_reaches_the_storage(monkeypatch, tmp_path):
    """docs/LEASES.md through the real Client: the holder's agent is paused past its lease, a
    second holder takes the session and writes; the first storage's handler is called once, on the
    event loop, and its writes, key reads and lookups raise LeaseLostError; the data is the second
    holder's; open() (Pyrogram's start()) takes the session back once it is free."""
    location, calls = lease_location(monkeypatch, "%s-lease" % FLAVOUR), []

    async def main():
        loop, told = asyncio.get_running_loop(), asyncio.Event()

        async def on_lease_lost(error):  # a coroutine: run as a task on the loop
            calls.append((error, asyncio.get_running_loop() is loop, threading.current_thread()))
            told.set()
        storage, client, agent, second = await _hold_then_lose(location, tmp_path, on_lease_lost=on_lease_lost)
        await asyncio.wait_for(told.wait(), 30)
        assert isinstance(storage.lease_lost, sessionvault.LeaseLostError)
        with pytest.raises(sessionvault.LeaseLostError) as raised:
            await client.storage.api_id(3333)
        assert (raised.value.code, raised.value.exit_status) == ("lease-lost", 75)
        with pytest.raises(sessionvault.LeaseLostError):
            await storage.user_id(SELF_ID)  # what it holds already: refused all the same
        with pytest.raises(sessionvault.LeaseLostError):
            await storage.dc_id(4)
        with pytest.raises(sessionvault.LeaseLostError):
            await storage.auth_key()  # the key is not handed out again (connect() reads it)
        with pytest.raises(sessionvault.LeaseLostError):
            await storage.update_peers(_peers(1234567890, 7))
        with pytest.raises(sessionvault.LeaseLostError):
            await storage.get_peer_by_id(1234567890)  # a lookup the agent refuses
        await storage.save()  # what terminate() calls
        await storage.close()  # what disconnect() calls
        assert agent.closed and agent._process.returncode == 0
        assert await second.api_id() == 2222
        await second.close()
        await storage.open()  # start() again: the session is free, a new lease
        assert storage.lease_lost is None and storage._vault._agent is not agent
        assert (await storage.api_id(), await storage.auth_key(), await storage.user_id()) == (2222, KEY, SELF_ID)
        assert (await storage.get_peer_by_id(1234567890)).access_hash == -5000000000000000001
        await storage.delete()
        await asyncio.sleep(0.5)  # a second call of the handler would have come by now
    asyncio.run(main())
    assert len(calls) == 1
    error, on_the_loop, thread = calls[0]
    assert isinstance(error, sessionvault.LeaseLostError) and on_the_loop and thread is threading.main_thread()


@needs_postgres
def test_disconnect_on_lease_lost_stops_the_client(monkeypatch, tmp_path):
    """The one-liner: when the lease is lost the client is stopped (here never connected: offline,
    so its storage is closed); the second holder's data stays."""
    location = lease_location(monkeypatch, "%s-helper" % FLAVOUR)

    async def main():
        from pyrogram import Client
        with pytest.raises(TypeError):  # the library's own storage
            disconnect_on_lease_lost(Client("other", api_id=12345, api_hash=API_HASH, in_memory=True))
        storage, client, agent, second = await _hold_then_lose(location, tmp_path, before=disconnect_on_lease_lost)
        for _ in range(300):
            if agent.closed:
                break
            await asyncio.sleep(0.1)
        assert agent.closed and isinstance(storage.lease_lost, sessionvault.LeaseLostError)
        assert not client.is_connected and not client.is_initialized
        with pytest.raises(sessionvault.LeaseLostError):
            await storage.get_peer_by_id(1234567890)
        await second.close()
        again = VaultStorage(location, PASSPHRASE, create=False)
        await again.open()
        assert (await again.api_id(), await again.user_id()) == (2222, SELF_ID)
        await again.delete()
    asyncio.run(main())
