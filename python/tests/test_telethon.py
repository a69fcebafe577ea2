"""sessionvault.telethon.VaultSession through Telethon 1.45's real TelegramClient, offline."""
import asyncio
import datetime
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
from contextlib import closing

import pytest
from telethon import TelegramClient
from telethon.crypto import AuthKey
from telethon.sessions import MemorySession
from telethon.tl import types

import sessionvault
from sessionvault.telethon import VaultSession, disconnect_on_lease_lost
from conftest import (API_HASH, KDF, PASSPHRASE, cli, import_fixture, lease_location, needs_postgres, python_process,
                      run_python, scan_for_secrets, secret_needles, make_key, take_over_while_stopped)

KEY = make_key("telethon")
SELF_ID, SELF_HASH = 6123456789, 4611686018427387905

# Process A: a bot that logs in (DC, key), meets entities and hands its update state over the way
# Telethon's keepalive loop and disconnect() do (_save_states_and_entities), then ends.
WRITER = """
import asyncio, sys
from telethon import TelegramClient
from telethon._updates import ChannelState, SessionState
from telethon.crypto import AuthKey
from telethon.tl import types
from sessionvault.telethon import VaultSession
from conftest import API_HASH, KDF, PASSPHRASE, make_key

async def main(path):
    client = TelegramClient(VaultSession(path, PASSPHRASE, kdf=KDF), 12345, API_HASH)
    session = client.session
    session.set_dc(2, "149.154.167.51", 443)
    session.auth_key = AuthKey(make_key("telethon"))
    session.takeout_id = 12345
    photo = types.ChatPhotoEmpty()
    users = [
        types.User(id=1234567890, access_hash=-5000000000000000001, first_name="Alice", last_name="Example",
                   username="Alice_Example", phone="15551234567"),
        types.User(id=5555555555, access_hash=8070450532247928832, first_name="Example Bot",
                   username="example_bot", bot=True, bot_info_version=1),
        types.User(id=6123456789, access_hash=4611686018427387905, first_name="Vault", last_name="Owner",
                   username="Vault_Owner", phone="15550000001", is_self=True),
        types.User(id=4444, access_hash=1, first_name="min", min=True),
    ]
    chats = [
        types.Chat(id=987654321, title="Example Group", photo=photo, participants_count=3, date=None, version=1),
        types.Channel(id=1987654321, title="Example Channel", photo=photo, date=None,
                      access_hash=1311768467463790320, username="ExampleChannel", broadcast=True),
        types.Channel(id=2123456789, title="Example Supergroup", photo=photo, date=None,
                      access_hash=-2401053089206453570, megagroup=True),
    ]
    session.process_entities(types.contacts.ResolvedPeer(types.PeerUser(1234567890), users, chats))
    client._mb_entity_cache.set_self_user(6123456789, False, 4611686018427387905)
    client._message_box.load(SessionState(0, 0, False, 123456, 7890, 1717999000, 4321, None),
                             [ChannelState(1987654321, 5555), ChannelState(2123456789, 6666)])
    await client.disconnect()  # never connected: saves states and entities, then closes the session

asyncio.run(main(sys.argv[1]))
"""

# Process B: a new bot on the same vault resolves everything offline.
READER = """
import asyncio, json, sys
from telethon import TelegramClient
from sessionvault.telethon import VaultSession
from conftest import API_HASH, PASSPHRASE

async def main(path, keys):
    session = VaultSession(path, PASSPHRASE)
    client = TelegramClient(session, 12345, API_HASH)
    found = {}
    for key in keys:
        try:
            found[repr(key)] = (await client.get_input_entity(key)).to_dict()
        except (ValueError, ConnectionError):  # not cached: Telethon would ask Telegram
            found[repr(key)] = "miss"
    states = {i: [s.pts, s.qts, int(s.date.timestamp()), s.seq] for i, s in session.get_update_states()}
    result = {"found": found, "self": session.get_input_entity(0).to_dict(), "states": states,
              "dc": [session.dc_id, session.server_address, session.port], "takeout_id": session.takeout_id,
              "key_sha256": __import__("hashlib").sha256(session.auth_key.key).hexdigest()}
    await client.disconnect()
    print(json.dumps(result))

asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
"""
KEYS = ["alice_example", "@Example_Bot", "+1 (555) 123-4567", "https://t.me/examplechannel", 1234567890,
        -987654321, 987654321, -1001987654321, 2123456789, "Example Supergroup", "vault_owner", 4444, "nobody_here"]


def user(i, h):
    return {"_": "InputPeerUser", "user_id": i, "access_hash": h}


def test_real_client_resolves_from_the_vault_in_a_new_process(tmp_path):
    path = str(tmp_path / "bot")
    run_python(WRITER, path, cwd=tmp_path)
    result = run_python(READER, path, json.dumps(KEYS), cwd=tmp_path)
    found = result["found"]
    assert found["'alice_example'"] == user(1234567890, -5000000000000000001)
    assert found["'@Example_Bot'"] == user(5555555555, 8070450532247928832)
    assert found["'+1 (555) 123-4567'"] == user(1234567890, -5000000000000000001)
    channel = {"_": "InputPeerChannel", "channel_id": 1987654321, "access_hash": 1311768467463790320}
    assert found["'https://t.me/examplechannel'"] == channel and found["-1001987654321"] == channel
    assert found["1234567890"] == user(1234567890, -5000000000000000001)
    assert found["-987654321"] == found["987654321"] == {"_": "InputPeerChat", "chat_id": 987654321}
    supergroup = {"_": "InputPeerChannel", "channel_id": 2123456789, "access_hash": -2401053089206453570}
    assert found["2123456789"] == found["'Example Supergroup'"] == supergroup
    assert found["'vault_owner'"] == user(SELF_ID, SELF_HASH)
    assert found["4444"] == found["'nobody_here'"] == "miss"  # a min user is not stored
    assert result["self"] == user(0, SELF_ID)  # Telethon's self row: id 0, hash = own id
    assert result["states"] == {"0": [123456, 7890, 1717999000, 4321], "1987654321": [5555, 0, 0, 0],
                                "2123456789": [6666, 0, 0, 0]}
    assert result["dc"] == [2, "149.154.167.51", 443] and result["takeout_id"] == 12345
    assert result["key_sha256"] == hashlib.sha256(KEY).hexdigest()
    with sessionvault.Agent(tmp_path / "bot", PASSPHRASE) as agent:
        stored = agent.load()["session"]
        kinds = {p["id"]: p["kind"] for p in agent.peers()}
    assert stored["user"] == {"id": SELF_ID, "dc_id": 2, "is_bot": False, "username": None}
    assert kinds == {1234567890: "user", 5555555555: "bot", SELF_ID: "user", -987654321: "group",
                     -1001987654321: "channel", -1002123456789: "supergroup"}
    assert set(os.listdir(tmp_path)) <= {"bot.session", "bot.session-lock", "bot.session-wal", "bot.session-shm"}
    assert not scan_for_secrets([tmp_path], secret_needles([KEY], [SELF_ID, 1234567890]))


BOT_LOOP = """
import asyncio, sys
from telethon import TelegramClient
from telethon._updates import ChannelState, SessionState
from telethon.crypto import AuthKey
from sessionvault.telethon import VaultSession
from conftest import API_HASH, KDF, PASSPHRASE, make_key

async def main(path):
    session = VaultSession(path, PASSPHRASE, kdf=KDF, lock_wait=120)
    client = TelegramClient(session, 12345, API_HASH)
    if not session.auth_key:
        session.set_dc(2, "149.154.167.51", 443)
        session.auth_key = AuthKey(make_key("telethon"))
    state = session.get_update_state(0)
    n = state.pts if state else 0
    print("ready", flush=True)
    while True:  # what the keepalive loop does every minute, as fast as it can
        n += 1
        client._message_box.load(SessionState(0, 0, False, n, n, 1700000000 + n, n, None),
                                 [ChannelState(1987654321, n), ChannelState(2123456789, n)])
        await client._save_states_and_entities()
        print(n, flush=True)

asyncio.run(main(sys.argv[1]))
"""


def test_update_state_survives_sigkill_without_save(tmp_path):
    """No save(), no disconnect(): whatever state a call handed over before it returned is there."""
    path = str(tmp_path / "bot")
    rng = random.Random(20261130)
    before = (0, 0, 0)  # account pts, channel 1987654321, channel 2123456789 at the last check
    for round_ in range(10):
        bot = python_process(BOT_LOOP, path, cwd=tmp_path, stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert bot.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.05, 0.6))
        if round_ % 2:
            os.killpg(bot.pid, signal.SIGKILL)  # the bot and its agent at once
        else:
            bot.send_signal(signal.SIGKILL)  # the bot only: its agent ends with it
        printed = [int(line) for line in bot.stdout.read().split()]
        bot.wait()
        with sessionvault.Agent(path, PASSPHRASE, lock_wait=120) as agent:
            state = agent.load()["session"]["update_state"]
        channels = {c["channel_id"]: c["pts"] for c in state["channels"]}
        now = (state["pts"], channels[1987654321], channels[2123456789])
        # Every state whose call returned (printed) is there; beyond it, only the call in flight
        # (account first, then each channel) may have landed. Nothing goes backwards.
        last = printed[-1] if printed else 0
        highest = (printed[-1] if printed else before[0]) + 1
        assert highest >= now[0] >= now[1] >= now[2] >= last, (round_, printed[-3:], before, now)
        assert all(n >= b for n, b in zip(now, before)), (round_, before, now)
        assert state["date"] == 1700000000 + state["pts"] and state["seq"] == state["qts"] == state["pts"]
        before = now
        print('[sigkill]', round_, len(printed), now)
    assert before[2] > 0
    verify = cli("verify", path + ".session", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr


TWO_BOTS = """
import json, os, sys
from sessionvault.telethon import VaultSession
from conftest import KDF, PASSPHRASE
try:
    session = VaultSession(sys.argv[1], PASSPHRASE, kdf=KDF)
except Exception as error:
    print(json.dumps({"error": type(error).__name__, "holder_pid": error.holder_pid, "message": str(error)}))
    sys.exit(0)
print(json.dumps({"bot": os.getpid(), "agent": session._vault._agent.pid}), flush=True)
sys.stdin.readline()
session.close()
"""


def test_two_bots_on_one_vault(tmp_path):
    path = str(tmp_path / "bot")
    first = python_process(TWO_BOTS, path, cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pids = json.loads(first.stdout.readline())
    second = run_python(TWO_BOTS, path, cwd=tmp_path)
    assert second["error"] == "InUseError" and second["holder_pid"] == pids["agent"]
    assert str(pids["agent"]) in second["message"]
    with open("/proc/%d/status" % pids["agent"]) as status:  # the holder is the first bot's agent
        assert "PPid:\t%d\n" % pids["bot"] in status.read()
    first.communicate("\n", timeout=120)
    assert first.returncode == 0


def test_failures_are_clear_and_leave_no_plaintext(tmp_path, monkeypatch):
    path = str(tmp_path / "bot")
    session = VaultSession(path, PASSPHRASE, kdf=KDF)
    session.set_dc(4, "149.154.167.91", 443)
    session.auth_key = AuthKey(KEY)
    session.set_update_state(0, types.updates.State(1, 2, datetime.datetime.now(datetime.timezone.utc), 3, 0))
    with pytest.raises(sessionvault.InUseError):
        VaultSession(path, PASSPHRASE)
    # The agent killed under the bot: that call fails clearly; the next one starts a new agent.
    os.kill(session._vault._agent.pid, signal.SIGKILL)
    with pytest.raises(sessionvault.AgentDiedError) as died:
        session.set_update_state(0, types.updates.State(5, 2, datetime.datetime.now(), 3, 0))
    assert died.value.exit_status == -signal.SIGKILL
    assert session.get_update_state(0).pts == 1  # what is known to be stored
    session.set_update_state(0, types.updates.State(6, 2, datetime.datetime.now(), 3, 0))
    assert (session.dc_id, session.auth_key.key, session.get_update_state(0).pts) == (4, KEY, 6)
    session.close()
    with pytest.raises(sessionvault.WrongPassphraseError):
        VaultSession(path, "wrong passphrase")
    monkeypatch.setenv("SESSION_VAULT_BINARY", str(tmp_path / "missing"))
    with pytest.raises(sessionvault.AgentNotFoundError) as missing:
        VaultSession(path, PASSPHRASE)
    assert "make install" in str(missing.value)
    monkeypatch.undo()
    reopened = VaultSession(path, PASSPHRASE, create=False)
    assert (reopened.dc_id, reopened.auth_key.key, reopened.get_update_state(0).pts) == (4, KEY, 6)
    reopened.close()
    with closing(sqlite3.connect(path + ".session")) as db, db:
        rows = db.execute("SELECT tag, ciphertext FROM sv_record").fetchall()
        db.executemany("UPDATE sv_record SET ciphertext = ? WHERE tag = ?",
                       [(c[:-1] + bytes([c[-1] ^ 0x80]), t) for t, c in rows])
    with pytest.raises(sessionvault.TamperedError):
        VaultSession(path, PASSPHRASE)
    assert set(os.listdir(tmp_path)) <= {"bot.session", "bot.session-lock", "bot.session-wal", "bot.session-shm"}
    assert not scan_for_secrets([tmp_path], secret_needles([KEY]))


def test_no_secret_on_disk_while_running_or_after(tmp_path):
    path = str(tmp_path / "bot")
    session = VaultSession(path, PASSPHRASE, kdf=KDF)
    session.set_dc(2, "149.154.167.51", 443)
    session.auth_key = AuthKey(KEY)
    session.process_entities([types.User(id=SELF_ID, access_hash=SELF_HASH, first_name="Me", is_self=True),
                              types.InputPeerUser(0, SELF_ID)])
    for pts in range(1, 50):
        session.set_update_state(0, types.updates.State(pts, 0, datetime.datetime.now(), pts, 0))
    needles = secret_needles([KEY, hashlib.sha256(KEY).digest()], [SELF_ID])
    assert os.path.exists(path + ".session-wal")
    assert not scan_for_secrets([tmp_path], needles)  # the vault, its WAL and the working directory
    session.close()
    assert not scan_for_secrets([tmp_path], needles)
    assert KEY.hex() not in repr(session) and str(SELF_HASH) not in repr(session)


def test_session_semantics(tmp_path):
    path = str(tmp_path / "bot")
    session = VaultSession(path, PASSPHRASE, kdf=KDF)
    assert (session.dc_id, session.server_address, session.port, session.auth_key) == (0, None, None, None)
    assert session.get_update_state(0) is None and session.get_update_states() == []
    assert session.takeout_id is None and session.list_sessions() == []
    session.set_dc(2, "149.154.167.51", 443)
    session.auth_key = AuthKey(KEY)
    session.set_dc(2, "2001:67c:4e8:f002::a", 443)  # same DC over IPv6: the key stays
    assert (session.server_address, session.auth_key.key) == ("2001:67c:4e8:f002::a", KEY)
    session.set_dc(4, "149.154.167.91", 443)  # another DC: one data center, no key yet
    assert (session.dc_id, session.auth_key) == (4, None)
    session.auth_key = AuthKey(KEY)
    session.takeout_id = 99
    session.save()
    assert isinstance(session.clone(), MemorySession) and session.clone().auth_key is None
    session.close()
    session.close()
    # After close(), Telethon may connect again: the next write starts a new agent.
    session.set_update_state(1987654321, types.updates.State(77, 0, datetime.datetime.now(), 0, 0))
    assert session.get_update_state(1987654321).pts == 77 and session.get_update_state(5) is None
    session.auth_key = None
    session.close()
    with sessionvault.Agent(path, PASSPHRASE) as agent:
        stored = agent.load()["session"]
    assert [(dc["id"], dc["ipv4"], dc["auth_key"]) for dc in stored["data_centers"]] == [
        (4, {"host": "149.154.167.91", "port": 443}, None)]
    assert stored["takeout_id"] == 99 and stored["update_state"]["channels"] == [{"channel_id": 1987654321, "pts": 77}]
    session = VaultSession(path, PASSPHRASE)
    assert session.delete() is True
    assert os.listdir(tmp_path) == []


def test_imported_telethon_session_runs_through_the_adapter(tmp_path):
    path, facts = import_fixture("telethon-v8.session", tmp_path)
    session = VaultSession(path, PASSPHRASE, create=False)
    assert (session.dc_id, session.server_address, session.port) == (facts["dc_id"], facts["server_address"],
                                                                       facts["port"])
    assert hashlib.sha256(session.auth_key.key).hexdigest() == facts["auth_key_sha256"]
    assert int.from_bytes(session.auth_key.key_id.to_bytes(8, "little"), "little", signed=True) == facts["auth_key_id"]
    assert session.takeout_id == facts["takeout_id"]
    account = session.get_update_state(0)
    assert [account.pts, account.qts, int(account.date.timestamp()), account.seq] == [
        facts["update_state"][k] for k in ("pts", "qts", "date", "seq")]
    assert {i: s.pts for i, s in session.get_update_states() if i} == {c["id"]: c["pts"] for c in facts["channels"]}
    assert session.get_input_entity(0).access_hash == facts["user"]["id"]

    async def resolve_all():
        client = TelegramClient(session, 12345, API_HASH)  # in the loop (Python 3.9 has none outside)
        resolved = []
        for peer in facts["peers"]:
            by_id = await client.get_input_entity(peer["id"])
            resolved.append((peer, by_id))
            for key in ([peer["username"]] if peer["username"] else []) + ([peer["phone"]] if peer["phone"] else []):
                assert (await client.get_input_entity(key)).to_dict() == by_id.to_dict()
        return resolved
    for peer, input_peer in asyncio.run(resolve_all()):
        if peer["type"] == "chat":
            assert input_peer.chat_id == -peer["id"]
        else:
            assert input_peer.access_hash == peer["access_hash"]
    session.close()


@pytest.mark.skipif(not os.environ.get("SESSION_VAULT_TEST_POSTGRES_URL"),
                    reason="no PostgreSQL server (make python-test runs one with scripts/with-postgres.sh)")
def test_a_session_kept_in_postgresql(monkeypatch):
    monkeypatch.setenv("SESSION_VAULT_POSTGRES_PASSWORD_FILE", os.environ["SESSION_VAULT_TEST_POSTGRES_PASSWORD_FILE"])
    monkeypatch.setenv("SESSION_VAULT_POSTGRES_URL", os.environ["SESSION_VAULT_TEST_POSTGRES_URL"])
    name = "python-telethon-%d" % os.getpid()
    location = "%s?session=%s" % (os.environ["SESSION_VAULT_TEST_POSTGRES_URL"], name)
    session = VaultSession(location, PASSPHRASE, kdf=KDF)
    session.set_dc(2, "149.154.167.51", 443)
    session.auth_key = AuthKey(KEY)
    session.process_entities([types.User(id=1234567890, access_hash=-5000000000000000001, first_name="Alice",
                                         username="Alice_Example")])
    session.set_update_state(0, types.updates.State(5, 6, datetime.datetime.now(datetime.timezone.utc), 7, 0))
    with pytest.raises(sessionvault.InUseError):
        VaultSession("pg:" + name, PASSPHRASE)  # the same session by name, through SESSION_VAULT_POSTGRES_URL
    session.close()
    again = VaultSession("pg:" + name, PASSPHRASE, create=False)
    assert (again.dc_id, again.auth_key.key, again.get_update_state(0).pts) == (2, KEY, 5)
    assert again.get_input_entity("alice_example").access_hash == -5000000000000000001
    again.delete()
    with pytest.raises(sessionvault.NotFoundError):
        VaultSession("pg:" + name, PASSPHRASE, create=False)


def _state(pts):
    return types.updates.State(pts, 0, datetime.datetime.fromtimestamp(1700000000, datetime.timezone.utc), pts, 0)


async def _hold_then_lose(location, **options):
    """A TelegramClient on a PostgreSQL VaultSession writes; its agent is stopped (SIGSTOP) past
    the lease while a second holder takes the session and writes pts 2; then it resumes."""
    session = VaultSession(location, PASSPHRASE, kdf=KDF, **options)
    client = TelegramClient(session, 12345, API_HASH)
    session.set_dc(2, "149.154.167.51", 443)
    session.auth_key = AuthKey(KEY)
    session.process_entities([types.User(id=1234567890, access_hash=-5000000000000000001, first_name="Alice",
                                         username="Alice_Example")])
    session.set_update_state(0, _state(1))
    agent = session._vault._agent
    second = await asyncio.to_thread(take_over_while_stopped, agent.pid,
                                     lambda: VaultSession(location, PASSPHRASE, create=False, lock_wait=60))
    second.set_update_state(0, _state(2))
    return session, client, agent, second


@needs_postgres
def test_a_lost_lease_reaches_the_telethon_session(monkeypatch):
    """docs/LEASES.md through Telethon's real client: the holder's agent is paused past its lease,
    a second holder takes the session and writes; the first session's handler is called once, on
    the event loop, and its writes, key reads and lookups raise LeaseLostError; the data is the
    second holder's."""
    location, calls = lease_location(monkeypatch, "telethon-lease"), []

    async def main():
        loop, told = asyncio.get_running_loop(), asyncio.Event()

        def on_lease_lost(error):
            calls.append((error, asyncio.get_running_loop() is loop, threading.current_thread()))
            told.set()
        session, client, agent, second = await _hold_then_lose(location, on_lease_lost=on_lease_lost)
        await asyncio.wait_for(told.wait(), 30)
        assert isinstance(session.lease_lost, sessionvault.LeaseLostError)
        with pytest.raises(sessionvault.LeaseLostError) as raised:
            session.set_update_state(0, _state(3))
        assert (raised.value.code, raised.value.exit_status) == ("lease-lost", 75)
        with pytest.raises(sessionvault.LeaseLostError):
            session.set_update_state(0, _state(1))  # what it holds already: refused all the same
        with pytest.raises(sessionvault.LeaseLostError):
            session.auth_key  # the key is not handed out again
        with pytest.raises(sessionvault.LeaseLostError):
            session.get_input_entity("alice_example")  # a lookup the agent refuses
        with pytest.raises(sessionvault.LeaseLostError):
            await client.disconnect()  # Telethon saves its update state on disconnect: refused
        session.close()  # closing works after the loss and ends the agent
        assert agent.closed and agent._process.returncode == 0
        with pytest.raises(sessionvault.LeaseLostError):
            session.set_dc(4, "149.154.167.91", 443)  # no new agent is started for a lost session
        assert session._vault._agent is agent
        second.close()
        await asyncio.sleep(0.5)  # a second call of the handler would have come by now
    asyncio.run(main())
    assert len(calls) == 1
    error, on_the_loop, thread = calls[0]
    assert isinstance(error, sessionvault.LeaseLostError) and on_the_loop and thread is threading.main_thread()
    after = VaultSession(location, PASSPHRASE, create=False)
    assert (after.get_update_state(0).pts, after.auth_key.key, after.dc_id) == (2, KEY, 2)
    after.delete()


@needs_postgres
def test_disconnect_on_lease_lost_disconnects_the_telethon_client(monkeypatch):
    """The one-liner: the client's disconnect() runs on the loop when the lease is lost, then the
    session is closed; the next disconnect() (run_until_disconnected's) raises LeaseLostError."""
    location, disconnects = lease_location(monkeypatch, "telethon-helper"), []

    async def main():
        session = VaultSession(location, PASSPHRASE, kdf=KDF)
        client = TelegramClient(session, 12345, API_HASH)
        real_disconnect = client.disconnect
        client.disconnect = lambda: disconnects.append(threading.current_thread()) or real_disconnect()
        with pytest.raises(TypeError):
            disconnect_on_lease_lost(TelegramClient(MemorySession(), 12345, API_HASH))
        disconnect_on_lease_lost(client)
        session.set_dc(2, "149.154.167.51", 443)
        session.auth_key = AuthKey(KEY)
        session.set_update_state(0, _state(1))
        agent = session._vault._agent
        second = await asyncio.to_thread(take_over_while_stopped, agent.pid,
                                         lambda: VaultSession(location, PASSPHRASE, create=False, lock_wait=60))
        second.set_update_state(0, _state(2))
        for _ in range(300):
            if agent.closed:
                break
            await asyncio.sleep(0.1)
        assert agent.closed and disconnects == [threading.main_thread()]
        assert not client.is_connected()
        with pytest.raises(sessionvault.LeaseLostError):
            await real_disconnect()
        second.close()
    asyncio.run(main())
    after = VaultSession(location, PASSPHRASE, create=False)
    assert after.get_update_state(0).pts == 2
    after.delete()
