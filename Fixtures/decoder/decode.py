#!/usr/bin/env python3
"""Independent decoder for SessionVault vaults (format versions 1 and 2).

Written from docs/FORMAT.md alone (no SessionVault source was read; see FINDINGS.md for where
the document was not enough and how each gap was resolved). Every step of FORMAT.md §7 is
performed in order; the first failure stops the decoder with one of the document's error codes.

Usage:
    python3 Fixtures/decoder/decode.py VAULT --passphrase-file F [--json] [--allow-test-kdf]
    python3 Fixtures/decoder/decode.py VAULT --recovery-key-file F [--json]
    SV_PASSPHRASE=... python3 Fixtures/decoder/decode.py VAULT --passphrase-env SV_PASSPHRASE
    python3 Fixtures/decoder/decode.py --sealed-string-file S --passphrase-file F   (§10, svs1.)

Secrets are never taken from the command line: only from a file or an environment variable.
A passphrase file is used byte for byte (FORMAT.md §4.1: nothing is trimmed); pass
--strip-newline to drop ONE final "\\n" (or "\\r\\n") that an editor or `echo` added. A
recovery key file may contain the key in any case, with spaces, dashes and line breaks (§4.2).

--allow-test-kdf accepts passphrase keyslots below the document's Argon2id floor, down to
libsodium's minimum (opslimit 1, memlimit 8192). FORMAT.md §4.1 says such vaults are opened
only through an explicit opener switch; this is that switch. The maximums are unchanged.

Output: the decrypted contents as JSON on stdout, exit 0, in the shape of
Fixtures/manifest.json "contents" (record_count, records_by_kind, session {data_centers with
auth keys as hex plus Telegram's key id, user, update_state with channels, api_id, test_mode,
takeout_id}, peers, peer_index). With --json: {"ok": true, format_version, vault_id,
keyslots, unlocked_keyslot, contents}. On failure: one line
`error: <code>[ (<record kind>)]: <detail>` on stderr (with --json also
{"ok": false, "error", "kind", "detail"} on stdout) and the exit status of EXIT_CODES.

Dependencies: the Python 3 standard library (sqlite3, hashlib: BLAKE2b, SHA-1) + PyNaCl
(libsodium's Argon2id and XSalsa20-Poly1305). When PyNaCl is not importable, the script
creates a venv (Fixtures/.venv/decoder-pynacl-1.5.0, gitignored; override with
SV_DECODER_VENV) with the pinned versions below and re-executes itself inside it.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import stat
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PINS = ["PyNaCl==1.5.0", "cffi==1.17.1", "pycparser==2.22"]
VENV_NAME = "decoder-pynacl-1.5.0"
DEFAULT_VENV = HERE.parent / ".venv" / VENV_NAME

# --------------------------------------------------------------------------- errors
# The document's error codes (FORMAT.md §4, §5, §6, §7) and this tool's exit statuses.
EXIT_CODES = {
    "not-a-vault": 10,
    "corrupt": 11,
    "unsupported-format-version": 12,
    "kdf-parameters-out-of-bounds": 13,
    "wrong-passphrase": 14,
    "tampered": 15,
    # §4.2 says a malformed recovery key MUST be rejected before any keyslot is tried but
    # names no code; §10 and the fixtures use `invalid-argument` (FINDINGS.md F-4).
    "invalid-argument": 16,
}
EXIT_USAGE = 2

# FORMAT.md §5.2 names kinds "data center", "peer index", ...; the fixtures' manifest spells
# them with hyphens, which is what this tool prints (FINDINGS.md F-10).
KIND_NAMES = {1: "manifest", 2: "data-center", 3: "user", 4: "update-state",
              5: "channel-state", 6: "session-extras", 7: "peer", 8: "peer-index"}
PEER_KINDS = {1: "user", 2: "bot", 3: "group", 4: "channel", 5: "supergroup"}
INDEX_FIELDS = {1: "username", 2: "phone_number"}


class VaultError(Exception):
    def __init__(self, code: str, detail: str, kind: str | None = None):
        assert code in EXIT_CODES, code
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.kind = kind

    def line(self) -> str:
        k = f" ({self.kind})" if self.kind else ""
        return f"error: {self.code}{k}: {self.detail}"


# --------------------------------------------------------------------------- venv
def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(venv: Path = DEFAULT_VENV, quiet: bool = False) -> Path:
    """Create (or reuse) the venv with PINS; return its python."""
    marker = venv / "sessionvault-pins.json"
    want = {"pins": PINS, "python": sys.version.split()[0]}
    if marker.exists() and venv_python(venv).exists():
        try:
            if json.loads(marker.read_text()) == want:
                return venv_python(venv)
        except ValueError:
            pass
    if venv.exists():
        shutil.rmtree(venv)
    if not quiet:
        print(f"[venv] creating {venv} with {' '.join(PINS)}", file=sys.stderr)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv_python(venv)
    subprocess.run([str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q", *PINS],
                   check=True)
    marker.write_text(json.dumps(want))
    return py


def _import_nacl():
    try:
        import nacl.exceptions  # noqa: F401
        import nacl.pwhash.argon2id  # noqa: F401
        import nacl.secret  # noqa: F401
        return True
    except ImportError:
        return False


# --------------------------------------------------------------------------- primitives (§1)
MAGIC = b"sessionvault"
APPLICATION_ID = 0x53564C54
SQLITE_MAGIC = b"SQLite format 3\x00"

OPSLIMIT_MIN, OPSLIMIT_MAX = 2, 10
MEMLIMIT_MIN, MEMLIMIT_MAX = 19_922_944, 1_073_741_824
TEST_OPSLIMIT_MIN, TEST_MEMLIMIT_MIN = 1, 8192  # libsodium's own Argon2id minimums


def LABEL(name: str) -> bytes:
    return b"sessionvault/v1/" + name.encode("ascii") + b"\x00"


assert LABEL("tag-key") == b"sessionvault/v1/tag-key\x00" and len(LABEL("tag-key")) == 24


def blake2b(n_bits: int, msg: bytes, key: bytes = b"") -> bytes:
    # crypto_generichash == BLAKE2b with the given output length and key, no salt/person.
    return hashlib.blake2b(msg, digest_size=n_bits // 8, key=key).digest()


def argon2id(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    import nacl.pwhash.argon2id as a2
    return a2.kdf(32, passphrase, salt, opslimit=opslimit, memlimit=memlimit)


def secretbox_open(key: bytes, nonce: bytes, boxed: bytes) -> bytes | None:
    """crypto_secretbox_open_easy: boxed = 16-byte Poly1305 tag || ciphertext."""
    import nacl.exceptions
    import nacl.secret
    try:
        return nacl.secret.SecretBox(key).decrypt(boxed, nonce)
    except nacl.exceptions.CryptoError:
        return None


def u8(v: int) -> bytes:
    return struct.pack("<B", v)


def u32le(v: int) -> bytes:
    return struct.pack("<I", v)


def u64le(v: int) -> bytes:
    return struct.pack("<Q", v)


# --------------------------------------------------------------------------- key schedule (§5, §6)
def derive_keys(dek: bytes, vault_id: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """§5.1 -> (K_tag, K_mask, K_header, K_set)."""
    return tuple(blake2b(256, LABEL(n) + vault_id, key=dek)
                 for n in ("tag-key", "kind-mask-key", "header-key", "set-key"))


def record_tag(k_tag: bytes, kind: int, identity: bytes) -> bytes:
    return blake2b(256, u8(kind) + identity, key=k_tag)                       # §5.2


def kind_mask(k_mask: bytes, tag: bytes) -> int:
    return blake2b(128, tag, key=k_mask)[0]                                   # §5.3


def record_key(dek: bytes, vault_id: bytes, kind: int, tag: bytes, version: int) -> bytes:
    return blake2b(256, LABEL("record-key") + vault_id + u8(kind) + tag + u32le(version), key=dek)  # §5.4


def set_element(k_set: bytes, tag: bytes) -> bytes:
    return blake2b(256, tag, key=k_set)                                       # §5.6


def set_sum(k_set: bytes, tags) -> int:
    return sum(int.from_bytes(set_element(k_set, t), "little") for t in tags) % (1 << 256)


def canonical_header(magic: bytes, version: int, vault_id: bytes, slots) -> bytes:
    """§6; slots are (slot, kind, kdf, opslimit, memlimit, salt, nonce, wrapped_key) tuples."""
    out = bytearray(magic + u32le(version) + vault_id + u32le(len(slots)))
    for slot, kind, kdf, ops, mem, salt, nonce, wrapped in sorted(slots, key=lambda s: s[0]):
        out += u8(slot) + u8(kind) + u8(kdf) + u64le(ops) + u64le(mem)
        out += u32le(len(salt)) + salt + u32le(len(nonce)) + nonce + u32le(len(wrapped)) + wrapped
    return bytes(out)


# --------------------------------------------------------------------------- recovery key (§4.2)
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def parse_recovery_key(text: str) -> bytes:
    s = "".join(ch for ch in text if ch not in " \t-\r\n").upper()
    if len(s) != 55:
        raise VaultError("invalid-argument", f"recovery key has {len(s)} base32 characters, expected 55")
    acc = 0
    for ch in s:
        i = B32.find(ch)
        if i < 0:
            raise VaultError("invalid-argument", f"character {ch!r} is not RFC 4648 base32")
        acc = (acc << 5) | i
    # 55 * 5 = 275 bits = 272 data bits followed by 3 zero bits.
    if acc & 0b111:
        raise VaultError("invalid-argument", "the 3 padding bits of the last character are not zero")
    raw = (acc >> 3).to_bytes(34, "big")
    key, checksum = raw[:32], raw[32:]
    if blake2b(128, LABEL("recovery-checksum") + key)[:2] != checksum:
        raise VaultError("invalid-argument", "recovery key checksum does not match")
    return key


def format_recovery_key(key: bytes) -> str:
    """Inverse of parse_recovery_key (used only for self-checks)."""
    raw = key + blake2b(128, LABEL("recovery-checksum") + key)[:2]
    acc = int.from_bytes(raw, "big") << 3
    chars = "".join(B32[(acc >> (5 * (54 - i))) & 31] for i in range(55))
    return "-".join(chars[i:i + 5] for i in range(0, 55, 5))


# --------------------------------------------------------------------------- plaintext reader (§5.5)
class Reader:
    def __init__(self, data: bytes, kind: str):
        self.d, self.p, self.kind = data, 0, kind

    def take(self, n: int) -> bytes:
        if self.p + n > len(self.d):
            raise VaultError("corrupt", f"plaintext truncated (need {n} bytes at offset {self.p})", self.kind)
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def unpack(self, fmt: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))[0]

    def string(self) -> str:
        n = self.unpack("H")
        raw = self.take(n)
        try:
            return raw.decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            raise VaultError("corrupt", "string is not valid UTF-8", self.kind) from None

    def end(self):
        if self.p != len(self.d):
            raise VaultError("corrupt", f"{len(self.d) - self.p} trailing bytes after the plaintext", self.kind)


def corrupt(kind: str, detail: str):
    raise VaultError("corrupt", detail, kind)


def check_flags(flags: int, allowed: int, kind: str):
    if flags & ~allowed:
        corrupt(kind, f"flags 0x{flags:02x} has bits outside 0x{allowed:02x}")


def telegram_key_id(key: bytes) -> int:
    # §5.5: last 8 bytes of SHA-1 of the 256-byte key, as a signed little-endian 64-bit integer.
    return int.from_bytes(hashlib.sha1(key).digest()[-8:], "little", signed=True)


def decode_endpoint(r: Reader, kind: str) -> dict:
    host = r.string()
    hb = len(host.encode("utf-8"))
    if not 1 <= hb <= 255:
        corrupt(kind, f"host is {hb} bytes, expected 1-255")
    port = r.unpack("H")
    if port == 0:
        corrupt(kind, "port is zero")
    return {"host": host, "port": port}


def auth_key(k: bytes) -> dict:
    return {"id": telegram_key_id(k), "sha256": hashlib.sha256(k).hexdigest(), "hex": k.hex()}


def decode_peer(r: Reader, name: str) -> dict:
    """§5.5 'Peer (7) and peer index (8)': the same encoding for both."""
    peer_id, access_hash = r.unpack("q"), r.unpack("q")
    pkind = r.unpack("B")
    if pkind not in PEER_KINDS:
        corrupt(name, f"peer kind {pkind} is not 1-5")
    flags = r.unpack("B")
    check_flags(flags, 0x0F, name)

    def s1024(what):
        v = r.string()
        if len(v.encode("utf-8")) > 1024:
            corrupt(name, f"{what} is longer than 1,024 bytes")
        return v
    peer = {"id": peer_id, "access_hash": access_hash, "kind": PEER_KINDS[pkind],
            "username": None, "phone_number": None, "name": None, "updated_at": None}
    if flags & 0x01:
        u = s1024("username")
        if u != u.lower() or "@" in u:
            corrupt(name, "username is not lowercase without @")
        peer["username"] = u
    if flags & 0x02:
        ph = s1024("phone number")
        if not all(c in "0123456789" for c in ph):
            corrupt(name, "phone number is not digits only")
        peer["phone_number"] = ph
    if flags & 0x04:
        peer["name"] = s1024("name")
    if flags & 0x08:
        peer["updated_at"] = r.unpack("q")
    r.end()
    return peer


PAD_BLOCK = 128


def unpad(padded: bytes, kind: str) -> bytes:
    """§5.4 (version 2): ISO/IEC 7816-4 padding to a multiple of PAD_BLOCK. The padded text ends
    in one 0x80 byte followed by zero bytes only, the 0x80 within the last block (so between 1
    and PAD_BLOCK bytes of padding); anything else is corrupt."""
    end = len(padded)
    while end > 0 and padded[end - 1] == 0:
        end -= 1
    if end == 0 or padded[end - 1] != 0x80 or len(padded) - (end - 1) > PAD_BLOCK:
        corrupt(kind, "record padding is malformed")
    return padded[:end - 1]


def decode_record(kind: int, pt: bytes) -> tuple[list[bytes], dict]:
    """Strictly decode one plaintext; return (candidate identities, decoded value).

    Every kind has exactly one identity, except the peer index (8), whose identity is one of
    its peer copy's own fields (username or phone number, §5.5)."""
    name = KIND_NAMES[kind]
    r = Reader(pt, name)
    if kind == 1:  # manifest
        count = r.unpack("Q")
        s = r.take(32)
        r.end()
        return [b""], {"count": count, "sum": s}
    if kind == 2:  # data center
        dc_id = r.unpack("i")
        flags = r.unpack("B")
        check_flags(flags, 0x1F, name)
        if dc_id <= 0:
            corrupt(name, f"dc_id {dc_id} is not positive")
        dc = {"id": dc_id, "media_only": bool(flags & 0x01), "ipv4": None, "ipv6": None,
              "auth_key": None, "temporary_auth_key": None}
        if flags & 0x02:
            dc["ipv4"] = decode_endpoint(r, name)
        if flags & 0x04:
            dc["ipv6"] = decode_endpoint(r, name)
        if flags & 0x08:
            dc["auth_key"] = auth_key(r.take(256))
        if flags & 0x10:
            dc["temporary_auth_key"] = auth_key(r.take(256))
        r.end()
        return [struct.pack("<iB", dc_id, flags & 0x01)], dc
    if kind == 3:  # user
        user_id = r.unpack("q")
        dc_id = r.unpack("i")
        flags = r.unpack("B")
        check_flags(flags, 0x03, name)
        user = {"id": user_id, "dc_id": dc_id, "is_bot": bool(flags & 0x01), "username": None}
        if flags & 0x02:
            user["username"] = r.string()
        r.end()
        return [b""], user
    if kind == 4:  # update state
        pts, qts, date, seq = r.unpack("i"), r.unpack("i"), r.unpack("q"), r.unpack("i")
        r.end()
        return [b""], {"pts": pts, "qts": qts, "date": date, "seq": seq}
    if kind == 5:  # channel state
        channel_id, pts = r.unpack("q"), r.unpack("i")
        r.end()
        return [struct.pack("<q", channel_id)], {"channel_id": channel_id, "pts": pts}
    if kind == 6:  # session extras
        flags = r.unpack("B")
        check_flags(flags, 0x07, name)
        if flags == 0:
            corrupt(name, "session extras record with no flag set (§5.5: written only when one is)")
        ex = {"api_id": None, "test_mode": bool(flags & 0x02), "takeout_id": None}
        if flags & 0x01:
            ex["api_id"] = r.unpack("i")
        if flags & 0x04:
            ex["takeout_id"] = r.unpack("q")
        r.end()
        return [b""], ex
    if kind == 7:  # peer
        peer = decode_peer(r, name)
        return [struct.pack("<q", peer["id"])], peer
    if kind == 8:  # peer index: u8 field || value, field 1 username, 2 phone number
        peer = decode_peer(r, name)
        ids = []
        if peer["username"] is not None:
            ids.append(b"\x01" + peer["username"].encode("utf-8"))
        if peer["phone_number"] is not None:
            ids.append(b"\x02" + peer["phone_number"].encode("utf-8"))
        return ids, peer
    raise AssertionError(kind)


# --------------------------------------------------------------------------- step 1 (§7.1)
def step1_file(path: Path):
    try:
        st = os.stat(path)
    except OSError as e:
        raise VaultError("not-a-vault", f"cannot stat file: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise VaultError("not-a-vault", "not a regular file")
    # A non-empty -wal may hold newer copies of any page, page 1 included: skip the byte checks and
    # let SQLite's WAL recovery decide (step 2 follows either way). An empty -wal holds no page and
    # counts as none: the checks below apply (FORMAT.md §7 step 1).
    try:
        if os.stat(str(path) + "-wal").st_size > 0:
            return
    except FileNotFoundError:
        pass
    if st.st_size == 0:
        raise VaultError("not-a-vault", "file is empty")
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError as e:
        raise VaultError("not-a-vault", f"cannot read file: {e.strerror}") from None
    if not head.startswith(SQLITE_MAGIC):
        raise VaultError("not-a-vault", "file does not start with 'SQLite format 3\\0'")
    if len(head) < 100:
        # The SQLite magic is there but the 100-byte header is cut short: it cannot state a
        # page count, and the file is shorter than any database (FINDINGS.md F-1).
        raise VaultError("corrupt", f"SQLite file is {len(head)} bytes, shorter than its 100-byte header")
    page_size = struct.unpack(">H", head[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        # Not a SQLite header at all (SQLite itself says SQLITE_NOTADB). The document's
        # literal rule would say `corrupt` (the stated page count is not there); the fixture
        # `sqlite-magic-then-garbage` expects `not-a-vault` (FINDINGS.md F-1).
        raise VaultError("not-a-vault", f"SQLite magic but invalid page size {page_size}: not a SQLite header")
    page_count = struct.unpack(">I", head[28:32])[0]
    # The header's page count is valid only when the change counter (offset 24) equals the
    # version-valid-for number (offset 92), §7 step 1.
    if head[24:28] == head[92:96] and st.st_size < page_size * page_count:
        raise VaultError("corrupt", f"file is {st.st_size} bytes, header says {page_count} pages of {page_size}")


# --------------------------------------------------------------------------- opening SQLite
def open_db(path: Path, workdir: Path) -> sqlite3.Connection:
    """Open a private copy of the vault (and its WAL, if any).

    SQLite applies the committed frames of the copied WAL when it opens the copy, exactly as
    it would for the original (§3), while the caller's files stay untouched: no -shm/-wal is
    created next to the vault and nothing is checkpointed into it (FINDINGS.md F-15)."""
    dst = workdir / "vault.db"
    shutil.copyfile(path, dst)
    wal = Path(str(path) + "-wal")
    if wal.exists():
        shutil.copyfile(wal, Path(str(dst) + "-wal"))
    conn = sqlite3.connect(str(dst), isolation_level=None)
    conn.execute("PRAGMA trusted_schema = OFF")
    return conn


def sqlite_error(e: sqlite3.DatabaseError) -> VaultError:
    # The document maps no SQLite error to a code (FINDINGS.md F-2). SQLITE_NOTADB ("file is
    # not a database") means the file is not a SQLite database -> not-a-vault; anything else
    # (SQLITE_CORRUPT, a missing column, ...) -> corrupt.
    if getattr(e, "sqlite_errorname", "") == "SQLITE_NOTADB":
        return VaultError("not-a-vault", f"SQLite: {e}")
    return VaultError("corrupt", f"SQLite: {e}")


def q(conn, sql, params=()):
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.DatabaseError as e:
        raise sqlite_error(e) from None


# --------------------------------------------------------------------------- the opener (§7)
def is_int(v):
    return type(v) is int


def is_blob(v):
    return type(v) is bytes


def open_vault(path: Path, *, passphrase: bytes | None = None, recovery_key: bytes | None = None,
               allow_test_kdf: bool = False, trace=None) -> dict:
    assert (passphrase is None) != (recovery_key is None)
    log = trace or (lambda s: None)

    # 1. file
    step1_file(path)
    log("1 file: regular, non-empty, SQLite header, length >= header page count")

    workdir = Path(tempfile.mkdtemp(prefix="sv-decode-"))
    try:
        try:
            conn = open_db(path, workdir)
        except sqlite3.DatabaseError as e:
            raise sqlite_error(e) from None
        try:
            return _open_sqlite(conn, passphrase, recovery_key, allow_test_kdf, log)
        finally:
            conn.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# FORMAT.md §3, the declarations as the document gives them (comments included).
SCHEMA_SQL = """
CREATE TABLE sv_header (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    magic BLOB NOT NULL,              -- 12 bytes: ASCII "sessionvault"
    format_version INTEGER NOT NULL,  -- 1
    vault_id BLOB NOT NULL,           -- 16 random bytes
    mac BLOB NOT NULL                 -- 32 bytes, §6
) STRICT;
CREATE TABLE sv_keyslot (
    slot INTEGER PRIMARY KEY,         -- 0..7
    kind INTEGER NOT NULL,            -- 1 = passphrase, 2 = recovery key
    kdf INTEGER NOT NULL,             -- 2 = Argon2id v1.3, 0 = keyed BLAKE2b (recovery key)
    opslimit INTEGER NOT NULL,        -- Argon2id passes (0 for kdf 0)
    memlimit INTEGER NOT NULL,        -- Argon2id memory in bytes (0 for kdf 0)
    salt BLOB NOT NULL,               -- 16 random bytes
    nonce BLOB NOT NULL,              -- 24 random bytes
    wrapped_key BLOB NOT NULL         -- 48 bytes: SECRETBOX(KEK, nonce, DEK)
) STRICT;
CREATE TABLE sv_record (
    tag BLOB PRIMARY KEY,             -- 32 bytes, §5.2
    kind INTEGER NOT NULL,            -- masked record kind, 0..255, §5.3
    nonce BLOB NOT NULL,              -- 24 random bytes, fresh for every write
    ciphertext BLOB NOT NULL          -- SECRETBOX(K_record, nonce, plaintext), §5.4
) STRICT, WITHOUT ROWID;
"""
SQL_WHITESPACE = " \t\n\r\f"


def canonical_sql(sql: str) -> str:
    """§3's comparison form: `--` comments removed to the end of their line, ASCII letters
    lower-cased, whitespace dropped at either end and next to `(`, `)`, `,`, and otherwise
    collapsed to one space."""
    out: list[str] = []
    pending = False
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j
            continue
        i += 1
        if ch in SQL_WHITESPACE:
            pending = True
            continue
        if pending and out and out[-1] not in "()," and ch not in "(),":
            out.append(" ")
        pending = False
        out.append(ch.lower() if "A" <= ch <= "Z" else ch)
    return "".join(out)


EXPECTED_SCHEMA = {stmt.split()[2]: canonical_sql(stmt)
                   for stmt in SCHEMA_SQL.split(";") if stmt.strip()}


def check_schema(rows) -> None:
    """§3/§7 step 2: exactly the three tables, declared as §3 says; any other object (trigger,
    view, index, table) or another declaration is `tampered`."""
    for typ, name, tbl_name, sql in rows:
        if typ != "table" or name not in EXPECTED_SCHEMA:
            raise VaultError("tampered", f"the schema holds {typ} {str(name)[:64]!r} on {str(tbl_name)[:64]!r}, "
                                         "which the format does not define")
        if tbl_name != name or canonical_sql(sql or "") != EXPECTED_SCHEMA[name]:
            raise VaultError("tampered", f"table {name} is not declared as §3 says")


def _open_sqlite(conn, passphrase, recovery_key, allow_test_kdf, log) -> dict:
    # 2. application id, tables
    app_id = q(conn, "PRAGMA application_id")[0][0]
    if app_id != APPLICATION_ID:
        raise VaultError("not-a-vault", f"application_id is 0x{app_id & 0xFFFFFFFF:08X}, not 0x53564C54")
    tables = {r[0] for r in q(conn, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = {"sv_header", "sv_keyslot", "sv_record"} - tables
    if missing:
        raise VaultError("corrupt", f"missing table(s): {', '.join(sorted(missing))}")
    check_schema(q(conn, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name, type"))
    log("2 application_id 0x53564C54, tables sv_header sv_keyslot sv_record exist; "
        "the schema is exactly the three tables of §3")

    # 3. header
    rows = q(conn, "SELECT id, magic, format_version, vault_id, mac FROM sv_header")
    if len(rows) != 1:
        raise VaultError("corrupt", f"sv_header has {len(rows)} rows, expected exactly one")
    hid, magic, version, vault_id, mac = rows[0]
    if not (is_int(hid) and is_blob(magic) and is_int(version) and is_blob(vault_id) and is_blob(mac)):
        raise VaultError("corrupt", "sv_header has a value of the wrong storage class")
    if hid != 1:
        raise VaultError("corrupt", f"sv_header row has id {hid}, expected 1")
    if magic != MAGIC:
        raise VaultError("not-a-vault", "header magic is not 'sessionvault'")
    if version not in (1, 2):
        raise VaultError("unsupported-format-version", f"format_version is {version}")
    if len(vault_id) != 16:
        raise VaultError("corrupt", f"vault_id is {len(vault_id)} bytes, expected 16")
    if len(mac) != 32:
        raise VaultError("corrupt", f"header mac is {len(mac)} bytes, expected 32")
    log(f"3 header: magic ok, format_version {version}, vault_id {vault_id.hex()}")

    # 4. keyslots: count and storage classes (all slots), then -- only when a passphrase is
    #    given -- kdf and bounds of every passphrase keyslot, before any derivation.
    slots = q(conn, "SELECT slot, kind, kdf, opslimit, memlimit, salt, nonce, wrapped_key "
                    "FROM sv_keyslot ORDER BY slot")
    if not 1 <= len(slots) <= 8:
        raise VaultError("corrupt", f"{len(slots)} keyslots, expected 1-8")
    for s in slots:
        slot, kind, kdf, ops, mem, salt, nonce, wrapped = s
        if not (all(is_int(v) for v in (slot, kind, kdf, ops, mem))
                and all(is_blob(v) for v in (salt, nonce, wrapped))):
            raise VaultError("corrupt", f"keyslot {slot!r} has a value of the wrong storage class")
        # §6 encodes slot/kind/kdf as u8 and the limits as u64le: values that do not fit
        # cannot be authenticated (FINDINGS.md F-6; fixture keyslot-0-opslimit-negative).
        if not (0 <= slot <= 7 and 0 <= kind <= 255 and 0 <= kdf <= 255 and ops >= 0 and mem >= 0):
            raise VaultError("corrupt", f"keyslot {slot}: slot/kind/kdf/opslimit/memlimit out of range")
    ops_min = TEST_OPSLIMIT_MIN if allow_test_kdf else OPSLIMIT_MIN
    mem_min = TEST_MEMLIMIT_MIN if allow_test_kdf else MEMLIMIT_MIN
    if passphrase is not None:
        # FINDINGS.md F-7: the fixtures show that these checks are made only when a
        # passphrase is given (a recovery-key open ignores the passphrase slots entirely).
        for slot, kind, kdf, ops, mem, *_ in slots:
            if kind != 1:
                continue
            if kdf != 2:
                raise VaultError("unsupported-format-version", f"passphrase keyslot {slot} has unknown kdf {kdf}")
            if not (ops_min <= ops <= OPSLIMIT_MAX and mem_min <= mem <= MEMLIMIT_MAX):
                raise VaultError("kdf-parameters-out-of-bounds",
                                 f"keyslot {slot}: opslimit {ops}, memlimit {mem} outside "
                                 f"[{ops_min}, {OPSLIMIT_MAX}] x [{mem_min}, {MEMLIMIT_MAX}]")
        # FORMAT.md §4.1 "Total": the passphrase keyslots together may cost at most one slot at the cap.
        total = sum(ops * mem for _slot, kind, _kdf, ops, mem, *_ in slots if kind == 1)
        if total > OPSLIMIT_MAX * MEMLIMIT_MAX:
            raise VaultError("kdf-parameters-out-of-bounds",
                             f"passphrase keyslots need {total} passes x bytes in all, above "
                             f"{OPSLIMIT_MAX * MEMLIMIT_MAX}")
        log("4 keyslots: %d, kdf and bounds ok for every passphrase keyslot%s"
            % (len(slots), " (test floor allowed)" if allow_test_kdf else ""))
    else:
        log(f"4 keyslots: {len(slots)} (recovery key given: passphrase bounds not consulted)")

    # 5. unlock: try, in ascending slot order, every keyslot of the kind given
    #    (kind 1 with kdf 2, or kind 2 with kdf 0; a kind-2 slot with another kdf is skipped,
    #    FINDINGS.md F-7). A tried slot must have 16/24/48-byte salt/nonce/wrapped_key
    #    (`corrupt` otherwise, FINDINGS.md F-6).
    dek = None
    unlocked_slot = None
    want = (1, 2) if passphrase is not None else (2, 0)
    for slot, kind, kdf, ops, mem, salt, nonce, wrapped in slots:
        if (kind, kdf) != want:
            continue
        if (len(salt), len(nonce), len(wrapped)) != (16, 24, 48):
            raise VaultError("corrupt", f"keyslot {slot}: salt/nonce/wrapped_key are "
                                        f"{len(salt)}/{len(nonce)}/{len(wrapped)} bytes, expected 16/24/48")
        if kind == 1:
            kek = argon2id(passphrase, salt, ops, mem)
        else:
            kek = blake2b(256, LABEL("recovery-kek") + salt, key=recovery_key)
        dek = secretbox_open(kek, nonce, wrapped)
        if dek is not None:
            unlocked_slot = slot
            log(f"5 unlocked with keyslot {slot} ({'passphrase' if kind == 1 else 'recovery key'})")
            break
    if dek is None:
        raise VaultError("wrong-passphrase", "no keyslot opens with the given "
                         + ("passphrase" if passphrase is not None else "recovery key"))

    K_tag, K_mask, K_header, K_set = derive_keys(dek, vault_id)

    # 6. header MAC
    if not hmac.compare_digest(blake2b(256, canonical_header(magic, version, vault_id, slots), key=K_header), mac):
        raise VaultError("tampered", "header MAC does not verify (header)")
    log("6 header MAC verified")

    # 7. records, in ascending tag order, every check of one row before the next (F-9)
    records = q(conn, "SELECT tag, kind, nonce, ciphertext FROM sv_record ORDER BY tag")
    decoded: list[tuple[int, bytes, object, dict]] = []
    for tag, skind, nonce, ct in records:
        if not (is_blob(tag) and is_int(skind) and is_blob(nonce) and is_blob(ct)):
            raise VaultError("corrupt", "sv_record row has a value of the wrong storage class")
        if len(tag) != 32:
            raise VaultError("corrupt", f"record tag is {len(tag)} bytes, expected 32")
        if not 0 <= skind <= 255:
            raise VaultError("corrupt", f"stored kind {skind} is outside 0-255")
        kind = skind ^ kind_mask(K_mask, tag)
        name = KIND_NAMES.get(kind)
        short = tag.hex()[:16] + "…"
        # §5.4 length checks come before decryption; the error names the unmasked kind when
        # it is one (as the fixtures expect, e.g. record-nonce-23-bytes -> corrupt (user)).
        if len(nonce) != 24:
            raise VaultError("corrupt", f"record nonce is {len(nonce)} bytes, expected 24 (tag {short})", name)
        if not 16 <= len(ct) <= 65552:
            raise VaultError("corrupt", f"record ciphertext is {len(ct)} bytes, expected 16-65552 (tag {short})", name)
        # §5.4, version 2: the padded plaintext is a positive multiple of the 128-byte block.
        if version >= 2 and not (len(ct) - 16 >= PAD_BLOCK and (len(ct) - 16) % PAD_BLOCK == 0):
            raise VaultError("corrupt", f"record ciphertext is {len(ct)} bytes: 16 + a multiple of "
                                        f"{PAD_BLOCK} expected in version 2 (tag {short})", name)
        if name is None:
            raise VaultError("tampered", f"unmasked kind {kind} is not 1-8 (tag {short})")
        pt = secretbox_open(record_key(dek, vault_id, kind, tag, version), nonce, ct)
        if pt is None:
            # §7 step 7: the stored kind is not authenticated by itself; name the kind whose record
            # key opens the ciphertext (a relabelled row), else the unmasked kind.
            true_kind = next((k for k in sorted(KIND_NAMES) if k != kind
                              and secretbox_open(record_key(dek, vault_id, k, tag, version), nonce, ct) is not None), None)
            if true_kind is not None:
                raise VaultError("tampered", f"record stored as {name} opens as {KIND_NAMES[true_kind]} "
                                 f"(its kind was altered; tag {short})", KIND_NAMES[true_kind])
            raise VaultError("tampered", f"record does not open (tag {short})", name)
        if version >= 2:
            pt = unpad(pt, name)
        identities, value = decode_record(kind, pt)
        ident = next((i for i in identities if record_tag(K_tag, kind, i) == tag), None)
        if ident is None:
            raise VaultError("tampered", f"tag re-computed from the decoded identity differs (tag {short})", name)
        decoded.append((kind, tag, ident, value))
    log(f"7 records: {len(records)} rows opened, decoded strictly, tags re-computed")

    # 8. manifest; channel states need an update state; peer index entries match their peers
    manifests = [v for k, _, _, v in decoded if k == 1]
    if len(manifests) != 1:
        raise VaultError("tampered", f"{len(manifests)} manifest records, expected exactly one", "manifest")
    others = [t for k, t, _, _ in decoded if k != 1]
    total = set_sum(K_set, others)
    m = manifests[0]
    if m["count"] != len(others):
        raise VaultError("tampered", f"manifest count {m['count']} but {len(others)} records", "manifest")
    if not hmac.compare_digest(m["sum"], total.to_bytes(32, "little")):
        raise VaultError("tampered", "manifest sum does not match the records' tags", "manifest")
    by_kind: dict[int, list] = {k: [] for k in KIND_NAMES}
    for kind, _, ident, v in decoded:
        by_kind[kind].append((ident, v))
    if by_kind[5] and not by_kind[4]:
        raise VaultError("corrupt", "channel states without an update state record", "channel-state")
    peers = {v["id"]: v for _, v in by_kind[7]}
    for ident, copy_ in by_kind[8]:
        if peers.get(copy_["id"]) != copy_:
            why = "names a missing peer" if copy_["id"] not in peers else "holds a copy that differs from the peer record"
            raise VaultError("tampered", f"peer index entry for peer {copy_['id']} {why}", "peer-index")
    log(f"8 manifest: count {m['count']} and sum verified; channel states have an update state; "
        f"{len(by_kind[8])} peer index entries match their peers")

    # the decrypted contents, in the shape of Fixtures/manifest.json "contents"
    session = None
    if any(by_kind[k] for k in (2, 3, 4, 5, 6)):
        state = None
        if by_kind[4]:
            state = dict(by_kind[4][0][1])
            state["channels"] = {str(v["channel_id"]): v["pts"]
                                 for _, v in sorted(by_kind[5], key=lambda iv: iv[1]["channel_id"])}
        extras = by_kind[6][0][1] if by_kind[6] else {"api_id": None, "test_mode": False, "takeout_id": None}
        session = {
            "data_centers": sorted((v for _, v in by_kind[2]), key=lambda d: (d["id"], d["media_only"])),
            "user": by_kind[3][0][1] if by_kind[3] else None,
            "update_state": state,
            **extras,
        }
    contents = {
        "record_count": len(others),
        "records_by_kind": {KIND_NAMES[k]: len(v) for k, v in by_kind.items() if k != 1 and v},
        "session": session,
        "peers": sorted(peers.values(), key=lambda p: p["id"]),
        "peer_index": sorted(({"field": INDEX_FIELDS[i[0]], "value": i[1:].decode("utf-8"), "peer_id": v["id"]}
                              for i, v in by_kind[8]), key=lambda e: (e["field"] != "username", e["value"])),
    }
    return {
        "format_version": version,
        "vault_id": vault_id.hex(),
        "keyslots": [{"slot": s[0], "kind": s[1], "kdf": s[2], "opslimit": s[3], "memlimit": s[4]}
                     for s in slots],
        "unlocked_keyslot": unlocked_slot,
        "contents": contents,
    }


# --------------------------------------------------------------------------- sealed session strings (§10)
SEALED_PREFIX = "svs1."
SEALED_MAX_TEXT = 4 * 1024 * 1024
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64url_decode_strict(text: str) -> bytes:
    """RFC 4648 §5 without padding; '=' , characters outside the alphabet and non-zero
    leftover bits are refused (§10)."""
    acc = nbits = 0
    out = bytearray()
    for ch in text:
        v = B64URL.find(ch)
        if v < 0:
            raise VaultError("invalid-argument", f"character {ch!r} is not base64url (no padding allowed)")
        acc = (acc << 6) | v
        nbits += 6
        if nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xFF)
            acc &= (1 << nbits) - 1
    if nbits >= 6:  # len % 4 == 1: a lone character carries no full byte
        raise VaultError("invalid-argument", "base64url text has an impossible length")
    if acc:
        raise VaultError("invalid-argument", "base64url text has non-zero leftover bits")
    return bytes(out)


def open_sealed_string(text: str, passphrase: bytes, *, allow_test_kdf: bool = False, trace=None) -> dict:
    log = trace or (lambda s: None)
    if len(text) > SEALED_MAX_TEXT:
        raise VaultError("invalid-argument", "sealed string longer than 4 MiB")
    text = text.rstrip(" \r\n")  # "Trailing spaces and line breaks after the text are ignored"
    if not text.startswith(SEALED_PREFIX):
        raise VaultError("invalid-argument", "text does not start with 'svs1.'")
    blob = b64url_decode_strict(text[len(SEALED_PREFIX):])
    log(f"sealed string: {len(blob)} bytes of blob")
    if len(blob) < 2:
        raise VaultError("corrupt", f"sealed string blob is {len(blob)} bytes")
    if blob[0] != 1:
        raise VaultError("unsupported-format-version", f"sealed string version {blob[0]}")
    if blob[1] != 2:
        raise VaultError("unsupported-format-version", f"sealed string kdf {blob[1]}")
    if len(blob) < 106 + 24 + 16:
        raise VaultError("corrupt", f"sealed string blob is {len(blob)} bytes, shorter than header, nonce and tag (146)")
    ops, mem = struct.unpack_from("<QQ", blob, 2)
    ops_min = TEST_OPSLIMIT_MIN if allow_test_kdf else OPSLIMIT_MIN
    mem_min = TEST_MEMLIMIT_MIN if allow_test_kdf else MEMLIMIT_MIN
    if not (ops_min <= ops <= OPSLIMIT_MAX and mem_min <= mem <= MEMLIMIT_MAX):
        raise VaultError("kdf-parameters-out-of-bounds", f"opslimit {ops}, memlimit {mem} out of bounds")
    salt, key_nonce, wrapped = blob[18:34], blob[34:58], blob[58:106]
    header, payload_nonce, payload_ct = blob[:106], blob[106:130], blob[130:]
    dek = secretbox_open(argon2id(passphrase, salt, ops, mem), key_nonce, wrapped)
    if dek is None:
        raise VaultError("wrong-passphrase", "the sealed string's keyslot does not open with the given passphrase")
    k_payload = blake2b(256, LABEL("sealed-string-key") + header, key=dek)
    payload = secretbox_open(k_payload, payload_nonce, payload_ct)
    if payload is None:
        raise VaultError("tampered", "the sealed string's payload does not authenticate")
    log(f"sealed string: unlocked, {len(payload)} bytes of payload")

    by_kind: dict[int, list] = {k: [] for k in (2, 3, 4, 5, 6)}
    p = 0
    last_key = None
    while p < len(payload):
        if p + 5 > len(payload):
            raise VaultError("corrupt", "payload: truncated record frame")
        kind, n = payload[p], struct.unpack_from("<I", payload, p + 1)[0]
        p += 5
        if kind not in by_kind:
            raise VaultError("corrupt", f"payload: kind {kind} is not carried by sealed strings")
        if p + n > len(payload):
            raise VaultError("corrupt", "payload: record longer than the payload", KIND_NAMES[kind])
        _, value = decode_record(kind, payload[p:p + n])
        p += n
        # ascending kind order; DCs by (id, media-only); channels by id; each as often as §5.2 allows
        key = (kind,) + ((value["id"], value["media_only"]) if kind == 2 else
                         (value["channel_id"],) if kind == 5 else ())
        if last_key is not None and key <= last_key:
            raise VaultError("corrupt", "payload: records out of order or repeated", KIND_NAMES[kind])
        if kind == 5 and not by_kind[4]:
            raise VaultError("corrupt", "payload: channel state before/without an update state", "channel-state")
        last_key = key
        by_kind[kind].append(value)
    session = None
    if any(by_kind.values()):
        state = None
        if by_kind[4]:
            state = dict(by_kind[4][0])
            state["channels"] = {str(v["channel_id"]): v["pts"] for v in by_kind[5]}
        extras = by_kind[6][0] if by_kind[6] else {"api_id": None, "test_mode": False, "takeout_id": None}
        session = {"data_centers": by_kind[2], "user": by_kind[3][0] if by_kind[3] else None,
                   "update_state": state, **extras}
    return {"kind": "sealed-session-string", "version": 1, "opslimit": ops, "memlimit": mem, "session": session}


# --------------------------------------------------------------------------- CLI
def read_secret(args) -> tuple[bytes | None, bytes | None]:
    """-> (passphrase, recovery_key). Raises VaultError for a malformed recovery key."""
    if args.passphrase_file or args.passphrase_env:
        if args.passphrase_file:
            data = Path(args.passphrase_file).read_bytes()
        else:
            if args.passphrase_env not in os.environ:
                raise SystemExit(f"decode.py: environment variable {args.passphrase_env} is not set")
            data = os.environb[args.passphrase_env.encode()] if os.name != "nt" else \
                os.environ[args.passphrase_env].encode("utf-8")
        if args.strip_newline:
            if data.endswith(b"\r\n"):
                data = data[:-2]
            elif data.endswith(b"\n"):
                data = data[:-1]
        return data, None
    if args.recovery_key_file:
        text = Path(args.recovery_key_file).read_bytes()
    else:
        if args.recovery_key_env not in os.environ:
            raise SystemExit(f"decode.py: environment variable {args.recovery_key_env} is not set")
        text = os.environ[args.recovery_key_env].encode("utf-8")
    try:
        text_s = text.decode("ascii")
    except UnicodeDecodeError:
        raise VaultError("invalid-argument", "recovery key is not ASCII") from None
    return None, parse_recovery_key(text_s)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Decode a SessionVault vault from FORMAT.md alone.")
    ap.add_argument("vault", type=Path, nargs="?", help="the vault file")
    ap.add_argument("--sealed-string-file", metavar="F", type=Path,
                    help="instead of a vault: a file holding a sealed session string (svs1., FORMAT.md §10)")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--passphrase-file", metavar="F", help="file holding the passphrase (exact bytes)")
    g.add_argument("--passphrase-env", metavar="VAR", help="environment variable holding the passphrase")
    g.add_argument("--recovery-key-file", metavar="F", help="file holding the 55-character recovery key")
    g.add_argument("--recovery-key-env", metavar="VAR", help="environment variable holding the recovery key")
    ap.add_argument("--strip-newline", action="store_true",
                    help="drop one final LF or CR LF from the passphrase, as SessionVault does for passphrase "
                         "files (FORMAT.md §4.1 'Passphrase files'; off: the KDF input is the exact bytes)")
    ap.add_argument("--allow-test-kdf", action="store_true",
                    help="accept Argon2id parameters down to opslimit 1 / memlimit 8192 (test-floor vaults)")
    ap.add_argument("--json", action="store_true", help="machine-readable result (also for errors) on stdout")
    ap.add_argument("--trace", action="store_true", help="print each §7 step to stderr as it passes")
    args = ap.parse_args(argv)
    if (args.vault is None) == (args.sealed_string_file is None):
        ap.error("give either VAULT or --sealed-string-file")

    if not _import_nacl():
        py = ensure_venv(Path(os.environ.get("SV_DECODER_VENV", DEFAULT_VENV)))
        os.execv(str(py), [str(py), str(Path(__file__).resolve()), *(sys.argv[1:] if argv is None else argv)])

    trace = (lambda s: print(f"[step] {s}", file=sys.stderr)) if args.trace else None
    try:
        try:
            passphrase, recovery = read_secret(args)
        except OSError as e:
            print(f"decode.py: cannot read the secret: {e}", file=sys.stderr)
            return EXIT_USAGE
        if args.sealed_string_file:
            if passphrase is None:
                ap.error("a sealed string opens only with a passphrase")
            try:
                text = args.sealed_string_file.read_bytes().decode("ascii")
            except UnicodeDecodeError:
                raise VaultError("invalid-argument", "sealed string is not ASCII") from None
            result = open_sealed_string(text, passphrase, allow_test_kdf=args.allow_test_kdf, trace=trace)
            result["contents"] = {"session": result.pop("session")}
        else:
            result = open_vault(args.vault, passphrase=passphrase, recovery_key=recovery,
                                allow_test_kdf=args.allow_test_kdf, trace=trace)
    except VaultError as e:
        if args.json:
            print(json.dumps({"ok": False, "error": e.code, "kind": e.kind, "detail": e.detail}))
        print(e.line(), file=sys.stderr)
        return EXIT_CODES[e.code]
    if args.json:
        print(json.dumps({"ok": True, **result}, indent=2))
    else:
        print(json.dumps(result["contents"], indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. piped into `head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
