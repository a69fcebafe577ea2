#!/usr/bin/env python3
"""Build the hand-made interop fixtures that no real library can produce, and their facts.

    python3 Fixtures/interop/make_handmade.py          # rewrites telethon-v2.session + handmade-manifest.json
    python3 Fixtures/interop/make_handmade.py --check  # rebuilds in memory, compares facts (exit 1 if different)

telethon-v2.session: Telethon v2 is unreleased (2.0.0a0, branch v2 of LonamiWebs/Telethon), so it
cannot be installed from PyPI and no real-library fixture exists. This file is written with plain
sqlite3 (Python's standard library, no Telethon code) from the exact schema 10 that
`client/src/telethon/_impl/session/storage/sqlite.py` creates (see
shared/reference/session-formats.md section 1.4), with the row shapes its `_save_v10` writes:
addresses as "ip:port" (IPv6 without brackets, as `net.py` formats them), `auth` a 256-byte blob or
NULL, `user.bot` 0/1, `state.date` an integer.

Keys are synthetic and deterministic (generate.derive_key), like every other fixture here.
Stdlib only.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate as G  # noqa: E402  (derive_key, key_id_signed, key_sha256)

SCHEMA_10 = """
create table version (version integer primary key);
create table datacenter(id integer primary key, ipv4_addr text, ipv6_addr text, auth blob);
create table user(id integer primary key, dc integer not null, bot integer not null, username text);
create table state(pts integer not null, qts integer not null, date integer not null, seq integer not null);
create table channelstate(id integer primary key, pts integer not null);
"""

DCS = [
    # id, ipv4 "ip:port", ipv6 "ip:port", key label (None = no key)
    (1, "149.154.175.53:443", None, None),
    (2, "149.154.167.51:443", "2001:67c:4e8:f002::a:443", "telethon-v2|dc2"),
    (4, "149.154.167.91:443", "2001:67c:4e8:f004::a:443", "telethon-v2|dc4"),
]
USER = (6123456789, 2, 1, "vault_owner_bot")
STATE = (123456, 7890, 1717999000, 4321)
CHANNELS = [(1987654321, 5555), (2123456789, 6666)]


def build(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript(SCHEMA_10)
        conn.execute("insert into version values (10)")
        for dc_id, v4, v6, label in DCS:
            conn.execute("insert into datacenter values (?, ?, ?, ?)",
                         (dc_id, v4, v6, G.derive_key(label) if label else None))
        conn.execute("insert into user values (?, ?, ?, ?)", USER)
        conn.execute("insert into state values (?, ?, ?, ?)", STATE)
        conn.executemany("insert into channelstate values (?, ?)", CHANNELS)
    conn.close()


def facts() -> dict:
    dcs = []
    for dc_id, v4, v6, label in DCS:
        key = G.derive_key(label) if label else None
        dcs.append({"id": dc_id, "ipv4_addr": v4, "ipv6_addr": v6,
                    "auth_key_id": G.key_id_signed(key), "auth_key_sha256": G.key_sha256(key)})
    return {
        "datacenters": dcs,
        "user": {"id": USER[0], "dc": USER[1], "is_bot": bool(USER[2]), "username": USER[3]},
        "update_state": dict(zip(("pts", "qts", "date", "seq"), STATE)),
        "channels": [{"id": i, "pts": p} for i, p in CHANNELS],
    }


def read_back(path: Path) -> dict:
    """The facts, read back with plain sqlite3 (cross-check of build())."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("select version from version").fetchone()[0] == 10
        dcs = [{"id": i, "ipv4_addr": a, "ipv6_addr": b, "auth_key_id": G.key_id_signed(k),
                "auth_key_sha256": G.key_sha256(k)}
               for i, a, b, k in conn.execute("select id, ipv4_addr, ipv6_addr, auth from datacenter order by id")]
        uid, dc, bot, uname = conn.execute("select id, dc, bot, username from user").fetchone()
        state = conn.execute("select pts, qts, date, seq from state").fetchone()
        chans = conn.execute("select id, pts from channelstate order by id").fetchall()
    finally:
        conn.close()
    return {"datacenters": dcs, "user": {"id": uid, "dc": dc, "is_bot": bool(bot), "username": uname},
            "update_state": dict(zip(("pts", "qts", "date", "seq"), state)),
            "channels": [{"id": i, "pts": p} for i, p in chans]}


def manifest() -> dict:
    return {
        "generator": {"script": "Fixtures/interop/make_handmade.py", "made_with": "plain sqlite3 (no Telethon code)"},
        "fixtures": [{
            "file": "telethon-v2.session",
            "format": "telethon-v2",
            "library": "telethon",
            "version": "2.0.0a0 (unreleased; schema from source, not from the library)",
            "schema_version": 10,
            "real_library": False,
            "facts": facts(),
        }],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "telethon-v2.session"
        build(staged)
        if read_back(staged) != facts():
            print("make_handmade: read-back facts differ from the intended facts", file=sys.stderr)
            return 1
        if args.check:
            ok = read_back(HERE / "telethon-v2.session") == facts() and \
                json.loads((HERE / "handmade-manifest.json").read_text()) == manifest()
            print("make_handmade: " + ("up to date" if ok else "DIFFERENT"))
            return 0 if ok else 1
        (HERE / "telethon-v2.session").write_bytes(staged.read_bytes())
    (HERE / "handmade-manifest.json").write_text(json.dumps(manifest(), indent=2) + "\n")
    print("make_handmade: wrote telethon-v2.session and handmade-manifest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
