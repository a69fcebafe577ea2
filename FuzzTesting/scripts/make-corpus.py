#!/usr/bin/env python3
"""Writes the seed corpora under FuzzTesting/Corpus/<target>/ from the repository's fixtures.

Run from anywhere: python3 FuzzTesting/scripts/make-corpus.py. Deterministic; rewrites the
corpus directories (libFuzzer's own additions from `make fuzz` go to a scratch directory, not here).
"""
import hashlib
import json
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "Fixtures")
OUT = os.path.join(ROOT, "FuzzTesting", "Corpus")


def load(name):
    with open(os.path.join(FIX, "vectors", name)) as f:
        return json.load(f)


def write(target, name, data):
    directory = os.path.join(OUT, target)
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


for target in ["SessionString", "SealedString", "RecordCodec", "VaultFile", "RecoveryKey", "InteropString", "TDataFolder"]:
    shutil.rmtree(os.path.join(OUT, target), ignore_errors=True)

# Telethon and Pyrogram strings: the interop fixtures, as files hold them.
for name in sorted(os.listdir(os.path.join(FIX, "interop"))):
    if name.endswith(".txt"):
        with open(os.path.join(FIX, "interop", name), "rb") as f:
            write("SessionString", name, f.read())

# GramJS, mtcute and gotd: the issue #14 fixtures (tgconvertor-made GramJS strings, hand-made mtcute
# strings and gotd JSON), as files hold them.
for name in sorted(os.listdir(os.path.join(FIX, "interop"))):
    if name.startswith(("gramjs-", "mtcute-", "gotd-")):
        with open(os.path.join(FIX, "interop", name), "rb") as f:
            write("InteropString", name, f.read())


# tdata folders: u16 LE length + key_datas payload, u16 LE length + the first account's payload, then
# its configs payload (the TDF$ header and MD5 stripped; the harness writes them back).
def tdf_payload(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"TDF$"
    return data[8:-16]


for name in sorted(os.listdir(os.path.join(FIX, "interop"))):
    folder = os.path.join(FIX, "interop", name)
    if not (name.startswith("tdata-") and os.path.isdir(folder)):
        continue
    key = tdf_payload(os.path.join(folder, "key_datas"))
    account = tdf_payload(os.path.join(folder, "D877F783D5D3EF8Cs"))
    configs_path = os.path.join(folder, "D877F783D5D3EF8C", "configs")
    configs = tdf_payload(configs_path) if os.path.exists(configs_path) else b""
    write("TDataFolder", name, len(key).to_bytes(2, "little") + key + len(account).to_bytes(2, "little") + account + configs)

# Sealed strings: '0' + text (the reader on the text), '1' + payload (sealed by the harness).
sealed = load("sealed-string.json")
for index, vector in enumerate(sealed["vectors"]):
    write("SealedString", f"text-{index}", "0" + vector["text"])
    write("SealedString", f"payload-{index}", b"1" + bytes.fromhex(vector["payload"]))
for index, rejected in enumerate(sealed["rejected"]):
    write("SealedString", f"rejected-{index}", "0" + rejected["text"])

# Records: u8 kind + plaintext, from the record vectors.
for index, vector in enumerate(load("records.json")["vectors"]):
    write("RecordCodec", f"{index:02}-{vector['kind_name']}", bytes([vector["kind"]]) + bytes.fromhex(vector["plaintext"]))

# Recovery keys: the vectors' display forms, the accepted spellings and the rejected ones.
keys = load("recoverykey.json")
for index, vector in enumerate(keys["vectors"]):
    write("RecoveryKey", f"display-{index}", vector["display"])
for index, item in enumerate(keys["accepted"] + keys["rejected"]):
    write("RecoveryKey", f"text-{index}", item["text"])

# Vault files: the tamper base (it opens with the harness's passphrase and recovery key) and a
# spread of its tampered copies, one per category (three authentic-but-invalid ones, which reach the record decoders), and the small truncations.
vault_files = ["vaults/tamper-base.session", "vaults/empty.session"]
manifest = json.load(open(os.path.join(FIX, "manifest.json")))
seen = {}
for fixture in manifest["fixtures"]:
    path = fixture["file"]
    if not path.startswith("tampered/") or fixture.get("size", 0) > 16384:
        continue
    category = fixture.get("category", "")
    if seen.get(category, 0) < (3 if category == "authentic-but-invalid" else 1):
        seen[category] = seen.get(category, 0) + 1
        vault_files.append(path)
for path in vault_files:
    with open(os.path.join(FIX, path), "rb") as f:
        # Not *.session: the repository ignores session files outside Fixtures/ (a leak guard),
        # and an uncommitted corpus would leave the regression replay with nothing to run.
        write("VaultFile", os.path.basename(path).replace(".session", ".vault-bytes"), f.read())

for target in sorted(os.listdir(OUT)):
    files = os.listdir(os.path.join(OUT, target))
    size = sum(os.path.getsize(os.path.join(OUT, target, f)) for f in files)
    print(f"{target}: {len(files)} files, {size} bytes")
