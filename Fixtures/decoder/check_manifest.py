#!/usr/bin/env python3
"""Run the independent decoder (decode.py) over the known answers and compare.

    python3 Fixtures/decoder/check_manifest.py [--manifest Fixtures/manifest.json]
        [--sample-dir /tmp/decoder-sample] [--vectors-dir Fixtures/vectors] [-j N] [-v]

(a) Creates or reuses the decoder's venv (Fixtures/.venv/decoder-pynacl-1.5.0, PyNaCl pinned;
    SV_DECODER_VENV overrides) and re-runs itself inside it.
(b) Re-derives every layer vector file (vectors/*.json beside the manifest) with decode.py's
    own functions: one line per file.
(c) Runs decode.py (a subprocess, --json) on the sample vault, if --sample-dir holds
    sample.session + expected.json (with its passphrase and with its recovery key), and on
    every open attempt of every fixture in the manifest (schema "sessionvault-fixtures/1",
    Fixtures/README.md). The fixture file must match its sha256. The outcome is compared with
    the expected one: the complete decrypted contents for `ok`; the error code, and the record
    kind when the manifest names one, for a failure.

Prints one line per case, then `N passed, M failed`; exits 1 when M > 0. Secrets reach the
decoder through 0600 files in a private temporary directory, never on a command line.
--allow-test-kdf is passed only for opens that the manifest marks `kdf_bounds: "test"`.
"""
from __future__ import annotations

import argparse
import base64
import concurrent.futures
import copy
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # leave no __pycache__ in Fixtures/decoder
import decode as D  # noqa: E402  (stdlib only at import time; venv helpers)

DEFAULT_MANIFEST = ROOT / "Fixtures" / "manifest.json"
DEFAULT_SAMPLE = Path("/tmp/decoder-sample")


# --------------------------------------------------------------------------- expected contents
def telegram_key_id(hexkey: str) -> int:
    return int.from_bytes(hashlib.sha1(bytes.fromhex(hexkey)).digest()[-8:], "little", signed=True)


def sample_to_contents_session(s: dict) -> dict:
    """The sample's expected.json uses another shape than Fixtures/manifest.json; convert it
    to the manifest's `contents.session` shape, which is what decode.py prints. Only fields
    that are pure functions of given ones are filled in (sha256 of a key, the temporary key's
    id); the permanent keys' ids are taken from expected.json as given."""
    def key(hexkey, kid=None):
        if hexkey is None:
            return None
        return {"id": telegram_key_id(hexkey) if kid is None else kid,
                "sha256": hashlib.sha256(bytes.fromhex(hexkey)).hexdigest(), "hex": hexkey.lower()}
    dcs = [{"id": d["id"], "media_only": d["media_only"], "ipv4": d.get("ipv4"), "ipv6": d.get("ipv6"),
            "auth_key": key(d.get("auth_key_hex"), d.get("auth_key_id")),
            "temporary_auth_key": key(d.get("temporary_auth_key_hex"))} for d in s.get("dcs", [])]
    u = s.get("user")
    state = s.get("state")
    return {
        "data_centers": sorted(dcs, key=lambda d: (d["id"], d["media_only"])),
        "user": None if u is None else {"id": u["id"], "dc_id": u["dc"], "is_bot": u["bot"],
                                        "username": u.get("username")},
        "update_state": None if state is None else {**state, "channels": dict(s.get("channels", {}))},
        "api_id": s.get("api_id"), "test_mode": s.get("test_mode", False), "takeout_id": s.get("takeout_id"),
    }


def normalise(contents: dict) -> dict:
    """Order-insensitive where the manifest does not fix an order (peer_index), channel ids as
    strings in numeric order, DCs by (id, media_only), peers by id."""
    c = copy.deepcopy(contents)
    s = c.get("session")
    if s:
        s["data_centers"] = sorted(s["data_centers"], key=lambda d: (d["id"], d["media_only"]))
        if s.get("update_state"):
            ch = s["update_state"]["channels"]
            s["update_state"]["channels"] = {str(k): v for k, v in sorted(ch.items(), key=lambda kv: int(kv[0]))}
    if "peers" in c:
        c["peers"] = sorted(c["peers"], key=lambda p: p["id"])
    if "peer_index" in c:
        c["peer_index"] = sorted(c["peer_index"], key=lambda e: (e["field"], e["value"]))
    return c


def diff(a, b, path="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                out.append(f"{path}/{k}: missing in decoder output")
            elif k not in b:
                out.append(f"{path}/{k}: unexpected in decoder output ({json.dumps(a[k])[:60]})")
            else:
                out += diff(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items, expected {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    return [] if a == b and type(a) is type(b) else [f"{path}: got {json.dumps(a)[:60]}, expected {json.dumps(b)[:60]}"]


# --------------------------------------------------------------------------- cases
class Case:
    def __init__(self, name, vault: Path, secret_kind: str, secret: bytes, expect: str,
                 contents: dict | None = None, record_kind: str | None = None, test_floor: bool = False):
        self.name, self.vault, self.secret_kind, self.secret = name, vault, secret_kind, secret
        self.expect, self.contents, self.record_kind, self.test_floor = expect, contents, record_kind, test_floor
        self.sha256: str | None = None


def sample_cases(sample_dir: Path) -> list[Case]:
    exp_path = sample_dir / "expected.json"
    if not exp_path.exists():
        return []
    exp = json.loads(exp_path.read_text())
    vault = sample_dir / exp.get("file", "sample.session")
    want = {"session": sample_to_contents_session(exp["session"])}
    out = []
    if "passphrase" in exp:
        out.append(Case("sample.session [passphrase]", vault, "passphrase",
                        exp["passphrase"].encode("utf-8"), "ok", want))
    if "recovery_key" in exp:
        out.append(Case("sample.session [recovery key]", vault, "recovery",
                        exp["recovery_key"].encode("ascii"), "ok", want))
    return out


def manifest_cases(manifest_path: Path) -> list[Case]:
    """Fixtures/manifest.json, schema "sessionvault-fixtures/1" (Fixtures/README.md): one case
    per entry of every fixture's `opens`."""
    m = json.loads(manifest_path.read_text())
    if m.get("schema") != "sessionvault-fixtures/1":
        raise SystemExit(f"{manifest_path}: unknown schema {m.get('schema')!r}")
    base = manifest_path.parent
    out = []
    for f in m["fixtures"]:
        for i, o in enumerate(f["opens"]):
            if "passphrase" in o:
                kind, secret = "passphrase", o["passphrase"].encode("utf-8")
            else:
                kind, secret = "recovery", o["recovery_key"].encode("utf-8")
            label = (f"{f['file']} [{i}: {'passphrase' if kind == 'passphrase' else 'recovery key'}, "
                     f"{o['kdf_bounds']} bounds]")
            c = Case(label, base / f["file"], kind, secret, o["expect"],
                     f.get("contents") if o["expect"] == "ok" else None,
                     o.get("record_kind"), o["kdf_bounds"] == "test")
            c.sha256 = f.get("sha256")
            out.append(c)
    return out


# --------------------------------------------------------------------------- layer vectors
def _h(x: str) -> bytes:
    return bytes.fromhex(x)


def _decoded_json(kind: int, value: dict) -> dict:
    v = dict(value)
    if kind == 1:
        v["sum"] = v["sum"].hex()
    return v


def check_vector_file(path: Path) -> tuple[bool, str]:
    """Re-derive one Fixtures/vectors/*.json file with decode.py's own primitives. Returns
    (ok, message). Each file checks one layer of FORMAT.md on its own."""
    import nacl.bindings
    d = json.loads(path.read_text())
    name = path.name
    errors: list[str] = []
    n = 0

    def expect(cond, what):
        nonlocal n
        n += 1
        if not cond:
            errors.append(what)

    def seal(key, nonce, pt):  # crypto_secretbox_easy: tag || ciphertext
        return nacl.bindings.crypto_secretbox(pt, nonce, key)

    if name == "kdf.json":
        for v in d["vectors"]:
            pw = _h(v["passphrase_hex"])
            expect(v["passphrase"].encode("utf-8") == pw, f"{v['name']}: passphrase bytes")
            kek = D.argon2id(pw, _h(v["salt"]), v["opslimit"], v["memlimit"])
            expect(kek == _h(v["kek"]), f"{v['name']}: kek")
            expect(seal(kek, _h(v["nonce"]), _h(v["data_key"])) == _h(v["wrapped_key"]), f"{v['name']}: wrapped_key")
            expect(D.secretbox_open(kek, _h(v["nonce"]), _h(v["wrapped_key"])) == _h(v["data_key"]), f"{v['name']}: unwrap")
            inb = D.OPSLIMIT_MIN <= v["opslimit"] <= D.OPSLIMIT_MAX and D.MEMLIMIT_MIN <= v["memlimit"] <= D.MEMLIMIT_MAX
            expect(inb == v["within_bounds"], f"{v['name']}: within_bounds")
    elif name == "keyschedule.json":
        for label, hx in d["labels"].items():
            expect(D.LABEL(label) == _h(hx), f"LABEL({label})")
        for v in d["vectors"]:
            ks = D.derive_keys(_h(v["data_key"]), _h(v["vault_id"]))
            for k, got in zip(("k_tag", "k_mask", "k_header", "k_set"), ks):
                expect(got == _h(v[k]), f"{v['name']}: {k}")
    elif name == "tags.json":
        for v in d["vectors"]:
            k_tag, k_mask, _, k_set = D.derive_keys(_h(v["data_key"]), _h(v["vault_id"]))
            for r in v["records"]:
                tag = D.record_tag(k_tag, r["kind"], _h(r["identity"]))
                expect(tag == _h(r["tag"]), f"{v['name']}/{r['meaning']}: tag")
                expect(D.kind_mask(k_mask, tag) == r["mask"], f"{v['name']}/{r['meaning']}: mask")
                expect(r["kind"] ^ r["mask"] == r["masked_kind"], f"{v['name']}/{r['meaning']}: masked_kind")
                expect(D.KIND_NAMES[r["kind"]] == r["kind_name"], f"{v['name']}/{r['meaning']}: kind name")
                expect(D.set_element(k_set, tag) == _h(r["set_element"]), f"{v['name']}/{r['meaning']}: set_element")
    elif name in ("records.json", "records-v2.json"):
        for v in d["vectors"]:
            dek, vid, kind = _h(v["data_key"]), _h(v["vault_id"]), v["kind"]
            k_tag, k_mask, _, _ = D.derive_keys(dek, vid)
            tag = _h(v["tag"])
            expect(D.record_tag(k_tag, kind, _h(v["identity"])) == tag, f"{v['name']}: tag")
            expect(kind ^ D.kind_mask(k_mask, tag) == v["masked_kind"], f"{v['name']}: masked_kind")
            rk = D.record_key(dek, vid, kind, tag, v["format_version"])
            expect(rk == _h(v["record_key"]), f"{v['name']}: record_key")
            sealed = _h(v["plaintext"])
            if v["format_version"] >= 2:
                # §5.4: p || 0x80 || zeros to the next multiple of 128, written out from the document.
                want = sealed + b"\x80" + bytes((len(sealed) // 128 + 1) * 128 - len(sealed) - 1)
                expect(_h(v["padded_plaintext"]) == want, f"{v['name']}: padded_plaintext")
                sealed = want
            expect(seal(rk, _h(v["nonce"]), sealed) == _h(v["ciphertext"]), f"{v['name']}: ciphertext")
            pt = D.secretbox_open(rk, _h(v["nonce"]), _h(v["ciphertext"]))
            if pt is not None and v["format_version"] >= 2:
                pt = D.unpad(pt, D.KIND_NAMES[kind])
            expect(pt == _h(v["plaintext"]), f"{v['name']}: open")
            try:
                idents, value = D.decode_record(kind, _h(v["plaintext"]))
                expect(_h(v["identity"]) in idents, f"{v['name']}: identity from the decoded plaintext")
                expect(_decoded_json(kind, value) == v["decoded"],
                       f"{v['name']}: decoded {_decoded_json(kind, value)} != {v['decoded']}")
            except D.VaultError as e:
                expect(False, f"{v['name']}: decoder refused it: {e.line()}")
    elif name == "header.json":
        for v in d["vectors"]:
            h = v["header"]
            slots = [(k["slot"], k["kind"], k["kdf"], k["opslimit"], k["memlimit"], _h(k["salt"]),
                      _h(k["nonce"]), _h(k["wrapped_key"])) for k in v["keyslots"]]
            canon = D.canonical_header(_h(h["magic"]), h["format_version"], _h(h["vault_id"]), slots)
            expect(canon == _h(v["canonical"]), f"{v['name']}: canonical")
            k_header = D.derive_keys(_h(v["data_key"]), _h(h["vault_id"]))[2]
            expect(k_header == _h(v["k_header"]), f"{v['name']}: k_header")
            expect(D.blake2b(256, canon, key=k_header) == _h(v["mac"]), f"{v['name']}: mac")
    elif name == "recoverykey.json":
        for v in d["vectors"]:
            key = _h(v["key"])
            expect(D.blake2b(128, D.LABEL("recovery-checksum") + key)[:2] == _h(v["checksum"]), f"{v['name']}: checksum")
            expect(D.format_recovery_key(key) == v["display"], f"{v['name']}: display")
            expect(D.parse_recovery_key(v["display"]) == key, f"{v['name']}: parse")
            expect(D.blake2b(256, D.LABEL("recovery-kek") + _h(v["salt"]), key=key) == _h(v["kek"]), f"{v['name']}: kek")
        for v in d["accepted"]:
            try:
                expect(D.parse_recovery_key(v["text"]) == _h(v["key"]), f"accepted {v['text']!r}")
            except D.VaultError as e:
                expect(False, f"accepted {v['text']!r}: {e.line()}")
        for v in d["rejected"]:
            try:
                D.parse_recovery_key(v["text"])
                expect(False, f"rejected {v['text']!r} ({v['why']}) was accepted")
            except D.VaultError as e:
                expect(e.code == v["expect"], f"rejected {v['text']!r}: {e.code} != {v['expect']}")
    elif name == "manifest-sum.json":
        for v in d["keyed"]:
            k_set = D.derive_keys(_h(v["data_key"]), _h(v["vault_id"]))[3]
            tags = [_h(t) for t in v["tags"]]
            expect([D.set_element(k_set, t).hex() for t in tags] == v["elements"], f"{v['name']}: elements")
            expect(len(tags) == v["count"], f"{v['name']}: count")
            expect(D.set_sum(k_set, tags).to_bytes(32, "little") == _h(v["sum"]), f"{v['name']}: sum")
        for v in d["arithmetic"]:
            total = sum(int.from_bytes(_h(e), "little") for e in v["elements"]) % (1 << 256)
            expect(total.to_bytes(32, "little") == _h(v["sum"]), f"{v['name']}: sum")
    elif name == "sealed-string.json":
        for v in d["vectors"]:
            pw = v["passphrase"].encode("utf-8")
            kek = D.argon2id(pw, _h(v["salt"]), v["opslimit"], v["memlimit"])
            expect(kek == _h(v["kek"]), f"{v['name']}: kek")
            expect(seal(kek, _h(v["key_nonce"]), _h(v["data_key"])) == _h(v["wrapped_key"]), f"{v['name']}: wrapped_key")
            header = (bytes([1, 2]) + D.u64le(v["opslimit"]) + D.u64le(v["memlimit"]) + _h(v["salt"])
                      + _h(v["key_nonce"]) + _h(v["wrapped_key"]))
            expect(header == _h(v["header"]), f"{v['name']}: header")
            pk = D.blake2b(256, D.LABEL("sealed-string-key") + header, key=_h(v["data_key"]))
            expect(pk == _h(v["payload_key"]), f"{v['name']}: payload_key")
            ct = seal(pk, _h(v["payload_nonce"]), _h(v["payload"]))
            expect(ct == _h(v["payload_ciphertext"]), f"{v['name']}: payload_ciphertext")
            blob = header + _h(v["payload_nonce"]) + ct
            expect(base64.urlsafe_b64encode(blob).rstrip(b"=").decode() == v["text"][5:] and v["text"][:5] == "svs1.",
                   f"{v['name']}: text")
            inb = D.OPSLIMIT_MIN <= v["opslimit"] <= D.OPSLIMIT_MAX and D.MEMLIMIT_MIN <= v["memlimit"] <= D.MEMLIMIT_MAX
            expect(inb == v["within_bounds"], f"{v['name']}: within_bounds")
            try:
                got = D.open_sealed_string(v["text"], pw, allow_test_kdf=not v["within_bounds"])["session"]
                expect(normalise({"session": got}) == normalise({"session": v["session"]}), f"{v['name']}: session")
            except D.VaultError as e:
                expect(False, f"{v['name']}: {e.line()}")
        for r in d["rejected"]:
            try:
                D.open_sealed_string(r["text"], r["passphrase"].encode("utf-8"), allow_test_kdf=True)
                expect(False, f"rejected ({r['why']}) was accepted")
            except D.VaultError as e:
                expect(e.code == r["expect"], f"rejected ({r['why']}): {e.code} != {r['expect']}")
    else:
        return False, "unknown vector file (no checker for it)"
    if errors:
        return False, f"{len(errors)} of {n} checks failed: " + "; ".join(errors[:4])
    return True, f"{n} checks re-derived"


# --------------------------------------------------------------------------- running
def run_case(py: Path, case: Case, tmp: Path, idx: int) -> tuple[bool, str, float]:
    if case.sha256 is not None:
        try:
            digest = hashlib.sha256(case.vault.read_bytes()).hexdigest()
        except OSError as e:
            return False, f"cannot read the fixture: {e}", 0.0
        if digest != case.sha256:
            return False, "fixture file does not match its sha256 in the manifest", 0.0
    secret_file = tmp / f"secret-{idx}"
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(case.secret)
    cmd = [str(py), str(HERE / "decode.py"), str(case.vault), "--json",
           "--passphrase-file" if case.secret_kind == "passphrase" else "--recovery-key-file", str(secret_file)]
    if case.test_floor:
        cmd.append("--allow-test-kdf")
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.monotonic() - t0
    secret_file.unlink()
    try:
        res = json.loads(proc.stdout)
    except ValueError:
        return False, f"decoder crashed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}", dt
    if res.get("ok"):
        if case.expect != "ok":
            return False, f"decoder opened it, expected {case.expect}", dt
        got = res["contents"]
        if set(case.contents) == {"session"}:  # the sample: only the session is known
            got = {"session": got["session"]}
        d = diff(normalise(got), normalise(case.contents))
        if d:
            return False, "contents differ: " + "; ".join(d[:5]) + (f" (+{len(d) - 5} more)" if len(d) > 5 else ""), dt
        if proc.returncode != 0:
            return False, f"ok output but exit status {proc.returncode}", dt
        return True, "ok, contents match", dt
    got = res["error"] + (f" ({res['kind']})" if res.get("kind") else "")
    want = case.expect + (f" ({case.record_kind})" if case.record_kind not in (None, "none") else "")
    if case.expect == "ok":
        return False, f"decoder failed with {got}: {res.get('detail')}", dt
    if proc.returncode != D.EXIT_CODES[res["error"]]:
        return False, f"exit status {proc.returncode} does not match {res['error']}", dt
    if res["error"] != case.expect:
        return False, f"got {got}, expected {want}: {res.get('detail')}", dt
    # record_kind: "none" = the error names no kind; absent = not determined by the mutation
    if case.record_kind is not None and (res.get("kind") or "none") != case.record_kind:
        return False, f"got {got}, expected {want} (record kind differs): {res.get('detail')}", dt
    return True, f"{got} as expected", dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    ap.add_argument("--sample-dir", type=Path, default=DEFAULT_SAMPLE)
    ap.add_argument("--vectors-dir", type=Path, default=None,
                    help="layer vectors (default: vectors/ beside the manifest)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    # (a) the venv: run this script itself inside it (the vector checks need PyNaCl too)
    venv = Path(os.environ.get("SV_DECODER_VENV", D.DEFAULT_VENV))
    if not D._import_nacl():
        py = D.ensure_venv(venv)
        os.execv(str(py), [str(py), str(Path(__file__).resolve()), *sys.argv[1:]])
    py = Path(sys.executable)

    t_start = time.monotonic()
    cases = sample_cases(args.sample_dir)
    if not cases:
        print(f"sample: skipped ({args.sample_dir}/expected.json not present)")
    if args.manifest.exists():
        cases += manifest_cases(args.manifest)
    else:
        print(f"manifest: skipped ({args.manifest} not present)")
    vectors_dir = args.vectors_dir or args.manifest.parent / "vectors"
    vector_files = sorted(vectors_dir.glob("*.json")) if vectors_dir.is_dir() else []

    passed = failed = 0
    for vf in vector_files:
        try:
            ok, msg = check_vector_file(vf)
        except Exception as e:  # a schema change in a vector file is a failure, not a crash
            ok, msg = False, f"{type(e).__name__}: {e}"
        passed += ok
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'} vectors/{vf.name}: {msg}")
    with tempfile.TemporaryDirectory(prefix="sv-check-") as tmp:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = pool.map(lambda ic: run_case(py, ic[1], Path(tmp), ic[0]), enumerate(cases))
            for case, (ok, msg, dt) in zip(cases, results):
                passed += ok
                failed += not ok
                print(f"{'PASS' if ok else 'FAIL'} {case.name}: {msg}" + (f" [{dt:.2f}s]" if args.verbose else ""),
                      flush=True)
    if args.verbose:
        print(f"total {time.monotonic() - t_start:.1f}s", file=sys.stderr)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
