#!/usr/bin/env python3
"""Load a session exported by SessionVault with the REAL pinned Python library
and print its facts as JSON, in the same shape as manifest.json entries.

Usage (from the repository root):

    python3 Fixtures/interop/check_export.py PATH FORMAT [--venv-dir DIR] [--library NAME]
    python3 Fixtures/interop/check_export.py --string 'STRING' FORMAT

FORMAT is one of: telethon, telethon-string, pyrogram, pyrogram-string, kurigram
  telethon         SQLite file; schema 8 is loaded with Telethon 1.45.0, schema <= 7
                   with Telethon 1.42.0 (so the file is not migrated on load)
  telethon-string  StringSession string (Telethon 1.45.0)
  pyrogram         SQLite file; schema 3 -> Pyrogram 2.0.106 FileStorage,
                   schema >= 4 -> Kurigram 2.2.26 SQLiteStorage
  kurigram         SQLite file loaded with Kurigram 2.2.26 (reported as format "pyrogram")
  pyrogram-string  session string; Pyrogram 2.0.106 MemoryStorage by default,
                   --library kurigram-2.2.26 uses Kurigram's in-memory SQLiteStorage
                   (which also reports server_address/port from its DC table)

The input file is never modified: it is copied to a temporary directory first
(Pyrogram/Kurigram VACUUM and migrate on open; Telethon migrates old schemas).
The venvs are the ones generate.py creates (default Fixtures/.venv/), created
on demand.  Exit status 0 on success; a library error is printed and exits 1.
The library is the one that decides what the facts are: everything is read
through its classes (SQLiteSession/StringSession getters, get_update_state(s),
get_input_entity, Storage getters, get_peer_by_id, get_update_states); peer
rows are listed with SQL on the library's own connection and every row is then
resolved back through the library to validate it.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate as G  # noqa: E402  (stdlib-only helpers, venv management)

FORMATS = ("telethon", "telethon-string", "pyrogram", "pyrogram-string", "kurigram")


# --------------------------------------------------------------------------
# Library readers (run inside a venv)
# --------------------------------------------------------------------------
def lib_telethon_sqlite(path: Path) -> dict:
    from telethon.sessions import SQLiteSession
    from telethon import utils
    from telethon.tl.types import PeerUser, PeerChat, PeerChannel, InputPeerUser, InputPeerChat, InputPeerChannel

    f = G._empty_facts()
    s = SQLiteSession(str(path))
    try:
        key = s.auth_key.key if s.auth_key else None
        # NB: in 1.45.0 the public `tmp_auth_key` getter returns the PERMANENT key
        # (MemorySession declares it with @auth_key.setter) -> read the private field.
        tmp_obj = getattr(s, "_tmp_auth_key", None)
        tmp = tmp_obj.key if tmp_obj else None
        if key is not None:
            assert G.key_id_signed(key) == int.from_bytes(
                s.auth_key.key_id.to_bytes(8, "little"), "little", signed=True)
        f.update(dc_id=s.dc_id, server_address=s.server_address, port=s.port,
                 ipv6=(":" in s.server_address) if s.server_address else None,
                 auth_key_id=G.key_id_signed(key), auth_key_sha256=G.key_sha256(key),
                 tmp_auth_key_id=G.key_id_signed(tmp), tmp_auth_key_sha256=G.key_sha256(tmp),
                 takeout_id=s.takeout_id)

        kinds = {PeerUser: "user", PeerChat: "chat", PeerChannel: "channel"}
        c = s._cursor()
        rows = c.execute("select id, hash, username, phone, name from entities").fetchall()
        c.close()
        peers = []
        for mid, h, username, phone, name in rows:
            if mid == 0:
                continue
            real_id, kind = utils.resolve_id(mid)
            ip = s.get_input_entity(mid)  # library lookup must agree with the row
            if isinstance(ip, InputPeerUser):
                assert (ip.user_id, ip.access_hash) == (real_id, h)
            elif isinstance(ip, InputPeerChannel):
                assert (ip.channel_id, ip.access_hash) == (real_id, h)
            else:
                assert isinstance(ip, InputPeerChat) and ip.chat_id == real_id
            peers.append(G._peer(mid, h, kinds[kind], username,
                                 phone=None if phone is None else str(phone), name=name))
        f["peers"] = sorted(peers, key=lambda p: p["id"])

        # the client's own self-user lookup (telegrambaseclient.connect)
        try:
            self_id = s.get_input_entity(0).access_hash
        except ValueError:
            self_id = None
        if self_id is not None:
            row = s._execute("select username from entities where id = ?", self_id)
            f["user"] = {"id": self_id, "is_bot": None, "username": row[0] if row else None, "dc": s.dc_id}

        st = s.get_update_state(0)
        if st is not None:
            d = st.date.timestamp()  # SQLite keeps integral REALs as INTEGER (column affinity)
            f["update_state"] = {"pts": st.pts, "qts": st.qts, "date": int(d) if d.is_integer() else d,
                                 "seq": st.seq}
        f["channels"] = sorted(({"id": i, "pts": cs.pts} for i, cs in s.get_update_states() if i != 0),
                               key=lambda c_: c_["id"])
    finally:
        s.close()
    return f


def lib_telethon_string(text: str) -> dict:
    from telethon.sessions import StringSession
    f = G._empty_facts()
    s = StringSession(text)
    key = s.auth_key.key if s.auth_key else None
    f.update(dc_id=s.dc_id if text else None, server_address=s.server_address, port=s.port,
             ipv6=(":" in s.server_address) if s.server_address else None,
             auth_key_id=G.key_id_signed(key), auth_key_sha256=G.key_sha256(key))
    return f


async def _storage_common(st, f: dict, kuri: bool, from_string: bool):
    key = await st.auth_key()
    tm = await st.test_mode()
    bot = await st.is_bot()
    f.update(dc_id=await st.dc_id(), api_id=await st.api_id(),
             test_mode=None if tm is None else bool(tm),
             auth_key_id=G.key_id_signed(key), auth_key_sha256=G.key_sha256(key))
    if not from_string:
        f["session_date"] = await st.date()
    if kuri:
        addr = await st.server_address()
        f.update(server_address=addr, port=await st.port(), ipv6=(":" in addr) if addr else None)
    uid = await st.user_id()
    if uid is not None:
        f["user"] = {"id": uid, "is_bot": None if bot is None else bool(bot), "username": None,
                     "dc": f["dc_id"]}


async def lib_pyrogram_sqlite(path: Path, kuri: bool) -> dict:
    from pyrogram import raw
    f = G._empty_facts()
    name = path.name[: -len(".session")]
    if kuri:
        from pyrogram.storage import SQLiteStorage
        st = SQLiteStorage(name, workdir=path.parent)
    else:
        from pyrogram.storage import FileStorage
        st = FileStorage(name, path.parent)
    await st.open()
    try:
        await _storage_common(st, f, kuri, False)
        if kuri:
            usernames = {}
            for uid, uname in st.conn.execute("select id, username from usernames order by rowid"):
                usernames.setdefault(uid, []).append(uname)
            rows = [(i, h, t, usernames.get(i, []), ph) for i, h, t, ph in
                    st.conn.execute("select id, access_hash, type, phone_number from peers")]
        else:
            rows = [(i, h, t, [u] if u else [], ph) for i, h, t, u, ph in
                    st.conn.execute("select id, access_hash, type, username, phone_number from peers")]
        peers = []
        for i, h, t, names, ph in rows:
            ip = await st.get_peer_by_id(i)  # validates the type string / id marking
            if isinstance(ip, raw.types.InputPeerUser):
                assert (ip.user_id, ip.access_hash) == (i, h)
            elif isinstance(ip, raw.types.InputPeerChat):
                assert -ip.chat_id == i
            else:
                assert ip.access_hash == h
            peers.append(G._peer(i, h, t, usernames=names, phone=ph))
        f["peers"] = sorted(peers, key=lambda q: q["id"])
        if f["user"] is not None:
            me = next((q for q in peers if q["id"] == f["user"]["id"]), None)
            f["user"]["username"] = me["username"] if me else None
        if kuri:
            for us in await st.get_update_states():
                if us.id == 0:
                    f["update_state"] = {"pts": us.pts, "qts": us.qts, "date": us.date, "seq": us.seq}
                else:
                    f["channels"].append({"id": us.id, "pts": us.pts})
            f["channels"].sort(key=lambda c: c["id"])
    finally:
        await st.close()
    return f


async def lib_pyrogram_string(text: str, kuri: bool, workdir: Path) -> dict:
    f = G._empty_facts()
    if kuri:
        from pyrogram.storage import SQLiteStorage
        st = SQLiteStorage("check", workdir=workdir, session_string=text, in_memory=True)
    else:
        from pyrogram.storage import MemoryStorage
        st = MemoryStorage("check", session_string=text)
    await st.open()
    try:
        await _storage_common(st, f, kuri, True)
    finally:
        await st.close()
    return f


def worker(job: str, fmt: str, source: Path, result: Path):
    import asyncio
    import logging
    logging.disable(logging.CRITICAL)
    from importlib.metadata import version
    dist = G.DIST[job][0]
    with tempfile.TemporaryDirectory(prefix="sv-check-") as tmp:
        if fmt in ("telethon", "pyrogram", "kurigram"):
            copy = Path(tmp) / "export.session"
            shutil.copyfile(source, copy)
            if fmt == "telethon":
                facts = lib_telethon_sqlite(copy)
            else:
                facts = asyncio.run(lib_pyrogram_sqlite(copy, job.startswith("kurigram")))
        else:
            text = source.read_text().strip()
            if fmt == "telethon-string":
                facts = lib_telethon_string(text)
            else:
                facts = asyncio.run(lib_pyrogram_string(text, job.startswith("kurigram"), Path(tmp)))
    result.write_text(json.dumps({"library": dist.lower(), "version": version(dist), "facts": facts}))


# --------------------------------------------------------------------------
# Host side
# --------------------------------------------------------------------------
def pick_job(fmt: str, path: Path, library: str | None) -> tuple[str, str, object]:
    """-> (venv job, manifest format name, schema_version)"""
    if fmt == "telethon":
        flavour, ver = G.detect_sqlite_flavour(path)
        if flavour != "telethon":
            raise SystemExit(f"{path} is not a Telethon session (version table is {flavour}'s)")
        return library or ("telethon-1.45.0" if ver >= 8 else "telethon-1.42.0"), "telethon", ver
    if fmt in ("pyrogram", "kurigram"):
        flavour, ver = G.detect_sqlite_flavour(path)
        if flavour != "pyrogram":
            raise SystemExit(f"{path} is not a Pyrogram/Kurigram session")
        job = library or ("kurigram-2.2.26" if fmt == "kurigram" or ver >= 4 else "pyrogram-2.0.106")
        return job, "pyrogram", ver
    if fmt == "telethon-string":
        return library or "telethon-1.45.0", fmt, 1
    if fmt == "pyrogram-string":
        return library or "pyrogram-2.0.106", fmt, None
    raise SystemExit(f"unknown format {fmt}; use one of {', '.join(FORMATS)}")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Print the facts of an exported session, read by the real library.")
    ap.add_argument("source", nargs="?", help="path of the exported file (or of a file holding the string)")
    ap.add_argument("format", nargs="?", choices=FORMATS)
    ap.add_argument("--string", help="the session string itself instead of a path (then give only FORMAT)")
    ap.add_argument("--venv-dir", type=Path, default=G.DEFAULT_VENV_DIR)
    ap.add_argument("--library", choices=sorted(G.PINS), help="force a venv (default: picked from format/schema)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        return worker(args.worker, args.format, Path(args.source), args.result)

    with tempfile.TemporaryDirectory(prefix="sv-check-host-") as tmp:
        if args.string is not None:
            if args.format is None and args.source in FORMATS:
                args.format = args.source
            src = Path(tmp) / "string.txt"
            src.write_text(args.string)
        else:
            if not args.source or not args.format:
                ap.error("need SOURCE and FORMAT")
            src = Path(args.source)
        if args.format not in FORMATS:
            ap.error(f"FORMAT must be one of {FORMATS}")
        job, fmt, schema = pick_job(args.format, src, args.library)
        py = G.ensure_venv(args.venv_dir.resolve(), job, quiet=False)
        res = Path(tmp) / "result.json"
        proc = subprocess.run([str(py), str(Path(__file__).resolve()), "--worker", job,
                               "--result", str(res), str(src.resolve()), args.format],
                              env=G.worker_env(), capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            print(f"check_export: {job} could not load {src}", file=sys.stderr)
            return 1
        lib = json.loads(res.read_text())
        out = {
            "file": None if args.string is not None else src.name,
            "format": fmt,
            "library": lib["library"],
            "version": lib["version"],
            "schema_version": schema,
            "sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
            "facts": lib["facts"],
        }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
