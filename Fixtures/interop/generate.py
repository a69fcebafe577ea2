#!/usr/bin/env python3
"""Regenerate the SessionVault interop fixtures with the REAL Python libraries.

Run from the repository root (any Python >= 3.9 with the stdlib only):

    python3 Fixtures/interop/generate.py                  # regenerate + manifest.json
    python3 Fixtures/interop/generate.py --check          # regenerate into a temp dir and
                                                          # compare with the committed files
    python3 Fixtures/interop/generate.py --venv-dir /tmp/sv-venvs

What it does
  1. Creates one virtual environment per pinned library version (default
     Fixtures/.venv/<name>/, which is git-ignored) and installs the pins below
     with pip (PyPI only; nothing else is downloaded).  An existing venv whose
     recorded pins match is reused.
  2. Re-runs this very file inside each venv (``--worker <venv name>``): the
     worker builds the fixtures by calling the libraries' own session/storage
     classes directly (SQLiteSession, StringSession, FileStorage, MemoryStorage,
     SQLiteStorage, export_session_string, TelegramBaseClient's own
     _save_states_and_entities).  Nothing ever connects to Telegram.
  3. The whole build is done TWICE in two temporary directories and compared
     byte for byte (-> ``byte_stable`` in the manifest).
  4. Reads every produced file back with plain sqlite3 / base64 / struct (this
     file, host Python) and compares those facts with (a) the facts the
     generator meant to write (SPEC below) and (b) what the real library reads
     back (check_export.py, run inside the venvs).  Any mismatch aborts.
  5. Copies the fixtures into Fixtures/interop/ and writes manifest.json.

Determinism
  * Auth keys: SHA-256 in counter mode over a fixed label (``derive_key``).
  * Fixed ids, access hashes, dates (SPEC).
  * Wall clock: inside the workers ``time.time`` returns FIXED_NOW, Telethon's
    ``datetime.datetime.now()`` in telegrambaseclient returns FIXED_NOW+0.25,
    and SQLite's ``strftime('%s','now')`` (Pyrogram's peers.last_update_on
    DEFAULT and trigger) is overridden on the library's own connection with
    ``create_function`` so that 'now' means FIXED_NOW.  No file is edited after
    the library wrote it.
  * SQLite files embed the SQLite library version in their header (offsets
    92-99), so their bytes/sha256 are only reproducible with the same SQLite
    version (recorded in manifest.json as generator.sqlite_version).
"""
from __future__ import annotations

import argparse
import base64
import datetime as _dt
import hashlib
import ipaddress
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

# --------------------------------------------------------------------------
# Pinned versions (one venv each: kurigram and pyrogram both install `pyrogram`)
# --------------------------------------------------------------------------
PINS = {
    "telethon-1.45.0": ["telethon==1.45.0", "pyaes==1.6.1", "rsa==4.9.1", "pyasn1==0.6.5"],
    "telethon-1.42.0": ["telethon==1.42.0", "pyaes==1.6.1", "rsa==4.9.1", "pyasn1==0.6.5"],
    "pyrogram-2.0.106": ["pyrogram==2.0.106", "pyaes==1.6.1", "PySocks==1.7.1"],
    "kurigram-2.2.26": ["kurigram==2.2.26", "pyaes==1.6.1", "python-socks==3.2.1"],
}
# distribution name (for importlib.metadata) per venv
DIST = {
    "telethon-1.45.0": ("Telethon", "1.45.0"),
    "telethon-1.42.0": ("Telethon", "1.42.0"),
    "pyrogram-2.0.106": ("Pyrogram", "2.0.106"),
    "kurigram-2.2.26": ("Kurigram", "2.2.26"),
}
# worker order matters: kurigram migrates the pyrogram file
WORKER_ORDER = ["telethon-1.45.0", "telethon-1.42.0", "pyrogram-2.0.106", "kurigram-2.2.26"]

HERE = Path(__file__).resolve().parent
DEFAULT_VENV_DIR = HERE.parent / ".venv"

# --------------------------------------------------------------------------
# Fixed facts
# --------------------------------------------------------------------------
FIXED_NOW = 1718000000  # 2024-06-10T06:13:20Z, used for every "now"
KEY_LABEL = "SessionVault interop fixture v1"


def derive_key(label: str, size: int = 256) -> bytes:
    """Deterministic synthetic key: SHA-256 counter mode over a fixed label."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{KEY_LABEL}|{label}|{counter}".encode()).digest()
        counter += 1
    return out[:size]


def key_id_signed(key: bytes | None):
    """Telegram auth_key_id: last 8 bytes of SHA-1(key), little-endian signed int64."""
    if not key:
        return None
    return int.from_bytes(hashlib.sha1(key).digest()[-8:], "little", signed=True)


def key_sha256(key: bytes | None):
    return hashlib.sha256(key).hexdigest() if key else None


DC2_IPV4 = "149.154.167.51"
DC2_IPV6 = "2001:67c:4e8:f002::a"
PYROGRAM_PROD_DC2 = DC2_IPV4  # Kurigram's PROD[2], used by its 6->7 migration

# Telethon (both schema 7 and 8 files carry the same facts)
TELETHON = {
    "dc_id": 2, "server_address": DC2_IPV4, "port": 443,
    "key_label": "telethon-sqlite", "tmp_key_label": "telethon-sqlite-tmp",
    "takeout_id": 12345,
    "self": {"id": 6123456789, "access_hash": 4611686018427387905, "first_name": "Vault",
             "last_name": "Owner", "username": "Vault_Owner", "phone": "15550000001"},
    "users": [
        {"id": 1234567890, "access_hash": -5000000000000000001, "first_name": "Alice",
         "last_name": "Example", "username": "Alice_Example", "phone": "15551234567", "bot": False},
        {"id": 5555555555, "access_hash": 8070450532247928832, "first_name": "Example Bot",
         "last_name": None, "username": "example_bot", "phone": None, "bot": True},
    ],
    "chats": [{"id": 987654321, "title": "Example Group"}],
    "channels": [
        {"id": 1987654321, "access_hash": 1311768467463790320, "title": "Example Channel",
         "username": "ExampleChannel", "broadcast": True, "megagroup": False},
        {"id": 2123456789, "access_hash": -2401053089206453570, "title": "Example Supergroup",
         "username": None, "broadcast": False, "megagroup": True},
    ],
    # account state (entity id 0) and per-channel pts (raw channel ids, as Telethon stores them)
    "state": {"pts": 123456, "qts": 7890, "date": 1717999000, "seq": 4321},
    "channel_pts": {1987654321: 5555, 2123456789: 6666, 1500000001: 77},
}
TELETHON_STRING_IPV6 = {"dc_id": 2, "server_address": DC2_IPV6, "port": 443,
                        "key_label": "telethon-string-ipv6"}

PYROGRAM = {
    "dc_id": 2, "api_id": 12345, "test_mode": False, "key_label": "pyrogram-2.0.106",
    "user_id": 7123456789, "is_bot": False,
    "self": {"id": 7123456789, "access_hash": 3074457345618258602, "first_name": "Vault",
             "username": "Vault_Owner", "phone": "15550000001", "bot": False},
    "users": [
        {"id": 1234567890, "access_hash": -5000000000000000001, "first_name": "Alice",
         "username": "Alice_Example", "phone": "15551234567", "bot": False},
        {"id": 5555555555, "access_hash": 8070450532247928832, "first_name": "Example Bot",
         "username": "example_bot", "phone": None, "bot": True},
    ],
    "chats": [{"id": 987654321, "title": "Example Group"}],
    "channels": [
        {"id": 1987654321, "access_hash": 1311768467463790320, "title": "Example Channel",
         "username": "ExampleChannel", "broadcast": True, "megagroup": False},
        {"id": 2123456789, "access_hash": -2401053089206453570, "title": "Example Supergroup",
         "username": "Example_Supergroup", "broadcast": False, "megagroup": True},
    ],
}

KURIGRAM = {
    "dc_id": 2, "server_address": DC2_IPV4, "port": 443, "api_id": 12345, "test_mode": False,
    "key_label": "kurigram-2.2.26", "user_id": 6543210987, "is_bot": True,
    "self": {"id": 6543210987, "access_hash": 2305843009213693951, "first_name": "Vault Helper",
             "username": "Vault_Helper_Bot", "phone": None, "bot": True},
    "users": [
        {"id": 1234567890, "access_hash": -5000000000000000001, "first_name": "Alice",
         "username": "Alice_Example", "phone": "15551234567", "bot": False},
    ],
    "chats": [{"id": 987654321, "title": "Example Group"}],
    # usernames: Kurigram stores every active username in its own table
    "channels": [
        {"id": 1987654321, "access_hash": 1311768467463790320, "title": "Example Channel",
         "username": None, "usernames": ["ExampleChannel", "Example_Alt"],
         "broadcast": True, "megagroup": False, "forum": False},
        {"id": 2123456789, "access_hash": -2401053089206453570, "title": "Example Supergroup",
         "username": "Example_Supergroup", "usernames": None,
         "broadcast": False, "megagroup": True, "forum": False},
        {"id": 1122334455, "access_hash": 6148914691236517205, "title": "Example Forum",
         "username": None, "usernames": None, "broadcast": False, "megagroup": True, "forum": True},
    ],
    "state": {"pts": 223344, "qts": 55, "date": 1717999000, "seq": 987},
    # Kurigram stores channel states under the MARKED id (-100...), pts only
    "channel_pts": {1987654321: 5555, 2123456789: 6666},
}

# Hand-built old Pyrogram string forms (packed with Storage.OLD_SESSION_STRING_FORMAT*)
PYRO_OLD_351 = {"dc_id": 4, "test_mode": False, "key_label": "pyrogram-string-351",
                "user_id": 123456789, "is_bot": True}
PYRO_OLD_356 = {"dc_id": 2, "test_mode": True, "key_label": "pyrogram-string-356",
                "user_id": 7123456790, "is_bot": False}

# file name -> (format, venv that produced it)
FIXTURES = {
    "telethon-v8.session": ("telethon", "telethon-1.45.0"),
    "telethon-v8-tmpkey.session": ("telethon", "telethon-1.45.0"),
    "telethon-v8-nokey.session": ("telethon", "telethon-1.45.0"),
    "telethon-v7.session": ("telethon", "telethon-1.42.0"),
    "telethon-ipv4.txt": ("telethon-string", "telethon-1.45.0"),
    "telethon-ipv6.txt": ("telethon-string", "telethon-1.45.0"),
    "pyrogram-2.0.106.session": ("pyrogram", "pyrogram-2.0.106"),
    "pyrogram-string.txt": ("pyrogram-string", "pyrogram-2.0.106"),
    "pyrogram-string-351.txt": ("pyrogram-string", "pyrogram-2.0.106"),
    "pyrogram-string-356.txt": ("pyrogram-string", "pyrogram-2.0.106"),
    "kurigram-2.2.26.session": ("pyrogram", "kurigram-2.2.26"),
    "kurigram-string.txt": ("pyrogram-string", "kurigram-2.2.26"),
    "kurigram-migrated-from-pyrogram-2.0.106.session": ("pyrogram", "kurigram-2.2.26"),
}

DESCRIPTIONS = {
    "telethon-v8.session": "Telethon 1.45.0 SQLiteSession, schema 8: DC2 key, takeout id, account+channel update state, self-user id-0 row, users/bot/chat/channels.",
    "telethon-v8-tmpkey.session": "Same as telethon-v8.session but SQLiteSession(store_tmp_auth_key_on_disk=True) with a temporary auth key in sessions.tmp_auth_key.",
    "telethon-v8-nokey.session": "Fresh Telethon 1.45.0 SQLiteSession, never logged in: sessions row (0, NULL, NULL, x'', NULL, x'').",
    "telethon-v7.session": "Telethon 1.42.0 SQLiteSession, schema 7 (no tmp_auth_key column); same facts as telethon-v8.session.",
    "telethon-ipv4.txt": "Telethon StringSession.save(SQLiteSession('telethon-v8.session')) -> 353-char IPv4 string (same key as telethon-v8.session).",
    "telethon-ipv6.txt": "Telethon StringSession for DC2 IPv6 2001:67c:4e8:f002::a:443 -> 369-char string.",
    "pyrogram-2.0.106.session": "Pyrogram 2.0.106 FileStorage, schema 3: user (64-bit id) session with peers of every type.",
    "pyrogram-string.txt": "Pyrogram 2.0.106 export_session_string() of pyrogram-2.0.106.session (current 362-char form).",
    "pyrogram-string-351.txt": "Old 351-char Pyrogram string (struct Storage.OLD_SESSION_STRING_FORMAT, 32-bit user id, bot, DC4).",
    "pyrogram-string-356.txt": "Old 356-char Pyrogram string (struct Storage.OLD_SESSION_STRING_FORMAT_64, 64-bit user id, test_mode=True).",
    "kurigram-2.2.26.session": "Kurigram 2.2.26 SQLiteStorage, schema 7: bot session with server address/port, update_state rows, peers + usernames tables.",
    "kurigram-string.txt": "Kurigram 2.2.26 export_session_string() of kurigram-2.2.26.session (362 chars, bot).",
    "kurigram-migrated-from-pyrogram-2.0.106.session": "pyrogram-2.0.106.session opened once by Kurigram 2.2.26 SQLiteStorage (migrated 3->7): different sessions column order, legacy peers.username column kept, usernames table empty.",
}


# ==========================================================================
# Expected facts (from SPEC) -- what the generator meant to write
# ==========================================================================
def _peer(id_, access_hash, type_, username=None, usernames=None, phone=None, name=None):
    if usernames is None:
        usernames = [username] if username else []
    return {"id": id_, "access_hash": access_hash, "type": type_,
            "username": usernames[0] if usernames else None, "usernames": list(usernames),
            "phone": phone, "name": name}


def _empty_facts():
    return {"dc_id": None, "server_address": None, "port": None, "ipv6": None,
            "test_mode": None, "api_id": None,
            "auth_key_id": None, "auth_key_sha256": None,
            "tmp_auth_key_id": None, "tmp_auth_key_sha256": None,
            "takeout_id": None, "session_date": None,
            "user": None, "update_state": None, "channels": [], "peers": []}


def _telethon_display_name(first, last):
    # telethon.utils.get_display_name for a User: first + ' ' + last, or either
    if first and last:
        return f"{first} {last}"
    return first or last or None


def expected_facts(name: str) -> dict:
    f = _empty_facts()
    if name.startswith("telethon-v") and name != "telethon-v8-nokey.session":
        t = TELETHON
        key = derive_key(t["key_label"])
        f.update(dc_id=t["dc_id"], server_address=t["server_address"], port=t["port"], ipv6=False,
                 auth_key_id=key_id_signed(key), auth_key_sha256=key_sha256(key),
                 takeout_id=t["takeout_id"])
        if name == "telethon-v8-tmpkey.session":
            tmp = derive_key(t["tmp_key_label"])
            f.update(tmp_auth_key_id=key_id_signed(tmp), tmp_auth_key_sha256=key_sha256(tmp))
        s = t["self"]
        f["user"] = {"id": s["id"], "is_bot": None, "username": s["username"].lower(), "dc": t["dc_id"]}
        st = t["state"]
        f["update_state"] = {"pts": st["pts"], "qts": st["qts"], "date": st["date"], "seq": st["seq"]}
        f["channels"] = [{"id": cid, "pts": pts} for cid, pts in sorted(t["channel_pts"].items())]
        peers = [_peer(s["id"], s["access_hash"], "user", s["username"].lower(), phone=s["phone"],
                       name=_telethon_display_name(s["first_name"], s["last_name"]))]
        for u in t["users"]:
            peers.append(_peer(u["id"], u["access_hash"], "user",
                               u["username"].lower() if u["username"] else None, phone=u["phone"],
                               name=_telethon_display_name(u["first_name"], u["last_name"])))
        for c in t["chats"]:
            peers.append(_peer(-c["id"], 0, "chat", name=c["title"]))
        for c in t["channels"]:
            peers.append(_peer(-(10 ** 12 + c["id"]), c["access_hash"], "channel",
                               c["username"].lower() if c["username"] else None, name=c["title"]))
        f["peers"] = sorted(peers, key=lambda p: p["id"])
    elif name == "telethon-v8-nokey.session":
        f.update(dc_id=0)
    elif name in ("telethon-ipv4.txt", "telethon-ipv6.txt"):
        if name == "telethon-ipv4.txt":
            src, key = TELETHON, derive_key(TELETHON["key_label"])
        else:
            src, key = TELETHON_STRING_IPV6, derive_key(TELETHON_STRING_IPV6["key_label"])
        f.update(dc_id=src["dc_id"], server_address=src["server_address"], port=src["port"],
                 ipv6=":" in src["server_address"],
                 auth_key_id=key_id_signed(key), auth_key_sha256=key_sha256(key))
    elif name in ("pyrogram-2.0.106.session", "pyrogram-string.txt",
                  "kurigram-2.2.26.session", "kurigram-string.txt",
                  "kurigram-migrated-from-pyrogram-2.0.106.session"):
        kuri = name.startswith("kurigram-2.2.26") or name == "kurigram-string.txt"
        p = KURIGRAM if kuri else PYROGRAM
        key = derive_key(p["key_label"])
        f.update(dc_id=p["dc_id"], test_mode=p["test_mode"], api_id=p["api_id"],
                 auth_key_id=key_id_signed(key), auth_key_sha256=key_sha256(key))
        f["user"] = {"id": p["user_id"], "is_bot": p["is_bot"],
                     "username": None, "dc": p["dc_id"]}
        if name.endswith(".session"):
            f["user"]["username"] = p["self"]["username"].lower()
            f["session_date"] = FIXED_NOW  # Storage.save(): date = int(time.time())
            peers = []
            for u in [p["self"]] + p["users"]:
                peers.append(_peer(u["id"], u["access_hash"], "bot" if u["bot"] else "user",
                                   u["username"].lower() if u["username"] else None, phone=u["phone"]))
            for c in p["chats"]:
                peers.append(_peer(-c["id"], 0, "group"))
            for c in p["channels"]:
                names = c.get("usernames") or ([c["username"]] if c["username"] else [])
                if c["broadcast"]:
                    ty = "channel"
                elif kuri and c.get("forum"):
                    ty = "forum"
                else:
                    ty = "supergroup"
                peers.append(_peer(-1000000000000 - c["id"], c["access_hash"], ty,
                                   usernames=[n.lower() for n in names]))
            f["peers"] = sorted(peers, key=lambda q: q["id"])
        if name == "kurigram-migrated-from-pyrogram-2.0.106.session":
            # kurigram's v6->v7 migration fills the address from its PROD table;
            # usernames are NOT carried over into the new usernames table
            f.update(server_address=PYROGRAM_PROD_DC2, port=443, ipv6=False)
            f["user"]["username"] = None
            for q in f["peers"]:
                q["username"], q["usernames"] = None, []
            f["update_state"] = None
        if kuri:
            if name.endswith(".session"):
                st = p["state"]
                f["update_state"] = dict(st)
                f["channels"] = [{"id": -1000000000000 - cid, "pts": pts}
                                 for cid, pts in sorted(p["channel_pts"].items())]
                f["channels"].sort(key=lambda c: c["id"])
                f.update(server_address=p["server_address"], port=p["port"], ipv6=False)
    elif name in ("pyrogram-string-351.txt", "pyrogram-string-356.txt"):
        p = PYRO_OLD_351 if name.endswith("351.txt") else PYRO_OLD_356
        key = derive_key(p["key_label"])
        f.update(dc_id=p["dc_id"], test_mode=p["test_mode"],
                 auth_key_id=key_id_signed(key), auth_key_sha256=key_sha256(key))
        f["user"] = {"id": p["user_id"], "is_bot": p["is_bot"], "username": None, "dc": p["dc_id"]}
    else:
        raise KeyError(name)
    return f



# ==========================================================================
# Plain readers (stdlib only): what is really on disk
# ==========================================================================
def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)


def _rows(conn, sql, args=()):
    cur = conn.execute(sql, args)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def sqlite_layout(conn) -> dict:
    tables = {}
    for (tname,) in conn.execute("select name from sqlite_master where type='table' order by name"):
        tables[tname] = [r[1] for r in conn.execute(f"pragma table_info('{tname}')")]
    other = [list(r) for r in conn.execute(
        "select type, name from sqlite_master where type != 'table' order by type, name")]
    return {"tables": tables, "indexes_and_triggers": other,
            "journal_mode": conn.execute("pragma journal_mode").fetchone()[0],
            "page_size": conn.execute("pragma page_size").fetchone()[0]}


def _summarise_row(row: dict) -> dict:
    """Row as stored, with BLOBs replaced by their length (no key material in the manifest)."""
    return {k: ({"blob_bytes": len(v)} if isinstance(v, (bytes, bytearray)) else v) for k, v in row.items()}


def _state_rows(conn) -> list:
    return [dict(zip(("id", "pts", "qts", "date", "seq", "typeof_date"), r)) for r in conn.execute(
        "select id, pts, qts, date, seq, typeof(date) from update_state order by id")]


def _typeofs(conn, table, column):
    return sorted({r[0] for r in conn.execute(f"select typeof({column}) from {table}")})


def detect_sqlite_flavour(path: Path) -> tuple[str, int]:
    conn = _ro(path)
    try:
        names = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
        if "version" not in names:
            raise ValueError(f"{path}: no version table")
        cols = [r[1] for r in conn.execute("pragma table_info('version')")]
        if cols == ["version"]:
            return "telethon", conn.execute("select version from version").fetchone()[0]
        if cols == ["number"]:
            return "pyrogram", conn.execute("select number from version").fetchone()[0]
        raise ValueError(f"{path}: unknown version table {cols}")
    finally:
        conn.close()


def plain_telethon_sqlite(path: Path) -> tuple[dict, dict]:
    conn = _ro(path)
    try:
        f = _empty_facts()
        version = conn.execute("select version from version").fetchone()[0]
        rows = _rows(conn, "select * from sessions")
        assert len(rows) == 1, f"sessions has {len(rows)} rows"
        s = rows[0]
        key = s["auth_key"] or None  # b'' means "no key"
        tmp = s.get("tmp_auth_key") or None
        f.update(dc_id=s["dc_id"], server_address=s["server_address"], port=s["port"],
                 ipv6=(":" in s["server_address"]) if s["server_address"] else None,
                 auth_key_id=key_id_signed(key), auth_key_sha256=key_sha256(key),
                 tmp_auth_key_id=key_id_signed(tmp), tmp_auth_key_sha256=key_sha256(tmp),
                 takeout_id=s["takeout_id"])
        ents = _rows(conn, "select * from entities")
        self_row = next((e for e in ents if e["id"] == 0), None)
        peers = []
        for e in ents:
            if e["id"] == 0:
                continue
            mid = e["id"]
            if mid >= 0:
                ty = "user"
            elif mid <= -(10 ** 12):
                ty = "channel"
            else:
                ty = "chat"
            peers.append(_peer(mid, e["hash"], ty, e["username"],
                               phone=None if e["phone"] is None else str(e["phone"]), name=e["name"]))
        f["peers"] = sorted(peers, key=lambda p: p["id"])
        if self_row is not None:
            uid = self_row["hash"]
            urow = next((e for e in ents if e["id"] == uid), None)
            f["user"] = {"id": uid, "is_bot": None,
                         "username": urow["username"] if urow else None, "dc": s["dc_id"]}
        states = _rows(conn, "select * from update_state")
        for st in states:
            if st["id"] == 0:
                f["update_state"] = {k: st[k] for k in ("pts", "qts", "date", "seq")}
        f["channels"] = sorted(({"id": st["id"], "pts": st["pts"]} for st in states if st["id"] != 0),
                               key=lambda c: c["id"])
        on_disk = sqlite_layout(conn)
        on_disk["typeof"] = {
            "sessions.auth_key": _typeofs(conn, "sessions", "auth_key"),
            "update_state.date": _typeofs(conn, "update_state", "date"),
            "entities.phone": _typeofs(conn, "entities", "phone"),
            "entities.date": _typeofs(conn, "entities", "date"),
        }
        if "tmp_auth_key" in s:
            on_disk["typeof"]["sessions.tmp_auth_key"] = _typeofs(conn, "sessions", "tmp_auth_key")
        on_disk["sessions_row"] = _summarise_row(s)
        on_disk["update_state_rows"] = _state_rows(conn)
        on_disk["entity_dates"] = sorted({e["date"] for e in ents})
        on_disk["self_row"] = self_row and {k: self_row[k] for k in ("id", "hash", "username", "phone", "name")}
        return {"schema_version": version, "facts": f, "on_disk": on_disk}, s
    finally:
        conn.close()


def plain_pyrogram_sqlite(path: Path) -> dict:
    conn = _ro(path)
    try:
        f = _empty_facts()
        version = conn.execute("select number from version").fetchone()[0]
        rows = _rows(conn, "select * from sessions")
        assert len(rows) == 1, f"sessions has {len(rows)} rows"
        s = rows[0]
        key = s["auth_key"] or None
        addr = s.get("server_address")
        f.update(dc_id=s["dc_id"], server_address=addr, port=s.get("port"),
                 ipv6=(":" in addr) if addr else None,
                 test_mode=None if s["test_mode"] is None else bool(s["test_mode"]),
                 api_id=s.get("api_id"),
                 auth_key_id=key_id_signed(key), auth_key_sha256=key_sha256(key),
                 session_date=s["date"])
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
        peer_cols = [r[1] for r in conn.execute("pragma table_info('peers')")]
        usernames = {}
        if "usernames" in tables:  # Kurigram >= schema 4: usernames live in their own table
            for uid, uname in conn.execute("select id, username from usernames order by rowid"):
                usernames.setdefault(uid, []).append(uname)
        peers = []
        for p in _rows(conn, "select * from peers"):
            if "usernames" in tables:
                names = usernames.get(p["id"], [])
            else:
                names = [p["username"]] if p.get("username") else []
            peers.append(_peer(p["id"], p["access_hash"], p["type"], usernames=names,
                               phone=p["phone_number"]))
        f["peers"] = sorted(peers, key=lambda q: q["id"])
        if s["user_id"] is not None:
            me = next((q for q in peers if q["id"] == s["user_id"]), None)
            f["user"] = {"id": s["user_id"], "is_bot": None if s["is_bot"] is None else bool(s["is_bot"]),
                         "username": me["username"] if me else None, "dc": s["dc_id"]}
        if "update_state" in tables:
            states = _rows(conn, "select * from update_state")
            for st in states:
                if st["id"] == 0:
                    f["update_state"] = {k: st[k] for k in ("pts", "qts", "date", "seq")}
            f["channels"] = sorted(({"id": st["id"], "pts": st["pts"]} for st in states if st["id"] != 0),
                                   key=lambda c: c["id"])
        on_disk = sqlite_layout(conn)
        on_disk["typeof"] = {
            "sessions.test_mode": _typeofs(conn, "sessions", "test_mode"),
            "sessions.is_bot": _typeofs(conn, "sessions", "is_bot"),
            "peers.type": _typeofs(conn, "peers", "type"),
            "peers.phone_number": _typeofs(conn, "peers", "phone_number"),
        }
        on_disk["sessions_row"] = _summarise_row(s)
        if "update_state" in tables:
            on_disk["update_state_rows"] = _state_rows(conn)
        on_disk["peers_last_update_on"] = sorted({r[0] for r in conn.execute("select last_update_on from peers")})
        if "username" in peer_cols and "usernames" in tables:
            on_disk["legacy_peers_username_non_null"] = conn.execute(
                "select count(*) from peers where username is not null").fetchone()[0]
        return {"schema_version": version, "facts": f, "on_disk": on_disk}
    finally:
        conn.close()


def plain_telethon_string(text: str) -> dict:
    f = _empty_facts()
    if not text:
        return {"schema_version": None, "facts": f, "on_disk": {"string_length": 0}}
    assert text[0] == "1", "Telethon string version must be '1'"
    raw = base64.urlsafe_b64decode(text[1:])
    ip_len = len(raw) - 1 - 2 - 256
    assert ip_len in (4, 16), f"bad telethon string payload {len(raw)}"
    dc_id, ip, port, key = struct.unpack(f">B{ip_len}sH256s", raw)
    key = key if any(key) else None
    f.update(dc_id=dc_id, server_address=ipaddress.ip_address(ip).compressed, port=port,
             ipv6=ip_len == 16, auth_key_id=key_id_signed(key), auth_key_sha256=key_sha256(key))
    return {"schema_version": 1, "facts": f,
            "on_disk": {"string_length": len(text), "payload_bytes": len(raw),
                        "padding": len(text) - len(text.rstrip("="))}}


def plain_pyrogram_string(text: str) -> dict:
    f = _empty_facts()
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(text) == 351:
        variant, (dc_id, test_mode, key, user_id, is_bot) = "old-351", struct.unpack(">B?256sI?", raw)
        api_id = None
    elif len(text) == 356:
        variant, (dc_id, test_mode, key, user_id, is_bot) = "old-356", struct.unpack(">B?256sQ?", raw)
        api_id = None
    else:
        variant = "current-362"
        dc_id, api_id, test_mode, key, user_id, is_bot = struct.unpack(">BI?256sQ?", raw)
    f.update(dc_id=dc_id, api_id=api_id, test_mode=test_mode,
             auth_key_id=key_id_signed(key), auth_key_sha256=key_sha256(key))
    f["user"] = {"id": user_id, "is_bot": is_bot, "username": None, "dc": dc_id}
    return {"schema_version": None, "facts": f,
            "on_disk": {"string_length": len(text), "payload_bytes": len(raw), "variant": variant}}


def plain_read(path: Path, fmt: str) -> dict:
    if fmt == "telethon":
        return plain_telethon_sqlite(path)[0]
    if fmt == "pyrogram":
        return plain_pyrogram_sqlite(path)
    text = path.read_text().strip()
    if fmt == "telethon-string":
        return plain_telethon_string(text)
    if fmt == "pyrogram-string":
        return plain_pyrogram_string(text)
    raise ValueError(fmt)


# ==========================================================================
# venv management (host side)
# ==========================================================================
def venv_python(venv: Path) -> Path:
    for cand in (venv / "bin" / "python", venv / "Scripts" / "python.exe"):
        if cand.exists():
            return cand
    return venv / "bin" / "python"


def ensure_venv(venv_dir: Path, name: str, quiet: bool = False) -> Path:
    venv = venv_dir / name
    marker = venv / "sessionvault-pins.json"
    want = {"pins": PINS[name], "python": sys.version.split()[0]}
    if marker.exists() and venv_python(venv).exists():
        try:
            if json.loads(marker.read_text()) == want:
                return venv_python(venv)
        except ValueError:
            pass
    if venv.exists():
        shutil.rmtree(venv)
    if not quiet:
        print(f"[venv] creating {venv} with {' '.join(PINS[name])}", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv_python(venv)
    subprocess.run([str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q", *PINS[name]],
                   check=True)
    marker.write_text(json.dumps(want))
    return py


def worker_env() -> dict:
    env = dict(os.environ)
    env.update(PYTHONHASHSEED="0", TZ="UTC", PYTHONDONTWRITEBYTECODE="1", PYTHONWARNINGS="ignore")
    return env


def run_worker(py: Path, job: str, out: Path) -> dict:
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as tf:
        result_path = tf.name
    try:
        proc = subprocess.run([str(py), str(Path(__file__).resolve()), "--worker", job,
                               "--out", str(out), "--result", result_path],
                              env=worker_env(), capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit(f"worker {job} failed ({proc.returncode})")
        return json.loads(Path(result_path).read_text())
    finally:
        os.unlink(result_path)


# ==========================================================================
# Workers (run INSIDE a venv, import the real library)
# ==========================================================================
def _freeze_clock():
    """Make every 'now' the libraries ask for equal to FIXED_NOW."""
    import time
    time.time = lambda: float(FIXED_NOW)
    time.time_ns = lambda: FIXED_NOW * 1_000_000_000


def _fixed_sqlite_now(conn: sqlite3.Connection):
    """Override strftime(fmt, 'now') on the library's own connection (Pyrogram's
    peers.last_update_on DEFAULT and trigger use CAST(STRFTIME('%s','now') AS INTEGER))."""
    helper = sqlite3.connect(":memory:")

    def strftime(fmt, value):
        if isinstance(value, str) and value.lower() == "now":
            return helper.execute("select strftime(?, ?, 'unixepoch')", (fmt, FIXED_NOW)).fetchone()[0]
        return helper.execute("select strftime(?, ?)", (fmt, value)).fetchone()[0]

    conn.create_function("strftime", 2, strftime)


def _dist_version(dist: str) -> str:
    from importlib.metadata import version
    return version(dist)


def worker_telethon(job: str, out: Path) -> dict:
    import asyncio
    import datetime
    import logging
    import types as pytypes
    _freeze_clock()
    from telethon.sessions import SQLiteSession, StringSession
    from telethon.crypto import AuthKey
    from telethon.tl import types
    from telethon._updates import MessageBox, SessionState, ChannelState, EntityCache
    from telethon.client import telegrambaseclient as tbc
    from telethon.client.telegrambaseclient import TelegramBaseClient

    # datetime.datetime.now() inside _save_states_and_entities -> fixed instant
    class _FixedDT(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.datetime.fromtimestamp(FIXED_NOW + 0.25, tz=tz or datetime.timezone.utc)

    dt_shim = pytypes.SimpleNamespace(**{k: getattr(datetime, k) for k in dir(datetime) if not k.startswith("__")})
    dt_shim.datetime = _FixedDT
    tbc.datetime = dt_shim

    t = TELETHON
    utc = datetime.timezone.utc
    when = datetime.datetime.fromtimestamp(1700000000, tz=utc)
    s_ = t["self"]
    users = [types.User(id=s_["id"], is_self=True, access_hash=s_["access_hash"], first_name=s_["first_name"],
                        last_name=s_["last_name"], username=s_["username"], phone=s_["phone"])]
    for u in t["users"]:
        users.append(types.User(id=u["id"], bot=u["bot"], access_hash=u["access_hash"],
                                first_name=u["first_name"], last_name=u["last_name"],
                                username=u["username"], phone=u["phone"]))
    chats = [types.Chat(id=c["id"], title=c["title"], photo=types.ChatPhotoEmpty(),
                        participants_count=3, date=when, version=1) for c in t["chats"]]
    chats += [types.Channel(id=c["id"], title=c["title"], photo=types.ChatPhotoEmpty(), date=when,
                            broadcast=c["broadcast"], megagroup=c["megagroup"],
                            access_hash=c["access_hash"], username=c["username"]) for c in t["channels"]]
    # a `min` user must be skipped by the session (no usable access hash)
    users.append(types.User(id=4242424242, min=True, access_hash=1, first_name="Min", username="min_user"))

    def build(path: Path, store_tmp: bool, tmp_key: bytes | None):
        kwargs = {"store_tmp_auth_key_on_disk": True} if store_tmp else {}
        s = SQLiteSession(str(path), **kwargs)
        # what TelegramBaseClient.connect() does for a fresh session
        s.set_dc(t["dc_id"], t["server_address"], t["port"])
        s.auth_key = AuthKey(derive_key(t["key_label"]))
        if tmp_key is not None:
            s.tmp_auth_key = AuthKey(tmp_key)
        s.takeout_id = t["takeout_id"]  # TelegramClient.takeout() setter
        # updates.py: self.session.process_entities(types.contacts.ResolvedPeer(None, users, chats))
        s.process_entities(types.contacts.ResolvedPeer(None, users, chats))

        async def persist():
            # the client's own routine, with a real MessageBox + EntityCache
            mb = MessageBox(logging.getLogger("telethon.messagebox"))
            st = t["state"]
            mb.load(SessionState(0, 0, False, st["pts"], st["qts"], st["date"], st["seq"], None),
                    [ChannelState(cid, pts) for cid, pts in t["channel_pts"].items()])
            cache = EntityCache()
            cache.set_self_user(s_["id"], False, s_["access_hash"])
            fake = pytypes.SimpleNamespace(session=s, _mb_entity_cache=cache, _message_box=mb)
            await TelegramBaseClient._save_states_and_entities(fake)

        asyncio.run(persist())
        s.close()  # TelegramClient.disconnect() -> session.close() (commit)

    result = {"installed": {DIST[job][0]: _dist_version(DIST[job][0])}, "observations": {}}
    obs = result["observations"]
    if job == "telethon-1.42.0":
        build(out / "telethon-v7.session", False, None)
        s = SQLiteSession(str(out / "telethon-v7.session"))
        obs["telethon-v7.session"] = {"key_id_unsigned": s.auth_key.key_id,
                                      "has_tmp_auth_key_attr": hasattr(type(s), "tmp_auth_key")}
        s.close()
        return result

    build(out / "telethon-v8.session", False, None)
    tmp_key = derive_key(t["tmp_key_label"])
    build(out / "telethon-v8-tmpkey.session", True, tmp_key)
    fresh = SQLiteSession(str(out / "telethon-v8-nokey.session"))
    fresh.close()

    # Quirks, observed through the real classes
    s = SQLiteSession(str(out / "telethon-v8-tmpkey.session"), store_tmp_auth_key_on_disk=True)
    obs["telethon-v8-tmpkey.session"] = {
        "tmp_auth_key_getter_returns_permanent_key": s.tmp_auth_key is s._auth_key,
        "private_tmp_key_matches": s._tmp_auth_key.key == tmp_key,
    }
    s.close()

    # StringSession.save works on any Session: export the v8 file itself (IPv4, 353 chars)
    v8 = out / "telethon-v8.session"
    before = hashlib.sha256(v8.read_bytes()).hexdigest()
    s = SQLiteSession(str(v8))
    ipv4 = StringSession.save(s)
    key_id_unsigned = s.auth_key.key_id
    s.close()
    assert hashlib.sha256(v8.read_bytes()).hexdigest() == before, "reading the v8 file modified it"
    obs["telethon-v8.session"] = {"key_id_unsigned": key_id_unsigned}
    ss6 = StringSession()
    ss6.set_dc(TELETHON_STRING_IPV6["dc_id"], TELETHON_STRING_IPV6["server_address"], TELETHON_STRING_IPV6["port"])
    ss6.auth_key = AuthKey(derive_key(TELETHON_STRING_IPV6["key_label"]))
    ipv6 = ss6.save()
    for fname, text in (("telethon-ipv4.txt", ipv4), ("telethon-ipv6.txt", ipv6)):
        (out / fname).write_text(text)  # no trailing newline
        back = StringSession(text)
        obs[fname] = {"length": len(text), "reload": {"dc_id": back.dc_id, "server_address": back.server_address,
                                                      "port": back.port, "key_id_unsigned": back.auth_key.key_id}}
        # stripping the '=' padding breaks Telethon's decoder
        try:
            StringSession(text.rstrip("="))
            obs[fname]["unpadded_loads"] = True
        except Exception as e:  # noqa: BLE001
            obs[fname]["unpadded_loads"] = f"fails: {type(e).__name__}"
    obs["empty_session_string"] = StringSession.save(SQLiteSession(None))
    # a key id check for the AuthKey class itself
    k = derive_key(t["key_label"])
    obs["authkey_key_id_signed_matches"] = (
        int.from_bytes(AuthKey(k).key_id.to_bytes(8, "little"), "little", signed=True) == key_id_signed(k))
    return result


def worker_pyrogram(job: str, out: Path) -> dict:
    import asyncio
    import logging
    import types as pytypes
    logging.disable(logging.CRITICAL)
    _freeze_clock()
    kuri = job.startswith("kurigram")
    import pyrogram
    from pyrogram import raw
    from pyrogram.storage import Storage
    if kuri:
        from pyrogram.storage import SQLiteStorage
    else:
        from pyrogram.storage import FileStorage, MemoryStorage
    p = KURIGRAM if kuri else PYROGRAM

    def make_peers():
        now = 1700000000
        users, chats = [], []
        for u in [p["self"]] + p["users"]:
            users.append(raw.types.User(id=u["id"], is_self=u is p["self"], bot=u["bot"],
                                        access_hash=u["access_hash"], first_name=u["first_name"],
                                        username=u["username"], phone=u["phone"]))
        for c in p["chats"]:
            chats.append(raw.types.Chat(id=c["id"], title=c["title"], photo=raw.types.ChatPhotoEmpty(),
                                        participants_count=3, date=now, version=1))
        for c in p["channels"]:
            kw = dict(id=c["id"], title=c["title"], photo=raw.types.ChatPhotoEmpty(), date=now,
                      broadcast=c["broadcast"], megagroup=c["megagroup"], access_hash=c["access_hash"],
                      username=c["username"])
            if c.get("usernames"):
                kw["usernames"] = [raw.types.Username(username=n, active=True) for n in c["usernames"]]
            if c.get("forum"):
                kw["forum"] = True
            chats.append(raw.types.Channel(**kw))
        return users, chats

    async def fill(storage):
        # the sequence Client.load_session() + sign_in()/sign_in_bot() perform
        await storage.api_id(p["api_id"])
        await storage.dc_id(p["dc_id"])
        if kuri:
            await storage.server_address(p["server_address"])
            await storage.port(p["port"])
        await storage.date(0)
        await storage.test_mode(p["test_mode"])
        await storage.auth_key(derive_key(p["key_label"]))
        await storage.user_id(p["user_id"])
        await storage.is_bot(p["is_bot"])
        users, chats = make_peers()
        client_like = pytypes.SimpleNamespace(storage=storage)
        # Client.fetch_peers is what handle_updates()/invoke() use to store peers
        await pyrogram.Client.fetch_peers(client_like, users)
        await pyrogram.Client.fetch_peers(client_like, chats)
        if kuri:
            from pyrogram.storage.storage import UpdateState
            from pyrogram import utils
            st = p["state"]
            # start(): the account state from updates.GetState
            await storage.set_update_state(UpdateState(0, st["pts"], st["qts"], st["date"], st["seq"]))
            # handle_updates(): channel pts under utils.get_channel_id(channel_id)
            for cid, pts in p["channel_pts"].items():
                await storage.set_update_state(UpdateState(utils.get_channel_id(cid), pts, None, None, None))
        await storage.save()  # terminate(): date = int(time.time()) + commit

    async def load_string(text):
        if kuri:
            st = SQLiteStorage("check", workdir=out, session_string=text, in_memory=True)
        else:
            st = MemoryStorage("check", session_string=text)
        await st.open()
        r = {"dc_id": await st.dc_id(), "api_id": await st.api_id(), "test_mode": await st.test_mode(),
             "key_sha256": key_sha256(await st.auth_key()), "user_id": await st.user_id(),
             "is_bot": await st.is_bot(), "date": await st.date()}
        if kuri:
            r["server_address"] = await st.server_address()
            r["port"] = await st.port()
        await st.close()
        return r

    async def main():
        result = {"installed": {DIST[job][0]: _dist_version(DIST[job][0])}, "observations": {}}
        obs = result["observations"]
        if kuri:
            name = "kurigram-2.2.26"
            storage = SQLiteStorage(name, workdir=out)
        else:
            name = "pyrogram-2.0.106"
            storage = FileStorage(name, out)
        await storage.open()
        _fixed_sqlite_now(storage.conn)
        await fill(storage)
        string = await storage.export_session_string()
        await storage.close()
        sfile = "kurigram-string.txt" if kuri else "pyrogram-string.txt"
        (out / sfile).write_text(string)
        obs[sfile] = {"length": len(string), "reload": await load_string(string)}

        if not kuri:
            for fname, spec, fmt, size in (
                    ("pyrogram-string-351.txt", PYRO_OLD_351, Storage.OLD_SESSION_STRING_FORMAT, Storage.SESSION_STRING_SIZE),
                    ("pyrogram-string-356.txt", PYRO_OLD_356, Storage.OLD_SESSION_STRING_FORMAT_64, Storage.SESSION_STRING_SIZE_64)):
                packed = struct.pack(fmt, spec["dc_id"], spec["test_mode"], derive_key(spec["key_label"]),
                                     spec["user_id"], spec["is_bot"])
                text = base64.urlsafe_b64encode(packed).decode().rstrip("=")  # as export_session_string does
                assert len(text) == size, (fname, len(text), size)
                (out / fname).write_text(text)
                obs[fname] = {"length": len(text), "struct": fmt, "reload": await load_string(text)}
        else:
            # Kurigram reads the old/other strings too (cross-library check)
            for fname in ("pyrogram-string-351.txt", "pyrogram-string-356.txt", "pyrogram-string.txt"):
                if (out / fname).exists():
                    obs[f"kurigram loads {fname}"] = await load_string((out / fname).read_text())
            # migrate the Pyrogram 2.0.106 file exactly as Kurigram does on first open
            src = out / "pyrogram-2.0.106.session"
            if src.exists():
                mname = "kurigram-migrated-from-pyrogram-2.0.106"
                shutil.copyfile(src, out / f"{mname}.session")
                mig = SQLiteStorage(mname, workdir=out)
                await mig.open()
                obs[f"{mname}.session"] = {"version_after_open": await mig.version()}
                await mig.close()
        return result

    return asyncio.run(main())


def worker_main(job: str, out: Path, result_path: Path):
    out.mkdir(parents=True, exist_ok=True)
    if job.startswith("telethon"):
        result = worker_telethon(job, out)
    else:
        result = worker_pyrogram(job, out)
    result["python"] = sys.version.split()[0]
    result["sqlite_version"] = sqlite3.sqlite_version
    result_path.write_text(json.dumps(result, indent=1, sort_keys=True))


# ==========================================================================
# Orchestration (host side)
# ==========================================================================
def build_all(venv_dir: Path, staging: Path) -> dict:
    staging.mkdir(parents=True, exist_ok=True)
    results = {}
    for job in WORKER_ORDER:
        py = ensure_venv(venv_dir, job)
        results[job] = run_worker(py, job, staging)
    produced = sorted(p.name for p in staging.iterdir())
    assert produced == sorted(FIXTURES), f"unexpected output set: {produced}"
    return results


def run_check_export(venv_dir: Path, path: Path, fmt: str) -> dict:
    proc = subprocess.run([sys.executable, str(HERE / "check_export.py"), str(path), fmt,
                           "--venv-dir", str(venv_dir)],
                          env=worker_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"check_export failed for {path.name}")
    return json.loads(proc.stdout)


def _diff(a, b, prefix=""):
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            out += _diff(a.get(k, "<missing>"), b.get(k, "<missing>"), f"{prefix}.{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            out += _diff(x, y, f"{prefix}[{i}]")
    elif a != b or type(a) is not type(b):  # strict: 1 != 1.0 != True here
        out.append(f"{prefix}: {a!r} != {b!r}")
    return out


def sha256_file(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--venv-dir", type=Path, default=DEFAULT_VENV_DIR,
                    help=f"where the per-version venvs live (default {DEFAULT_VENV_DIR})")
    ap.add_argument("--out", type=Path, default=HERE, help="fixture directory (default: this folder)")
    ap.add_argument("--check", action="store_true",
                    help="regenerate in a temp dir and compare with the files + manifest in --out; write nothing")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        return worker_main(args.worker, args.out, args.result)

    venv_dir = args.venv_dir.resolve()
    with tempfile.TemporaryDirectory(prefix="sv-interop-") as tmp:
        run_a, run_b = Path(tmp) / "a", Path(tmp) / "b"
        results = build_all(venv_dir, run_a)
        build_all(venv_dir, run_b)
        stable = {n: sha256_file(run_a / n) == sha256_file(run_b / n) for n in FIXTURES}

        entries = []
        problems = []
        for name, (fmt, job) in FIXTURES.items():
            path = run_a / name
            plain = plain_read(path, fmt)
            lib = run_check_export(venv_dir, path, fmt)
            exp = expected_facts(name)
            for label, other in (("spec", exp), ("library", lib["facts"])):
                d = _diff(plain["facts"], other)
                if d:
                    problems.append(f"{name}: plain read vs {label}:\n    " + "\n    ".join(d))
            dist, ver = DIST[job]
            entry = {
                "file": name,
                "format": fmt,
                "library": dist.lower(),
                "version": results[job]["installed"][dist],
                "schema_version": plain["schema_version"],
                "description": DESCRIPTIONS[name],
                "size": path.stat().st_size,
                "sha256": sha256_file(path),
                "byte_stable": stable[name],
                "read_back_with": lib["library"] + " " + lib["version"],
                "facts": plain["facts"],
                "on_disk": plain["on_disk"],
            }
            obs = results[job]["observations"].get(name)
            if obs:
                entry["library_observations"] = obs
            entries.append(entry)
        if problems:
            raise SystemExit("fact mismatch:\n" + "\n".join(problems))

        any_res = results[WORKER_ORDER[0]]
        manifest = {
            "generator": {
                "script": "Fixtures/interop/generate.py",
                "python": any_res["python"],
                "sqlite_version": any_res["sqlite_version"],
                "pins": PINS,
                "installed": {job: r["installed"] for job, r in results.items()},
                "fixed_now": FIXED_NOW,
                "key_derivation": f"sha256('{KEY_LABEL}|<label>|<counter>') concatenated, first 256 bytes",
                "notes": [
                    "auth_key_id = last 8 bytes of SHA-1(auth_key) as little-endian SIGNED int64 (= telethon AuthKey.key_id reinterpreted as signed).",
                    "Key material is never stored here: only key ids and sha256 of keys.",
                    "Telethon binds update_state.date as a Python float (datetime.timestamp()) into a column declared INTEGER: SQLite stores integral values as INTEGER (the account row, whose date comes from Telegram) and fractional ones as REAL (channel rows, dated datetime.now() by the client). facts.update_state.date is the number as stored; on_disk.update_state_rows gives every row with typeof(date).",
                    "Telethon entities.phone has INTEGER affinity: '15551234567' is stored as the integer 15551234567; facts give phones as strings.",
                    "peers[].id is the id as stored (marked: users +id, chats -id, channels -(10**12+id)); Telethon channels[].id is the RAW channel id, Kurigram channels[].id is the MARKED id.",
                    "The Telethon self-user row (entities id 0, hash = own user id) is reported in facts.user and on_disk.self_row, not in peers.",
                    "Strings are stored without a trailing newline.",
                    "sha256 of SQLite files is only reproducible with the same SQLite version (header bytes 92-99).",
                ],
                "global_observations": {job: {k: v for k, v in r["observations"].items() if k not in FIXTURES}
                                        for job, r in results.items()},
            },
            "fixtures": entries,
        }
        text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"

        if args.check:
            old = json.loads((args.out / "manifest.json").read_text())
            bad = []
            old_by = {e["file"]: e for e in old["fixtures"]}
            for e in entries:
                o = old_by.get(e["file"])
                disk = args.out / e["file"]
                if o is None or o["sha256"] != e["sha256"] or not disk.exists() or sha256_file(disk) != e["sha256"]:
                    bad.append(e["file"])
                elif o["facts"] != e["facts"]:
                    bad.append(e["file"] + " (facts)")
            if bad:
                print("DIFFERENT: " + ", ".join(bad))
                return 1
            print(f"OK: {len(entries)} fixtures identical to {args.out}")
            return 0

        args.out.mkdir(parents=True, exist_ok=True)
        for name in FIXTURES:
            shutil.copyfile(run_a / name, args.out / name)
        (args.out / "manifest.json").write_text(text)
        for e in entries:
            print(f"{e['size']:>7}  {e['sha256'][:16]}  stable={e['byte_stable']}  {e['file']}")
        print(f"wrote {len(entries)} fixtures + manifest.json to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
