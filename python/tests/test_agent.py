"""sessionvault.Agent against the real `session-vault serve` (docs/AGENT.md)."""
import asyncio
import base64
import os
import signal
import sqlite3
import subprocess
import threading
import time
from contextlib import closing

import pytest

import sessionvault
from sessionvault import agent as agent_module
from conftest import KDF, PASSPHRASE, binary, make_key, scan_for_secrets, secret_needles

KEY = make_key("agent")
DC2 = {"id": 2, "media_only": False, "ipv4": {"host": "149.154.167.51", "port": 443}, "ipv6": None,
       "auth_key": base64.b64encode(KEY).decode(), "temporary_auth_key": None}
PEER = {"id": 93372553, "access_hash": -5432109876543210, "kind": "bot", "username": "BotFather", "phone": None,
        "name": "BotFather", "updated_at": 1700000000}
CHANNEL = {"id": -1001234567890, "access_hash": 8512345678901234567, "kind": "supergroup", "username": "SomeGroup",
           "phone": None, "name": "Some group", "updated_at": 1700000001}
USER = {"id": 1234567890, "access_hash": -9223372036854775808, "kind": "user", "username": None,
        "phone": "15551234567", "name": "Alice", "updated_at": None}


@pytest.fixture(autouse=True)
def no_inherited_passphrase(monkeypatch):
    for name in ("SESSION_VAULT_PASSPHRASE", "SESSION_VAULT_PASSPHRASE_FILE", "SESSION_VAULT_PASSPHRASE_FD",
                 "CREDENTIALS_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)


def open_agent(path, passphrase=PASSPHRASE, **options):
    options.setdefault("kdf", KDF)
    return sessionvault.Agent(path, passphrase, **options)


def test_create_write_read_and_reopen(tmp_path):
    path = tmp_path / "bot.session"
    with open_agent(path, create=True) as agent:
        assert agent.ready["protocol"] == 1 and agent.ready["format_version"] == 2
        assert agent.ready["storage"] == "sqlite" and agent.pid > 0
        hello = agent.hello()
        assert hello["protocol"] == 1 and {"load", "write", "peer", "close"} <= set(hello["ops"])
        assert agent.load() == {"session": None, "peer_count": 0}
        agent.write({"data_centers": {"upsert": [DC2], "exclusive": True}, "api_id": 12345,
                     "user": {"id": 777000, "dc_id": 2, "is_bot": True, "username": "Some_Bot"},
                     "update_state": {"pts": 10, "qts": 1, "date": 1700000000, "seq": 2},
                     "channels": {"upsert": [{"channel_id": 1234567890, "pts": 55}]},
                     "peers": [PEER, CHANNEL, USER], "takeout_id": -5})
        assert agent.peer("username", "@botfather")["id"] == PEER["id"]
        assert agent.peer("username", "somegroup")["access_hash"] == CHANNEL["access_hash"]
        assert agent.peer("phone", "+1 555 123 4567")["access_hash"] == -2 ** 63
        assert agent.peer("id", CHANNEL["id"])["kind"] == "supergroup"
        assert agent.peer("id", 42) is None
        assert [p["id"] for p in agent.peers()] == sorted([PEER["id"], CHANNEL["id"], USER["id"]])
        answers = agent.pipeline([("peer", {"by": "id", "value": i}) for i in (PEER["id"], 5, USER["id"])])
        assert [a["peer"] and a["peer"]["id"] for a in answers] == [PEER["id"], None, USER["id"]]
    assert agent.closed
    with open_agent(path) as agent:
        loaded = agent.load()
    session = loaded["session"]
    assert loaded["peer_count"] == 3
    assert base64.b64decode(session["data_centers"][0]["auth_key"]) == KEY
    assert session["data_centers"][0]["auth_key_id"] == int.from_bytes(
        __import__("hashlib").sha1(KEY).digest()[-8:], "little", signed=True)
    assert session["user"] == {"id": 777000, "dc_id": 2, "is_bot": True, "username": "Some_Bot"}
    assert session["update_state"] == {"pts": 10, "qts": 1, "date": 1700000000, "seq": 2,
                                       "channels": [{"channel_id": 1234567890, "pts": 55}]}
    assert (session["api_id"], session["test_mode"], session["takeout_id"]) == (12345, False, -5)
    assert set(os.listdir(tmp_path)) <= {"bot.session", "bot.session-lock", "bot.session-wal", "bot.session-shm"}
    assert not scan_for_secrets([tmp_path], secret_needles([KEY], [1234567890]))


def test_ready_event_has_every_documented_member(tmp_path):
    members = {"event", "protocol", "agent", "pid", "storage", "location", "format_version"}
    with open_agent(tmp_path / "v", create=True) as agent:
        assert set(agent.ready) >= members and agent.ready["event"] == "ready"
        assert set(agent.hello()) >= members - {"event"} | {"ops"}


def test_passphrase_goes_through_a_pipe_and_nowhere_else(tmp_path, monkeypatch):
    # Sources in our own environment must not reach the agent when a passphrase is given.
    monkeypatch.setenv("SESSION_VAULT_PASSPHRASE", "not this one")
    monkeypatch.setenv("SESSION_VAULT_PASSPHRASE_FILE", str(tmp_path / "nonexistent"))
    seen = {}
    real_popen = subprocess.Popen

    def spy(argv, **kwargs):
        seen.update(argv=list(argv), env=dict(kwargs["env"]), pass_fds=kwargs["pass_fds"])
        return real_popen(argv, **kwargs)
    monkeypatch.setattr(agent_module.subprocess, "Popen", spy)
    with open_agent(tmp_path / "bot", create=True) as agent:
        fd = seen["env"]["SESSION_VAULT_PASSPHRASE_FD"]
        assert seen["pass_fds"] == (int(fd),)
        assert not [k for k in seen["env"] if k.startswith("SESSION_VAULT_PASSPHRASE") and k != "SESSION_VAULT_PASSPHRASE_FD"]
        assert PASSPHRASE not in " ".join(seen["argv"]) + " ".join(seen["env"].values())
        with open("/proc/%d/cmdline" % agent.pid, "rb") as file:
            assert PASSPHRASE.encode() not in file.read()
        assert PASSPHRASE not in repr(agent)
    monkeypatch.undo()
    # The same passphrase from the environment opens it: the pipe carried exactly these bytes.
    monkeypatch.setenv("SESSION_VAULT_PASSPHRASE", PASSPHRASE)
    with sessionvault.Agent(tmp_path / "bot", None) as agent:
        assert agent.load()["session"] is None


def test_passphrase_bytes_are_exact(tmp_path, monkeypatch):
    with open_agent(tmp_path / "v", b"exact\n", create=True):
        pass
    with pytest.raises(sessionvault.WrongPassphraseError):
        open_agent(tmp_path / "v", "exact")
    with open_agent(tmp_path / "v", bytearray(b"exact\n")):
        pass
    # The file source drops one trailing newline, as the command line does.
    secret = tmp_path / "passphrase"
    secret.write_bytes(b"exact\n\n")
    monkeypatch.setenv("SESSION_VAULT_PASSPHRASE_FILE", str(secret))
    with sessionvault.Agent(tmp_path / "v"):
        pass


def test_errors_are_typed(tmp_path):
    with open_agent(tmp_path / "v", create=True):
        pass
    with pytest.raises(sessionvault.WrongPassphraseError) as wrong:
        open_agent(tmp_path / "v", "not the passphrase")
    error = wrong.value
    assert isinstance(error, sessionvault.VaultError)
    assert (error.code, error.exit_status) == ("wrong-passphrase", 65)
    assert "not the passphrase" not in str(error)
    with pytest.raises(sessionvault.NotFoundError) as missing:
        open_agent(tmp_path / "nothing-here")
    assert (missing.value.code, missing.value.exit_status) == ("not-found", 64)
    with pytest.raises(sessionvault.InvalidArgumentError):  # no passphrase source at all
        sessionvault.Agent(tmp_path / "v")
    (tmp_path / "plain.session").write_bytes(b"SQLite format 3\x00" + bytes(4080))
    with pytest.raises((sessionvault.NotAVaultError, sessionvault.CorruptError)):
        open_agent(tmp_path / "plain.session")
    assert {name.split("-")[0] for name in os.listdir(tmp_path)} == {"plain.session", "v.session"}


def test_a_failed_request_leaves_the_agent_usable(tmp_path):
    with open_agent(tmp_path / "v", create=True) as agent:
        with pytest.raises(sessionvault.InvalidArgumentError):
            agent.request("no-such-op")
        with pytest.raises(sessionvault.InvalidArgumentError):
            agent.request("load", unexpected=1)
        with pytest.raises(sessionvault.InvalidArgumentError):
            agent.write({"peers": [dict(PEER, kind="forum")]})
        with pytest.raises(sessionvault.InvalidArgumentError) as error:
            agent.write({"data_centers": {"upsert": [dict(DC2, auth_key="c2hvcnQ=")]}})
        assert "c2hvcnQ=" not in str(error.value)
        assert agent.load()["session"] is None  # nothing of the failed writes was applied


def test_an_oversized_request_ends_the_agent(tmp_path):
    agent = open_agent(tmp_path / "v", create=True)
    overhead = len('{"padding":"","id":1,"op":"load"}')
    with pytest.raises(sessionvault.InvalidArgumentError):  # one byte over: 16 MiB + 1 without the newline
        agent.request("load", padding="x" * (16 * 1024 * 1024 + 1 - overhead))
    assert agent.closed and agent._process.returncode == 64
    with open_agent(tmp_path / "v") as again:  # the lock was released
        assert again.load()["session"] is None


def test_in_use_names_the_holder_and_lock_wait_waits(tmp_path):
    first = open_agent(tmp_path / "v", create=True)
    with pytest.raises(sessionvault.InUseError) as in_use:
        open_agent(tmp_path / "v")
    assert in_use.value.holder_pid == first.pid
    assert (in_use.value.code, in_use.value.exit_status) == ("in-use", 67)
    threading.Timer(0.5, first.close).start()
    with open_agent(tmp_path / "v", lock_wait=120) as second:
        assert second.load()["session"] is None


def test_missing_binary_says_how_to_install(tmp_path, monkeypatch):
    real = binary()
    monkeypatch.setenv("SESSION_VAULT_BINARY", str(tmp_path / "nonexistent"))
    with pytest.raises(sessionvault.AgentNotFoundError) as named:
        open_agent(tmp_path / "v", create=True)
    assert "SESSION_VAULT_BINARY" in str(named.value) and "make install PREFIX=" in str(named.value)
    monkeypatch.delenv("SESSION_VAULT_BINARY")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(sessionvault.AgentNotFoundError) as on_path:
        open_agent(tmp_path / "v", create=True)
    assert "PATH" in str(on_path.value) and "make install PREFIX=" in str(on_path.value)
    assert on_path.value.code == "agent-not-found"
    monkeypatch.setenv("PATH", os.path.dirname(real))  # found on PATH
    with open_agent(tmp_path / "v", create=True):
        pass
    assert sorted(os.listdir(tmp_path))[0] == "v.session"


def test_tampered_record_is_refused(tmp_path):
    path = tmp_path / "v.session"
    with open_agent(path, create=True) as agent:
        agent.write({"data_centers": {"upsert": [DC2]}})
    with closing(sqlite3.connect(path)) as db:
        before = {tag for (tag,) in db.execute("SELECT tag FROM sv_record")}
    with open_agent(path) as agent:
        agent.write({"peers": [PEER]})
    with closing(sqlite3.connect(path)) as db, db:
        rows = db.execute("SELECT tag, ciphertext FROM sv_record").fetchall()
        tag, ciphertext = next((t, c) for t, c in rows if t not in before)
        flipped = ciphertext[:-1] + bytes([ciphertext[-1] ^ 1])
        db.execute("UPDATE sv_record SET ciphertext = ? WHERE tag = ?", (flipped, tag))
    with pytest.raises(sessionvault.TamperedError) as tampered:
        open_agent(path)
    assert (tampered.value.code, tampered.value.exit_status) == ("tampered", 66)
    assert tampered.value.record_kind in ("peer", "peer-index")


def test_agent_killed_under_the_client(tmp_path):
    agent = open_agent(tmp_path / "v", create=True)
    agent.write({"update_state": {"pts": 7, "qts": 0, "date": 1, "seq": 1}})
    os.kill(agent.pid, signal.SIGKILL)
    with pytest.raises(sessionvault.AgentDiedError) as died:
        agent.write({"update_state": {"pts": 8, "qts": 0, "date": 1, "seq": 1}})
    assert died.value.exit_status == -signal.SIGKILL and died.value.code == "agent-died"
    assert agent.closed
    agent.close()  # idempotent
    with pytest.raises(sessionvault.ClosedError):
        agent.load()
    with open_agent(tmp_path / "v", lock_wait=60) as again:
        assert again.load()["session"]["update_state"]["pts"] == 7


def test_delete_removes_the_vault(tmp_path):
    agent = open_agent(tmp_path / "v", create=True)
    agent.write({"update_state": {"pts": 7, "qts": 0, "date": 1, "seq": 1}})
    agent.delete()
    assert agent.closed and os.listdir(tmp_path) == []


def test_async_agent(tmp_path):
    async def main():
        async with await sessionvault.AsyncAgent.open(tmp_path / "v", PASSPHRASE, create=True, kdf=KDF) as agent:
            await asyncio.gather(*(agent.write({"peers": [dict(PEER, id=PEER["id"] + i, username="p%d" % i)]})
                                   for i in range(8)))
            found = await asyncio.gather(*(agent.peer("username", "P%d" % i) for i in range(8)))
            assert [p["id"] for p in found] == [PEER["id"] + i for i in range(8)]
            assert len(await agent.peers()) == 8
            assert "AsyncAgent" in repr(agent)
    asyncio.run(main())


def test_an_agent_started_from_a_thread_outlives_the_thread(tmp_path):
    """PR_SET_PDEATHSIG fires when the thread that started the agent ends (asyncio.to_thread does
    that): agents are started from a thread that lives as long as the process."""
    started = []
    thread = threading.Thread(target=lambda: started.append(open_agent(tmp_path / "v", create=True)))
    thread.start()
    thread.join()
    agent = started[0]
    time.sleep(0.5)
    assert agent.load()["session"] is None and agent._process.poll() is None
    agent.close()


def test_the_agent_ends_with_its_client(tmp_path):
    """End of input (the client closed the pipe or died) closes the vault cleanly."""
    agent = open_agent(tmp_path / "v", create=True)
    agent._process.stdin.close()
    assert agent._process.wait(timeout=120) == 0
    with open_agent(tmp_path / "v") as again:
        assert again.load()["peer_count"] == 0


POSTGRES_URL = os.environ.get("SESSION_VAULT_TEST_POSTGRES_URL")


@pytest.mark.skipif(not POSTGRES_URL and not os.environ.get("CI"), reason="no PostgreSQL cluster (make python-test starts one)")
def test_a_lost_lease_raises_lease_lost_and_calls_the_handler(monkeypatch):
    """docs/LEASES.md: the holder's agent is paused past its lease, another agent takes the session
    and writes; the first is told (on_lease_lost, from the agent's event) and its writes raise
    LeaseLostError (exit status 75); the data is the second holder's."""
    assert POSTGRES_URL, "SESSION_VAULT_TEST_POSTGRES_URL is not set: run through make python-test"
    monkeypatch.setenv("SESSION_VAULT_POSTGRES_PASSWORD_FILE", os.environ["SESSION_VAULT_TEST_POSTGRES_PASSWORD_FILE"])
    location = "%s?session=python-lease-%d-%d&lease_seconds=6" % (POSTGRES_URL, os.getpid(), time.monotonic_ns())
    told, errors = threading.Event(), []

    def on_lease_lost(error):
        errors.append(error)
        told.set()

    first = open_agent(location, create=True, on_lease_lost=on_lease_lost)
    try:
        first.write({"update_state": {"pts": 1, "qts": 0, "date": 1700000000, "seq": 1}})
        os.kill(first.pid, signal.SIGSTOP)
        try:
            second = open_agent(location, lock_wait=60)
        finally:
            os.kill(first.pid, signal.SIGCONT)
        with second:
            second.write({"update_state": {"pts": 2, "qts": 0, "date": 1700000000, "seq": 1}})
            assert told.wait(30), "the first agent's client was not told"
            assert len(errors) == 1 and isinstance(errors[0], sessionvault.LeaseLostError)
            assert isinstance(first.lease_lost, sessionvault.LeaseLostError)
            with pytest.raises(sessionvault.LeaseLostError) as raised:
                first.write({"update_state": {"pts": 3, "qts": 0, "date": 1700000000, "seq": 1}})
            assert raised.value.exit_status == 75
            assert second.load()["session"]["update_state"]["pts"] == 2
    finally:
        first.close()
    assert len(errors) == 1
