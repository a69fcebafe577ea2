#!/usr/bin/env python3
"""The pinned virtual environments of the sessionvault tests, and pytest in each of them.

    python3 python/tests/venvs.py create [NAME …]     # create what is missing (pip, PyPI)
    python3 python/tests/venvs.py test [NAME …]       # pytest in each venv on its test files

One venv per library (Pyrogram, Kurigram and Pyrofork all install the ``pyrogram`` package) in
python/.venv/<name> (git-ignored); a venv whose recorded pins match is reused, as in
Fixtures/interop/generate.py. ``test`` needs SESSION_VAULT_BINARY (the real agent); it prints
pytest's summary line per venv and fails when one fails or collects nothing (pytest exit 5).
"""
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(HERE)
VENV_DIR = os.path.join(PYTHON_DIR, ".venv")
PYTEST = ["pytest==8.3.4", "iniconfig==2.1.0", "packaging==25.0", "pluggy==1.5.0",  # these work on Python 3.9-3.13
          "exceptiongroup==1.2.2; python_version < '3.11'", "tomli==2.2.1; python_version < '3.11'",
          "setuptools==75.3.0"]
PINS = {
    "telethon-1.45.0": ["telethon==1.45.0", "pyaes==1.6.1", "rsa==4.9.1", "pyasn1==0.6.5"],
    "pyrogram-2.0.106": ["pyrogram==2.0.106", "pyaes==1.6.1", "PySocks==1.7.1"],
    "kurigram-2.2.26": ["kurigram==2.2.26", "pyaes==1.6.1", "python-socks==3.2.1"],
    "pyrofork-2.3.69": ["pyrofork==2.3.69", "pyaes==1.6.1", "PySocks==1.7.1", "pymediainfo-pyrofork==6.0.2"],
}
TESTS = {
    "telethon-1.45.0": ["test_agent.py", "test_package.py", "test_telethon.py"],
    "pyrogram-2.0.106": ["test_pyrogram.py"],
    "kurigram-2.2.26": ["test_pyrogram.py"],
    "pyrofork-2.3.69": ["test_pyrogram.py"],
}


def venv_python(name):
    return os.path.join(VENV_DIR, name, "bin", "python")


def ensure_venv(name):
    venv, want = os.path.join(VENV_DIR, name), {"pins": PINS[name] + PYTEST, "python": sys.version.split()[0]}
    marker = os.path.join(venv, "sessionvault-pins.json")
    try:
        with open(marker) as file:
            if json.load(file) == want and os.path.exists(venv_python(name)):
                return venv_python(name)
    except (OSError, ValueError):
        pass
    shutil.rmtree(venv, ignore_errors=True)
    print("[python] creating %s with %s" % (venv, " ".join(want["pins"])), file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([venv_python(name), "-m", "pip", "install", "--disable-pip-version-check", "-q"] + want["pins"],
                   check=True)
    with open(marker, "w") as file:
        json.dump(want, file)
    return venv_python(name)


def run_tests(name, extra):
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR, PYTHONDONTWRITEBYTECODE="1")
    command = [ensure_venv(name), "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs"] + extra
    command += [os.path.join(HERE, file) for file in TESTS[name]]
    process = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = [line for line in process.stdout.splitlines() if line.strip()]
    summary = lines[-1] if lines else "(no output)"
    if process.returncode != 0:
        sys.stdout.write(process.stdout)
    if process.returncode == 5:
        summary += " -- pytest collected no test: FAILED"
    print("[python] %s: %s" % (name, summary.strip("= ")))
    return process.returncode == 0


def main(argv):
    command, names = (argv[0] if argv else "test"), [a for a in argv[1:] if not a.startswith("-")]
    extra = [a for a in argv[1:] if a.startswith("-")]
    names = names or list(PINS)
    if command == "create":
        for name in names:
            ensure_venv(name)
        return 0
    if command != "test":
        raise SystemExit(__doc__)
    binary = os.environ.get("SESSION_VAULT_BINARY")
    if not binary or not os.access(binary, os.X_OK):
        raise SystemExit("[python] SESSION_VAULT_BINARY must name the built session-vault (make python-test sets it)")
    results = [run_tests(name, extra) for name in names]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
