#!/usr/bin/env python3
"""Hand-made mtcute and gotd session fixtures (issue #14), written from the upstream source with the
standard library only: neither mtcute (JavaScript, no registry here) nor gotd (Go, no toolchain here)
can run in this environment.

    python3 Fixtures/interop/make_handmade_js_go.py           # writes the fixtures + handmade-js-go-manifest.json
    python3 Fixtures/interop/make_handmade_js_go.py --check   # rebuilds in memory, compares byte for byte

mtcute: mtcute/mtcute @ 42538c29887949aa5799a9a199b30df2f9d59ef0,
  packages/core/src/highlevel/utils/string-session.ts (writeStringSession, version 3),
  packages/core/src/utils/dcs.ts (serializeBasicDcOption, version 2),
  packages/tl-runtime/src/writer.ts (bytes/string padding, int53, boolean).
gotd: gotd/td @ d0d567ee95e61e991eb4075eeb75b16ddc973801,
  session/session.go (jsonData{Version, Data}, Data, Config), session/storage_file.go,
  tg/tl_dc_option_gen.go (DCOption field order), telegram/session.go (saveSession: Addr untouched,
  Salt and Config from the server). Go encoding/json: declaration order, no spaces, []byte as
  standard padded base64, nil slices as null.
"""
from __future__ import annotations

import base64
import hashlib
import json
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))
from generate import derive_key  # noqa: E402  (the same synthetic-key derivation as every fixture)

MTCUTE_COMMIT = "42538c29887949aa5799a9a199b30df2f9d59ef0"
GOTD_COMMIT = "d0d567ee95e61e991eb4075eeb75b16ddc973801"


def key_facts(key: bytes) -> dict:
    return {"auth_key_id": struct.unpack("<q", hashlib.sha1(key).digest()[-8:])[0],
            "auth_key_sha256": hashlib.sha256(key).hexdigest()}


# ------------------------------------------------------------------ mtcute

def tl_bytes(data: bytes) -> bytes:
    head = bytes([len(data)]) if len(data) <= 253 else bytes([254]) + len(data).to_bytes(3, "little")
    out = head + data
    return out + b"\0" * (-len(out) % 4)


def dc_option(dc_id: int, ip: str, port: int, ipv6=False, media=False, test=False) -> bytes:
    flags = (1 if ipv6 else 0) | (2 if media else 0) | (4 if test else 0)
    return bytes([2, dc_id, flags]) + tl_bytes(ip.encode()) + struct.pack("<i", port)


def mtcute_string(main: bytes, media: bytes | None, user: tuple[int, bool] | None, key: bytes) -> str:
    flags = (1 if user else 0) | (4 if media is not None else 0)
    out = bytes([3]) + struct.pack("<i", flags) + tl_bytes(main)
    if media is not None:
        out += tl_bytes(media)
    if user:
        out += struct.pack("<q", user[0]) + struct.pack("<I", 0x997275B5 if user[1] else 0xBC799737)
    out += tl_bytes(key)
    return base64.urlsafe_b64encode(out).decode().rstrip("=")


# ------------------------------------------------------------------ gotd

def go_option(dc_id, ip, port, ipv6=False, media=False, cdn=False, static=False, tcpo=False):
    flags = (1 if ipv6 else 0) | (2 if media else 0) | (4 if tcpo else 0) | (8 if cdn else 0) | (16 if static else 0)
    return {"Flags": flags, "Ipv6": ipv6, "MediaOnly": media, "TCPObfuscatedOnly": tcpo, "CDN": cdn, "Static": static,
            "ThisPortOnly": False, "ID": dc_id, "IPAddress": ip, "Port": port, "Secret": None}


def gotd_json(dc: int, addr: str, key: bytes, options, test=False, date=0, expires=0, salt=0, domain="", webfile=0) -> str:
    config = {"BlockedMode": False, "ForceTryIpv6": False, "Date": date, "Expires": expires, "TestMode": test,
              "ThisDC": dc, "DCOptions": options, "DCTxtDomainName": domain, "TmpSessions": 0, "WebfileDCID": webfile}
    data = {"Config": config, "DC": dc, "Addr": addr, "AuthKey": base64.b64encode(key).decode(),
            "AuthKeyID": base64.b64encode(hashlib.sha1(key).digest()[12:20]).decode(), "Salt": salt}
    return json.dumps({"Version": 1, "Data": data}, separators=(",", ":"), ensure_ascii=False)


def build() -> tuple[dict[str, bytes], dict]:
    files: dict[str, bytes] = {}
    manifest: dict = {}

    key = derive_key("mtcute-v3")
    files["mtcute-v3.txt"] = mtcute_string(
        dc_option(2, "149.154.167.50", 443), dc_option(2, "149.154.167.222", 443, media=True),
        (6123456789, False), key).encode()
    manifest["mtcute-v3.txt"] = {
        "format": "mtcute-string", "made_by": f"make_handmade_js_go.py from mtcute@{MTCUTE_COMMIT}",
        "facts": {"dc_id": 2, "server_address": "149.154.167.50", "port": 443, "ipv6": False, "test_mode": False,
                  "media_dc": {"id": 2, "server_address": "149.154.167.222", "port": 443, "ipv6": False},
                  "user": {"id": 6123456789, "is_bot": False}, **key_facts(key)}}

    key = derive_key("mtcute-v3-test-ipv6-bot")
    files["mtcute-v3-test-ipv6-bot.txt"] = mtcute_string(
        dc_option(2, "2001:067c:04e8:f002:0000:0000:0000:000e", 443, ipv6=True, test=True), None,
        (6543210987, True), key).encode()
    manifest["mtcute-v3-test-ipv6-bot.txt"] = {
        "format": "mtcute-string", "made_by": f"make_handmade_js_go.py from mtcute@{MTCUTE_COMMIT}",
        "facts": {"dc_id": 2, "server_address": "2001:067c:04e8:f002:0000:0000:0000:000e", "port": 443, "ipv6": True,
                  "test_mode": True, "media_dc": None, "user": {"id": 6543210987, "is_bot": True}, **key_facts(key)}}

    key = derive_key("gotd-client")
    options = [go_option(1, "149.154.175.53", 443), go_option(1, "2001:b28:f23d:f001::a", 443, ipv6=True),
               go_option(2, "149.154.167.51", 443), go_option(2, "149.154.167.41", 443, static=True),
               go_option(2, "149.154.167.151", 443, media=True), go_option(2, "2001:67c:4e8:f002::a", 443, ipv6=True),
               go_option(4, "149.154.167.91", 443), go_option(203, "91.105.192.100", 443, cdn=True)]
    files["gotd-client.json"] = gotd_json(2, "", key, options, date=1718000000, expires=1718003600,
                                          salt=-4567890123456789012, domain="apv3.stel.com", webfile=4).encode()
    manifest["gotd-client.json"] = {
        "format": "gotd-json", "made_by": f"make_handmade_js_go.py from gotd/td@{GOTD_COMMIT} (as telegram/session.go saveSession writes it)",
        "facts": {"dc_id": 2, "server_address": "149.154.167.51", "port": 443, "ipv6_address": "2001:67c:4e8:f002::a",
                  "test_mode": False, "other_options": 6, **key_facts(key)}}

    key = derive_key("gotd-tdesktop")
    files["gotd-tdesktop.json"] = gotd_json(4, "149.154.167.91", key, [go_option(4, "149.154.167.91", 443)]).encode()
    manifest["gotd-tdesktop.json"] = {
        "format": "gotd-json", "made_by": f"make_handmade_js_go.py from gotd/td@{GOTD_COMMIT} (session/tdesktop.go TDesktopSession: Addr = bare IP)",
        "facts": {"dc_id": 4, "server_address": "149.154.167.91", "port": 443, "ipv6_address": None,
                  "test_mode": False, "other_options": 0, **key_facts(key)}}
    for name, data in files.items():
        manifest[name]["size"] = len(data)
        manifest[name]["sha256"] = hashlib.sha256(data).hexdigest()
    return files, {"generator": {"script": "Fixtures/interop/make_handmade_js_go.py", "mtcute_commit": MTCUTE_COMMIT,
                                 "gotd_commit": GOTD_COMMIT}, "fixtures": manifest}


def main() -> None:
    files, manifest = build()
    manifest_path = HERE / "handmade-js-go-manifest.json"
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    if "--check" in sys.argv:
        bad = [name for name, data in files.items() if (HERE / name).read_bytes() != data]
        if manifest_path.read_text() != text:
            bad.append(manifest_path.name)
        print("hand-made mtcute/gotd fixtures: " + ("identical" if not bad else f"differ: {bad}"))
        raise SystemExit(1 if bad else 0)
    for name, data in files.items():
        (HERE / name).write_bytes(data)
    manifest_path.write_text(text)
    print(f"wrote {len(files)} fixtures and {manifest_path.name}")


if __name__ == "__main__":
    main()
