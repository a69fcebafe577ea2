"""The package itself: installable with pip, standard library only, no network code, Python 3.9."""
import ast
import os
import shutil
import subprocess
import sys

from conftest import PYTHON_DIR, clean_env

PACKAGE = os.path.join(PYTHON_DIR, "sessionvault")
MODULES = sorted(name for name in os.listdir(PACKAGE) if name.endswith(".py"))
# The adapters import their library; everything else must be the standard library.
ALLOWED = {"telethon.py": {"telethon"}, "pyrogram.py": {"pyrogram"}}
STDLIB = {"asyncio", "base64", "datetime", "json", "os", "queue", "shutil", "subprocess", "threading", "time"}
NETWORK = {"socket", "ssl", "http", "urllib", "ftplib", "smtplib", "asyncore", "xmlrpc", "requests", "aiohttp"}


def imports(path):
    with open(path) as file:
        tree = ast.parse(file.read(), feature_version=(3, 9))  # also: no syntax newer than 3.9
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


def test_standard_library_only_and_no_network_code():
    assert MODULES == ["__init__.py", "_vault.py", "agent.py", "pyrogram.py", "telethon.py"]
    for name in MODULES:
        found = set(imports(os.path.join(PACKAGE, name)))
        assert found <= STDLIB | ALLOWED.get(name, set()), (name, found)
        assert not found & NETWORK
        if hasattr(sys, "stdlib_module_names"):
            assert found - ALLOWED.get(name, set()) <= set(sys.stdlib_module_names)


def test_pip_installs_the_package(tmp_path):
    source, target = tmp_path / "source", tmp_path / "site"  # a copy: setuptools builds in the tree
    shutil.copytree(PYTHON_DIR, source, ignore=shutil.ignore_patterns(".venv", "tests", "__pycache__", "build",
                                                                      "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "--no-compile", "--target", str(target), str(source)],
                   check=True, cwd=tmp_path, env=clean_env(PYTHONPATH=""))
    installed = sorted(name for name in os.listdir(target / "sessionvault") if name.endswith(".py"))
    assert installed == MODULES
    check = subprocess.run([sys.executable, "-c", "import sessionvault, sessionvault.agent; "
                            "print(sessionvault.__file__, sessionvault.__version__)"],
                           env=clean_env(PYTHONPATH=str(target)), cwd=tmp_path, stdout=subprocess.PIPE, text=True,
                           check=True)
    assert check.stdout.startswith(str(target / "sessionvault"))
