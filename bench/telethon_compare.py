#!/usr/bin/env python3
"""SessionVault's durable encrypted save vs Telethon 1.x's plaintext SQLiteSession save.

Runs `session-vault bench --json --dir DIR`, then, right after and on the same directory, Telethon's
own SQLiteSession doing what a client does on every update: set_update_state(0, State(...)) followed
by save() (a commit). Prints both rates and their ratio (target: SessionVault >= 4x Telethon).

Telethon is installed from PyPI into a virtual environment (bench/.venv, git-ignored) at the pinned
version below. Nothing here talks to Telegram.

Usage: python3 bench/telethon_compare.py [--binary .build/release/session-vault] [--dir DIR]
       [--saves N] [--rounds R] [--quick]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import venv

TELETHON_VERSION = "1.45.0"
HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")

TELETHON_LOOP = r"""
import datetime, os, sys, time
import telethon
from telethon.sessions import SQLiteSession
from telethon.crypto import AuthKey
from telethon.tl.types.updates import State

directory, saves, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
assert telethon.__version__ == sys.argv[4], telethon.__version__
path = os.path.join(directory, "telethon-bench")
session = SQLiteSession(path)
session.set_dc(2, "149.154.167.51", 443)
session.auth_key = AuthKey(os.urandom(256))
session.save()
rates = []
counter = 0
for _ in range(rounds):
    start = time.perf_counter()
    for _ in range(saves):
        counter += 1
        now = datetime.datetime.now(tz=datetime.timezone.utc)
        session.set_update_state(0, State(pts=counter, qts=counter, date=now, seq=counter, unread_count=0))
        session.save()
    rates.append(saves / (time.perf_counter() - start))
session.close()
os.remove(path + ".session")
rates.sort()
print(rates[len(rates) // 2], rates[0], rates[-1])
"""


def ensure_venv():
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        venv.EnvBuilder(with_pip=True).create(VENV)
    check = subprocess.run([python, "-c", "import telethon; print(telethon.__version__)"], capture_output=True, text=True)
    if check.returncode != 0 or check.stdout.strip() != TELETHON_VERSION:
        subprocess.run([python, "-m", "pip", "install", "--quiet", f"telethon=={TELETHON_VERSION}"], check=True)
    return python


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(HERE, "..", ".build", "release", "session-vault"))
    parser.add_argument("--dir", default=None, help="directory on the file system to measure (default: a temp dir)")
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="pass --quick to session-vault bench and shorten the loop")
    args = parser.parse_args()

    directory = args.dir or tempfile.mkdtemp(prefix="sv-compare-")
    python = ensure_venv()

    command = [args.binary, "bench", "--json", "--dir", directory] + (["--quick"] if args.quick else [])
    ours = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)

    saves, rounds = (40, 3) if args.quick else (args.saves, args.rounds)
    out = subprocess.run([python, "-c", TELETHON_LOOP, directory, str(saves), str(rounds), TELETHON_VERSION],
                         check=True, capture_output=True, text=True).stdout.split()
    telethon_median, telethon_min, telethon_max = map(float, out)

    durable = ours["durable_save_ops_per_s"]
    ratio = durable / telethon_median
    print(f"directory:                               {directory}")
    print(f"raw pwrite+fdatasync 4 KiB:              {ours['fdatasync_ops_per_s']:.0f} ops/s")
    print(f"SessionVault durable encrypted save:     {durable:.0f} ops/s")
    print(f"Telethon {TELETHON_VERSION} plaintext save:          {telethon_median:.0f} ops/s "
          f"({telethon_min:.0f}-{telethon_max:.0f}, {rounds} runs)")
    print(f"ratio SessionVault / Telethon:           {ratio:.2f}  (target >= 4: {'met' if ratio >= 4 else 'NOT MET'})")
    print(json.dumps({"durable_save_ops_per_s": durable, "telethon_save_ops_per_s": telethon_median,
                      "telethon_save_ops_per_s_spread": {"min": telethon_min, "max": telethon_max, "runs": rounds},
                      "ratio": ratio, "fdatasync_ops_per_s": ours["fdatasync_ops_per_s"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
