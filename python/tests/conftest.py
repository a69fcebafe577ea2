"""Shared helpers of the sessionvault tests. They run the REAL agent named by SESSION_VAULT_BINARY
(`make python-test` sets it to .build/debug/session-vault) with the fast `interactive` KDF profile,
and never touch the network."""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(HERE)
REPO = os.path.dirname(PYTHON_DIR)
INTEROP = os.path.join(REPO, "Fixtures", "interop")
PASSPHRASE = "sessionvault python tests: correct horse battery staple"
KDF = "interactive"
API_HASH = "0123456789abcdef0123456789abcdef"
VAULT_FILES = (".session", ".session-wal", ".session-shm", ".session-lock")


def pytest_configure(config):
    binary = os.environ.get("SESSION_VAULT_BINARY")
    if not binary or not os.access(binary, os.X_OK):
        raise pytest.UsageError("SESSION_VAULT_BINARY must name the built session-vault agent "
                                "(make python-test sets it to .build/debug/session-vault)")


def binary():
    return os.environ["SESSION_VAULT_BINARY"]


def make_key(label):
    """A deterministic synthetic 256-byte auth key."""
    out, counter = b"", 0
    while len(out) < 256:
        out += hashlib.sha256(("sessionvault python test|%s|%d" % (label, counter)).encode()).digest()
        counter += 1
    return out[:256]


def clean_env(**extra):
    """This process's environment without any passphrase source, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSION_VAULT_PASSPHRASE")}
    env.pop("CREDENTIALS_DIRECTORY", None)
    env.update(PYTHONPATH=os.pathsep.join([PYTHON_DIR, HERE]), PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def python_process(code, *args, cwd=None, env=None, **popen):
    """Starts ``code`` (dedented) in a new Python process of this interpreter."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)] + [str(a) for a in args],
                            cwd=cwd, env=env or clean_env(), **popen)


def run_python(code, *args, cwd=None, env=None, check=True):
    """Runs ``code`` in a new process; returns the JSON object it printed last."""
    process = python_process(code, *args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    out, err = process.communicate(timeout=300)
    if check and process.returncode != 0:
        raise AssertionError("child failed (%s):\n%s\n%s" % (process.returncode, out, err))
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def cli(*args, env=None, check=True, input=None):
    """Runs the session-vault command (with the test passphrase in its environment)."""
    process = subprocess.run([binary()] + [str(a) for a in args], env=env or clean_env(SESSION_VAULT_PASSPHRASE=PASSPHRASE),
                             input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    if check and process.returncode != 0:
        raise AssertionError("session-vault %s failed (%d): %s%s" % (args[0], process.returncode, process.stdout,
                                                                     process.stderr))
    return process


def windows(secret, size=8):
    return {secret[i:i + size] for i in range(len(secret) - size + 1)}


def secret_needles(auth_keys=(), user_ids=()):
    """Every 8-byte window of each key; each id as 8-byte little/big-endian and as decimal text."""
    needles = set()
    for key in auth_keys:
        needles |= windows(key)
    for user_id in user_ids:
        needles |= {user_id.to_bytes(8, "little", signed=True), user_id.to_bytes(8, "big", signed=True),
                    str(user_id).encode()}
    return needles


def scan_for_secrets(directories, needles):
    """[(path, needle)] for every file under ``directories`` that holds a needle."""
    found = []
    for directory in directories:
        for root, _, files in os.walk(directory):
            for name in files:
                path = os.path.join(root, name)
                try:
                    with open(path, "rb") as file:
                        data = file.read()
                except OSError:
                    continue
                found += [(path, needle) for needle in needles if needle in data]
    return found


def vault_files(directory):
    """Every file in ``directory`` (a test leaves only vault files and its own scripts there)."""
    return sorted(os.listdir(directory))


def import_fixture(name, tmp_path):
    """`session-vault import` of an interop fixture (a copy) into a new vault; returns its path
    and the fixture's facts from Fixtures/interop/manifest.json."""
    with open(os.path.join(INTEROP, "manifest.json")) as file:
        entry = next(f for f in json.load(file)["fixtures"] if f["file"] == name)
    source = tmp_path / ("source-" + name)
    shutil.copyfile(os.path.join(INTEROP, name), source)
    vault = tmp_path / "imported.session"
    cli("import", source, vault, "--kdf", KDF)
    source.unlink()
    return str(vault), entry["facts"]


POSTGRES_URL = os.environ.get("SESSION_VAULT_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(not POSTGRES_URL and not os.environ.get("CI"),
                                    reason="no PostgreSQL cluster (make python-test starts one)")


def lease_location(monkeypatch, label, lease_seconds=6):
    """A new PostgreSQL session with a short lease (docs/LEASES.md), the database password in the
    environment the agents inherit."""
    assert POSTGRES_URL, "SESSION_VAULT_TEST_POSTGRES_URL is not set: run through make python-test"
    monkeypatch.setenv("SESSION_VAULT_POSTGRES_PASSWORD_FILE", os.environ["SESSION_VAULT_TEST_POSTGRES_PASSWORD_FILE"])
    return "%s?session=python-%s-%d-%d&lease_seconds=%d" % (POSTGRES_URL, label, os.getpid(), time.monotonic_ns(),
                                                            lease_seconds)


def take_over_while_stopped(agent_pid, open_second):
    """Stops the holder's agent (SIGSTOP) while ``open_second()`` waits for its lease to expire and
    takes the session, then resumes it; returns what ``open_second`` returned."""
    os.kill(agent_pid, signal.SIGSTOP)
    try:
        return open_second()
    finally:
        os.kill(agent_pid, signal.SIGCONT)
