#!/usr/bin/env python3
"""The Python adapter's costs, as ratios measured in one run on one directory (`make bench-python`).

1. Durable update-state saves through sessionvault.telethon.VaultSession (every set_update_state is
   durable when it returns) against Telethon 1.45's own SQLiteSession doing set_update_state + save(),
   in the same directory, rounds alternating. Target: VaultSession >= 3x SQLiteSession.
2. The agent round trip: `write` of an update state through sessionvault.Agent against the Swift
   library's in-process durable save of the same state. The in-process figure comes from
   `session-vault soak` with only update-state saves (the library's hot path in one process), in
   rounds alternating with the agent's, and the target compares each pair of neighbouring rounds:
   a disk's sync rate drifts within seconds, so figures from different moments do not compare.
   Target: agent cost per save <= 1.25x the in-process cost. (Soak also digests the state and
   prints two lines per transaction: microseconds next to a sync.) `durable_save_ops_per_s` of
   `session-vault bench --json` (run first, same directory) is printed beside it for reference, and
   its `normal_save_ops_per_s` (no fsync, so no disk drift) against the agent with --durability
   normal gives the bare protocol cost in microseconds.
3. The agent's peak RSS (VmHWM of /proc/<agent>/status, read before closing it) after opening a
   default-profile vault, the saves above, 10,000 peers and 2,000 lookups by username. Target:
   <= Argon2id memlimit + 40 MiB.

Runs itself inside the pinned Telethon venv of the tests (python/.venv/telethon-1.45.0, made by
`make python-venvs`). Prints a table, then one JSON object on the last line. Synthetic data only.

Usage: python3 bench/python_bench.py [--binary .build/release/session-vault] [--dir DIR] [--quick]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VENV = "telethon-1.45.0"
PASSPHRASE = "sessionvault python bench passphrase (synthetic data)"
MIB = 1024 * 1024


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def worker(directory, binary, saves, rounds):
    """Inside the venv: every Python-side measurement, rounds alternating."""
    import datetime
    import telethon
    from telethon.crypto import AuthKey
    from telethon.sessions import SQLiteSession
    from telethon.tl.types.updates import State
    sys.path.insert(0, os.path.join(REPO, "python"))
    from sessionvault import Agent
    from sessionvault.telethon import VaultSession

    key = AuthKey(os.urandom(256))
    sqlite = SQLiteSession(os.path.join(directory, "telethon-bench"))
    vault = VaultSession(os.path.join(directory, "vault-session"), PASSPHRASE, binary=binary)
    for session in (sqlite, vault):
        session.set_dc(2, "149.154.167.51", 443)
        session.auth_key = key
        session.save()
    agents = {durability: Agent(os.path.join(directory, "agent-" + durability), PASSPHRASE, create=True,
                                durability=durability, binary=binary) for durability in ("full", "normal")}
    counter = [0]

    def state():
        counter[0] += 1
        return State(pts=counter[0], qts=counter[0], date=datetime.datetime.now(tz=datetime.timezone.utc),
                     seq=counter[0], unread_count=0)

    def sqlite_save():
        sqlite.set_update_state(0, state())
        sqlite.save()

    def vault_save():
        vault.set_update_state(0, state())  # durable when it returns; save() has nothing to do

    def agent_save(agent):
        counter[0] += 1
        agent.write({"update_state": {"pts": counter[0], "qts": counter[0], "date": 1764000000 + counter[0],
                                      "seq": counter[0]}})

    soak_env = dict(os.environ, SESSION_VAULT_PASSPHRASE=PASSPHRASE)  # synthetic data only

    def soak(durability, count):
        """The library's in-process durable update-state saves (session-vault soak); its rate."""
        out = subprocess.run([binary, "soak", os.path.join(directory, "soak-" + durability), "--kdf", "interactive",
                              "--transactions", str(count), "--seconds", "3600", "--durability", durability,
                              "--channel-every", "0", "--dc-every", "0", "--passwd-every", "0", "--rotate-every", "0"],
                             env=soak_env, check=True, stdout=subprocess.PIPE, text=True).stdout
        return float(out.splitlines()[-1].split(" rate=")[1].split("/s")[0])

    def timed(save, count):
        save()  # warm-up
        start = time.perf_counter()
        for _ in range(count):
            save()
        return count / (time.perf_counter() - start)

    soak("full", 1)  # creates the soak vault (its first transaction saves a whole session)
    loops = {"telethon_sqlite": lambda: timed(sqlite_save, saves), "vault_session": lambda: timed(vault_save, saves),
             "in_process_full": lambda: soak("full", saves),
             "agent_full": lambda: timed(lambda: agent_save(agents["full"]), saves),
             "agent_normal": lambda: timed(lambda: agent_save(agents["normal"]), saves * 4)}
    rates = {name: [] for name in loops}
    for round_ in range(rounds):
        names = list(loops) if round_ % 2 == 0 else list(reversed(list(loops)))
        for name in names:
            rates[name].append(loops[name]())

    # Memory: a realistic peer cache and lookups on the default-profile vault, then VmHWM.
    agent = vault._vault.agent()
    for batch in range(100):
        agent.write({"peers": [{"id": 10 ** 9 + batch * 100 + i, "access_hash": -(batch * 100 + i) - 1, "kind": "user",
                                "username": "bench_peer_%d" % (batch * 100 + i), "phone": None, "name": "Peer",
                                "updated_at": 1764000000} for i in range(100)]})
    lookups = 500 if saves < 100 else 2000
    start = time.perf_counter()
    for i in range(lookups):
        assert agent.peer("username", "bench_peer_%d" % ((i * 7919) % 10000)) is not None
    lookup_us = (time.perf_counter() - start) * 1e6 / lookups
    with open("/proc/%d/status" % agent.pid) as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    peak = int(fields["VmHWM"].split()[0]) * 1024
    agent_name = agent.ready.get("agent")
    vault.delete()
    for agent in agents.values():
        agent.delete()
    sqlite.close()
    os.remove(os.path.join(directory, "telethon-bench.session"))
    paired = [i / a for i, a in zip(rates["in_process_full"], rates["agent_full"])]  # neighbouring rounds
    return {"rates": {name: spread(values) for name, values in rates.items()}, "peak_rss_bytes": peak,
            "paired_cost_ratio": spread(paired),
            "lookup_us": lookup_us, "telethon": telethon.__version__, "agent": agent_name,
            "python": sys.version.split()[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(REPO, ".build", "release", "session-vault"))
    parser.add_argument("--dir", default=".", help="a directory on the file system to measure")
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="a smoke test: fewer repetitions")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    saves, rounds = (40, 3) if args.quick else (args.saves, args.rounds)
    if args.worker:
        print(json.dumps(worker(args.worker, binary, saves, rounds)))
        return 0

    sys.path.insert(0, os.path.join(REPO, "python", "tests"))
    import venvs
    python = venvs.ensure_venv(VENV)
    work = tempfile.mkdtemp(prefix="sv-python-bench-", dir=os.path.abspath(args.dir))
    try:
        swift = json.loads(subprocess.run([binary, "bench", "--json", "--dir", work] + (["--quick"] if args.quick else []),
                                          check=True, stdout=subprocess.PIPE, text=True).stdout)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SESSION_VAULT_PASSPHRASE")}
        command = [python, os.path.abspath(__file__), "--worker", work, "--binary", binary] + (
            ["--quick"] if args.quick else ["--saves", str(saves), "--rounds", str(rounds)])
        ours = json.loads(subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env)
                          .stdout.splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rates = ours["rates"]
    vault, sqlite = rates["vault_session"]["median"], rates["telethon_sqlite"]["median"]
    agent_full, agent_normal = rates["agent_full"]["median"], rates["agent_normal"]["median"]
    in_full, in_normal = rates["in_process_full"]["median"], swift["normal_save_ops_per_s"]
    memlimit = swift.get("memlimit_bytes", 64 * MIB)
    result = {
        "directory": os.path.abspath(args.dir), "quick": args.quick, "python": ours["python"],
        "telethon": ours["telethon"], "agent": ours["agent"],
        "vault_session_save_ops_per_s": vault, "vault_session_save_ops_per_s_spread": rates["vault_session"],
        "telethon_sqlite_save_ops_per_s": sqlite, "telethon_sqlite_save_ops_per_s_spread": rates["telethon_sqlite"],
        "vault_session_vs_telethon": vault / sqlite,
        "in_process_durable_save_ops_per_s": in_full, "in_process_durable_save_ops_per_s_spread": rates["in_process_full"],
        "agent_durable_save_ops_per_s": agent_full, "agent_durable_save_ops_per_s_spread": rates["agent_full"],
        "agent_cost_vs_in_process": ours["paired_cost_ratio"]["median"],
        "agent_cost_vs_in_process_spread": ours["paired_cost_ratio"],
        "bench_durable_save_ops_per_s": swift["durable_save_ops_per_s"],
        "bench_normal_save_ops_per_s": in_normal,
        "agent_normal_save_ops_per_s": agent_normal, "agent_normal_save_ops_per_s_spread": rates["agent_normal"],
        "agent_protocol_us": 1e6 / agent_normal - 1e6 / in_normal,
        # The same question without disk drift: the protocol's cost on top of bench's durable save.
        "agent_cost_vs_in_process_derived": 1 + (1e6 / agent_normal - 1e6 / in_normal) / (
            1e6 / swift["durable_save_ops_per_s"]),
        "agent_peer_lookup_us": ours["lookup_us"],
        "agent_peak_rss_bytes": ours["peak_rss_bytes"], "kdf_memlimit_bytes": memlimit,
        "agent_peak_rss_over_memlimit_mib": (ours["peak_rss_bytes"] - memlimit) / MIB,
        "fdatasync_ops_per_s": swift["fdatasync_ops_per_s"],
    }
    checks = [
        ("VaultSession / Telethon SQLiteSession saves", result["vault_session_vs_telethon"], ">= 3", result["vault_session_vs_telethon"] >= 3),
        ("agent / in-process cost per durable save", result["agent_cost_vs_in_process"], "<= 1.25",
         result["agent_cost_vs_in_process"] <= 1.25),
        ("agent peak RSS - memlimit (MiB)", result["agent_peak_rss_over_memlimit_mib"], "<= 40", result["agent_peak_rss_over_memlimit_mib"] <= 40),
    ]
    result["targets_met"] = all(check[3] for check in checks)
    rows = [
        ("directory", result["directory"] + (" (--quick: a smoke test)" if args.quick else "")),
        ("raw pwrite+fdatasync 4 KiB", "%.0f ops/s" % result["fdatasync_ops_per_s"]),
        ("VaultSession.set_update_state (durable)", "%.0f ops/s (%.0f-%.0f, %d runs)" % tuple(
            rates["vault_session"][k] for k in ("median", "min", "max", "runs"))),
        ("Telethon %s SQLiteSession + save()" % ours["telethon"], "%.0f ops/s (%.0f-%.0f, %d runs)" % tuple(
            rates["telethon_sqlite"][k] for k in ("median", "min", "max", "runs"))),
        ("agent write, full durability", "%.0f ops/s; in-process (soak) %.0f ops/s; bench %.0f ops/s" % (
            agent_full, in_full, swift["durable_save_ops_per_s"])),
        ("agent write, NORMAL durability", "%.0f ops/s; bench %.0f ops/s: protocol %.0f us a request" % (
            agent_normal, in_normal, result["agent_protocol_us"])),
        ("agent peer lookup by username", "%.0f us (10,000 peers)" % result["agent_peer_lookup_us"]),
        ("agent peak RSS (VmHWM)", "%.1f MiB; Argon2id memlimit %.0f MiB" % (
            result["agent_peak_rss_bytes"] / MIB, memlimit / MIB)),
        ("agent / in-process, derived", "%.3f  (1 + protocol cost / bench's durable save)" % (
            result["agent_cost_vs_in_process_derived"])),
    ] + [(name, "%.2f  (target %s: %s)" % (value, target, "met" if ok else "NOT MET")) for name, value, target, ok in checks]
    for name, value in rows:
        print("%-44s%s" % (name, value))
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
