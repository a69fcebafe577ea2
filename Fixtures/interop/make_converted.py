#!/usr/bin/env python3
"""Fixtures made by the real converters tgconvertor 0.3.0 and opentele2 2.0.0 from the real
Telethon/Pyrogram fixtures in this folder (issue #14).

    python3 Fixtures/interop/make_converted.py            # venv if needed, writes fixtures + converted-manifest.json
    python3 Fixtures/interop/make_converted.py --check    # re-reads every fixture with the real library, compares facts
    python3 Fixtures/interop/make_converted.py --check-gramjs FILE   # prints the facts tgconvertor reads from FILE
    python3 Fixtures/interop/make_converted.py --check-tdata DIR [--passcode-file F]  # facts opentele2 reads
    python3 Fixtures/interop/make_converted.py --make-test-mode   # (re)makes only tdata-test-mode

GramJS strings: `tgconvertor.convert(<fixture>, "telethon"|"pyrogram", "gramjs")`. tdata folders:
tgconvertor's `TDataSession.to_folder` (opentele2 `TDesktop.SaveTData`), and, for two accounts,
the same opentele2 calls with two `Account`s. tdata holds a random local key and random padding,
so its bytes differ on each run: `--check` compares facts, not bytes. The venv
(`Fixtures/.venv/tgconvertor-0.3.0`) follows generate.py's pattern (pins + Python recorded).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))

VENV = "tgconvertor-0.3.0"
PINS = [
    "tgconvertor==0.3.0", "typer==0.29.2", "rich==15.0.0", "annotated-doc==0.0.7", "annotated-types==0.8.0",
    "markdown-it-py==4.3.0", "mdurl==0.1.2", "pydantic==2.14.4", "pydantic_core==2.50.5", "Pygments==2.21.0",
    "shellingham==1.5.4", "typing-inspection==0.4.5", "typing_extensions==4.16.0",
    "opentele2==2.0.0", "Telethon==1.45.0", "pyaes==1.6.1", "rsa==4.9.1", "pyasn1==0.6.5",
]
# The original opentele (thedemons, 2022; PyQt5) writes the legacy (pre-7.3) three-blob key file,
# whose passcode key is PBKDF2-HMAC-SHA512 (100000 iterations).
LEGACY_VENV = "opentele-1.15.1"
LEGACY_PINS = ["opentele==1.15.1", "PyQt5==5.15.11", "PyQt5-Qt5==5.15.19", "PyQt5_sip==12.20.0", "TgCrypto==1.2.5",
               "Telethon==1.45.0", "pyaes==1.6.1", "rsa==4.9.1", "pyasn1==0.6.5"]
LEGACY_TDATA = [("tdata-legacy-opentele-1.15.1", ""), ("tdata-legacy-opentele-1.15.1-passcode", "correct horse battery staple")]
# The local passcode of the passcode fixture (a fixture secret, like the synthetic keys).
PASSCODE = "correct horse battery staple"

GRAMJS = [
    ("gramjs-from-telethon-v8.txt", "telethon-v8.session", "telethon"),
    ("gramjs-from-telethon-ipv6.txt", "telethon-ipv6.txt", "telethon"),
    ("gramjs-from-pyrogram-2.0.106.txt", "pyrogram-2.0.106.session", "pyrogram"),
]
TDATA = [
    # folder, sources (telethon/pyrogram fixture, user id), passcode
    ("tdata-telethon-v8", [("telethon-v8.session", 6123456789)], ""),
    ("tdata-telethon-v8-passcode", [("telethon-v8.session", 6123456789)], PASSCODE),
    ("tdata-two-accounts", [("telethon-v8.session", 6123456789), ("pyrogram-2.0.106.session", 7123456789)], ""),
]


# A test-server account: opentele2 2.0.0's own TData.new/save, given the MTP config it read from
# tdata-telethon-v8 with the environment field (the second i32, mtproto_config.cpp) set to Test (1).
TEST_MODE_TDATA = "tdata-test-mode"


def key_facts(key: bytes) -> dict:
    key_id = struct.unpack("<q", hashlib.sha1(key).digest()[-8:])[0]
    return {"auth_key_id": key_id, "auth_key_sha256": hashlib.sha256(key).hexdigest()}


# ---------------------------------------------------------------- worker (inside the venv)

def worker(job: str, args: list[str]) -> dict:
    import asyncio

    if job == "make":
        from TGConvertor import converter
        out = Path(args[0])
        result = {}
        for name, source, kind in GRAMJS:
            if source.endswith(".txt"):
                text = asyncio.run(converter.convert((HERE / source).read_text().strip(), kind, "gramjs", input_type="string"))
            else:
                text = asyncio.run(converter.convert(str(HERE / source), kind, "gramjs", input_type="file"))
            (out / name).write_text(text)
            result[name] = {"source": source, "converted_from": kind}
        from opentele2.td import AuthKey, AuthKeyType, TDesktop
        for folder, sources, passcode in TDATA:
            desktop = TDesktop()
            desktop.kPerformanceMode = False  # a fresh random local key, as tgconvertor asks
            for source, user_id in sources:
                kind = "telethon" if source.startswith("telethon") else "pyrogram"
                manager = asyncio.run(converter.load_session(str(HERE / source), kind, input_type="file"))
                # opentele2 2.0.0's offline path (Account.FromTelethon without a connection does the same).
                desktop._addAccount(user_id, AuthKey(manager.auth_key, AuthKeyType.ReadFromFile, manager.dc_id))
            target = out / folder
            assert desktop.SaveTData(str(target), passcode=passcode), folder
            result[folder] = {"sources": [s for s, _ in sources], "passcode": bool(passcode)}
        return result
    if job == "make-legacy":
        import sqlite3
        from opentele.api import API
        from opentele.td import TDesktop, Account, AuthKey, AuthKeyType
        from opentele.td.configs import DcId
        out = Path(args[0])
        result = {}
        dc_id, key = sqlite3.connect(f"file:{HERE / 'telethon-v8.session'}?mode=ro", uri=True).execute(
            "select dc_id, auth_key from sessions").fetchone()
        for folder, passcode in LEGACY_TDATA:
            desktop = TDesktop(api=API.TelegramDesktop)
            desktop.kPerformanceMode = False
            account = Account(owner=desktop, api=API.TelegramDesktop)
            dc = DcId(dc_id)
            # The same calls as tgconvertor 0.3.0's TDataSession.to_folder (written for this API).
            account._setMtpAuthorizationCustom(dc, 6123456789, [AuthKey(key, AuthKeyType.ReadFromFile, dc)])
            desktop._addSingleAccount(account)
            assert desktop.SaveTData(str(out / folder), passcode=passcode), folder
            result[folder] = {"sources": ["telethon-v8.session"], "passcode": bool(passcode)}
        return result
    if job == "make-test-mode":
        import opentele2._native as native
        source = native.TData.load(str(HERE / "tdata-telethon-v8")).accounts[0]
        config = source.config
        assert config[:8] == struct.pack(">ii", 1, 0), "not a version-1 production config"
        account = native.Account(0, source.user_id, source.main_dc, source.keys, config=config[:4] + struct.pack(">i", 1) + config[8:])
        native.TData.new([account], performance_mode=False).save(str(Path(args[0]) / TEST_MODE_TDATA))
        return {TEST_MODE_TDATA: {"sources": ["tdata-telethon-v8"], "passcode": False,
                                  "made_with": "opentele2 2.0.0 TData.new + save, the config of tdata-telethon-v8 with environment Test"}}
    if job == "check-environments":
        import opentele2._native as native
        return {"environments": [native.account_mtp_config(a)["environment"] for a in native.TData.load(args[0]).accounts]}
    if job == "check-gramjs":
        from TGConvertor.sessions.gramjs import GramSession
        session = GramSession.from_string(Path(args[0]).read_text().strip())
        return {"dc_id": session.dc_id, "server_address": session.server_address, "port": session.port,
                "test_mode": session.test_mode, **key_facts(session.auth_key)}
    if job == "check-tdata":
        from opentele2.td import TDesktop
        passcode = Path(args[1]).read_text() if len(args) > 1 and args[1] else ""
        desktop = TDesktop(basePath=args[0], passcode=passcode)
        accounts = []
        for account in desktop.accounts:
            key = account.authKey
            accounts.append({"user_id": int(account.UserId), "main_dc": int(account.MainDcId),
                             "key_dc": int(key.dcId), **key_facts(key.key)})
        return {"accounts": accounts}
    raise SystemExit(f"unknown job {job}")


# ---------------------------------------------------------------- driver

def venv_python(name: str = VENV) -> Path:
    import generate as G
    G.PINS[VENV] = PINS
    G.PINS[LEGACY_VENV] = LEGACY_PINS
    return G.ensure_venv(Path(os.environ.get("SESSION_VAULT_INTEROP_VENV_DIR", G.DEFAULT_VENV_DIR)), name, quiet=True)


def run(job: str, *args: str) -> dict:
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as handle:
        result = handle.name
    try:
        proc = subprocess.run([str(venv_python(LEGACY_VENV if job == "make-legacy" else VENV)), __file__, "--worker", job, "--result", result, *args],
                              capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit(f"{job} failed")
        return json.loads(Path(result).read_text())
    finally:
        os.unlink(result)


def facts_of_all(directory: Path, made: dict) -> dict:
    entries = {}
    for name, info in made.items():
        path = directory / name
        if path.is_dir():
            passcode_file = ""
            if info.get("passcode"):
                handle = tempfile.NamedTemporaryFile("w", delete=False)
                handle.write(PASSCODE)
                handle.close()
                passcode_file = handle.name
            try:
                facts = run("check-tdata", str(path), passcode_file)
                if name == TEST_MODE_TDATA:
                    facts.update(run("check-environments", str(path)))
            finally:
                if passcode_file:
                    os.unlink(passcode_file)
            entries[name] = {"format": "tdata", "made_by": info.get("made_with", "opentele2 2.0.0 TDesktop._addAccount + SaveTData (Telegram Desktop 7.3 key file)"),
                             **info, "passcode_text": PASSCODE if info.get("passcode") else "",
                             "files": sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()),
                             "facts": facts}
        else:
            facts = run("check-gramjs", str(path))
            entries[name] = {"format": "gramjs-string", "made_by": "tgconvertor 0.3.0 convert(..., 'gramjs')", **info,
                             "size": path.stat().st_size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                             "facts": facts}
    return entries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker")
    parser.add_argument("--result")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--check-gramjs")
    parser.add_argument("--check-tdata")
    parser.add_argument("--make-test-mode", action="store_true")
    parser.add_argument("--passcode-file", default="")
    parser.add_argument("rest", nargs="*")
    options = parser.parse_args()
    if options.worker:
        Path(options.result).write_text(json.dumps(worker(options.worker, options.rest)))
        return
    if options.check_gramjs:
        print(json.dumps(run("check-gramjs", options.check_gramjs)))
        return
    if options.check_tdata:
        print(json.dumps(run("check-tdata", options.check_tdata, options.passcode_file)))
        return
    manifest_path = HERE / "converted-manifest.json"
    if options.make_test_mode:
        # Adds (or remakes) only the test-mode folder; the other fixtures stay byte-identical.
        manifest = json.loads(manifest_path.read_text())
        with tempfile.TemporaryDirectory() as scratch:
            made = run("make-test-mode", scratch)
            manifest["fixtures"].update(facts_of_all(Path(scratch), made))
            target = HERE / TEST_MODE_TDATA
            if target.exists():
                shutil.rmtree(target)
            shutil.move(str(Path(scratch) / TEST_MODE_TDATA), str(target))
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        print(f"wrote {TEST_MODE_TDATA} and its manifest entry")
        return
    if options.check:
        manifest = json.loads(manifest_path.read_text())
        made = {name: {k: v for k, v in entry.items() if k in ("source", "converted_from", "sources", "passcode", "made_with")}
                for name, entry in manifest["fixtures"].items()}
        now = facts_of_all(HERE, made)
        bad = [name for name in made if now[name]["facts"] != manifest["fixtures"][name]["facts"]]
        print("converted fixtures: " + ("all facts match" if not bad else f"facts differ: {bad}"))
        raise SystemExit(1 if bad else 0)
    with tempfile.TemporaryDirectory() as scratch:
        made = run("make", scratch)
        legacy = run("make-legacy", scratch)
        made.update(run("make-test-mode", scratch))
        for entry in legacy.values():
            entry["made_with"] = "opentele 1.15.1 (legacy key file)"
        made.update(legacy)
        entries = facts_of_all(Path(scratch), made)
        for name in made:
            target = HERE / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            shutil.move(str(Path(scratch) / name), str(target))
    manifest = {"generator": {"script": "Fixtures/interop/make_converted.py", "venv": VENV, "pins": PINS,
                              "python": sys.version.split()[0]},
                "legacy_venv": LEGACY_VENV, "legacy_pins": LEGACY_PINS, "fixtures": entries}
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(entries)} fixtures and {manifest_path.name}")


if __name__ == "__main__":
    main()
