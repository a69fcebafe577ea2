"""The client of ``session-vault serve`` (docs/AGENT.md): one agent process per open vault.

Standard library only. The agent is the only code that reads or writes vault bytes; this module
spawns it with pipes, hands it the passphrase through an inherited pipe when one is given, and
turns its answers into dicts and its errors into exceptions.
"""
import asyncio
import json
import os
import queue
import shutil
import subprocess
import threading

PROTOCOL = 1
INSTALL_HINT = ("install it with `make install PREFIX=$HOME/.local` in a SessionVault checkout "
                "(and put PREFIX/bin on PATH), or set SESSION_VAULT_BINARY to its path")
_SOURCES = ("SESSION_VAULT_PASSPHRASE", "SESSION_VAULT_PASSPHRASE_FILE", "SESSION_VAULT_PASSPHRASE_FD",
            "CREDENTIALS_DIRECTORY")


class VaultError(Exception):
    """An error of the vault or the agent; ``code`` is stable (docs/AGENT.md section 4)."""
    code = "error"

    def __init__(self, message, code=None, exit_status=None, holder_pid=None, record_kind=None):
        super().__init__(message)
        self.code = code or self.code
        self.exit_status, self.holder_pid, self.record_kind = exit_status, holder_pid, record_kind


class WrongPassphraseError(VaultError):
    code = "wrong-passphrase"


class TamperedError(VaultError):
    code = "tampered"


class NotAVaultError(VaultError):
    code = "not-a-vault"


class CorruptError(VaultError):
    code = "corrupt"


class UnsupportedFormatVersionError(VaultError):
    code = "unsupported-format-version"


class KDFParametersOutOfBoundsError(VaultError):
    code = "kdf-parameters-out-of-bounds"


class InUseError(VaultError):
    code = "in-use"


class SQLiteUnavailableError(VaultError):
    code = "sqlite-unavailable"


class ClosedError(VaultError):
    code = "closed"


class VaultIOError(VaultError):
    code = "io"


class InvalidArgumentError(VaultError):
    code = "invalid-argument"


class AlreadyExistsError(VaultError):
    code = "already-exists"


class NotFoundError(VaultError):
    code = "not-found"


class CryptoFailureError(VaultError):
    code = "crypto-failure"


class LeaseLostError(VaultError):
    """The agent's PostgreSQL lease was lost (docs/LEASES.md): another process may hold the session.
    Stop using its auth keys (disconnect from Telegram) at once; every later request fails with it."""
    code = "lease-lost"


class AgentDiedError(VaultError):
    """The agent process ended unexpectedly; ``exit_status`` is its status (negative: that signal)."""
    code = "agent-died"


class AgentNotFoundError(VaultError):
    """No ``session-vault`` binary; the message says how to install one."""
    code = "agent-not-found"


_CLASSES = {cls.code: cls for cls in VaultError.__subclasses__()}
_NOT_JSON = object()
# After these the agent may have closed the vault: adapters start a new one for the next request.
RESTART_CODES = ("closed", "io", "crypto-failure", "agent-died")


def error_from(error):
    """The exception for an error object of the protocol."""
    cls = _CLASSES.get(error.get("code"), VaultError)
    return cls(error.get("message") or error.get("code") or "unknown error", error.get("code"),
               error.get("exit_status"), error.get("holder_pid"), error.get("record_kind"))


_spawners, _spawners_lock = {}, threading.Lock()


def _popen(argv, **options):
    """subprocess.Popen on a thread that lives as long as this process: the agent asks for SIGTERM
    when its parent dies (PR_SET_PDEATHSIG), and Linux sends it when the *thread* that started
    the agent ends (an asyncio.to_thread worker, a short-lived thread), not only the process."""
    with _spawners_lock:
        requests = _spawners.get(os.getpid())  # one per process: a forked child starts its own
        if requests is None:
            requests = _spawners[os.getpid()] = queue.SimpleQueue()
            threading.Thread(target=_spawner, args=(requests,), name="sessionvault-spawner", daemon=True).start()
    answer = queue.SimpleQueue()
    requests.put((argv, options, answer))
    process, error = answer.get()
    if error is not None:
        raise error
    return process


def _spawner(requests):
    while True:
        argv, options, answer = requests.get()
        try:
            answer.put((subprocess.Popen(argv, **options), None))
        except BaseException as error:  # handed to the caller
            answer.put((None, error))


def find_binary():
    """``SESSION_VAULT_BINARY``, else ``session-vault`` on PATH; AgentNotFoundError says how to install it."""
    path = os.environ.get("SESSION_VAULT_BINARY")
    if path:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
        raise AgentNotFoundError("SESSION_VAULT_BINARY=%s is not an executable file; %s" % (path, INSTALL_HINT))
    found = shutil.which("session-vault")
    if not found:
        raise AgentNotFoundError("the session-vault command was not found on PATH; " + INSTALL_HINT)
    return found


class Agent:
    """One ``session-vault serve LOCATION`` process, answering one request at a time (thread-safe).

    ``passphrase=None``: the agent reads SESSION_VAULT_PASSPHRASE(_FILE) or the systemd credential
    from the environment it inherits. A passphrase given here (str or bytes) goes through a pipe
    (SESSION_VAULT_PASSPHRASE_FD) and is not kept.
    """

    def __init__(self, location, passphrase=None, *, create=False, kdf=None, lock_wait=None,
                 durability=None, binary=None, on_lease_lost=None):
        self.location, self.pid, self._closed = os.fspath(location), None, True
        # A PostgreSQL lease lost in the background: the agent's ``lease-lost`` event (docs/AGENT.md
        # 2.4) sets this to a LeaseLostError and calls ``on_lease_lost(error)`` from a reader thread,
        # whether or not a request is in progress.
        self.lease_lost, self._on_lease_lost = None, on_lease_lost
        location = self.location
        argv = [binary or find_binary(), "serve", "./" + location if location.startswith("-") else location]
        argv += ["--create"] if create else []
        argv += ["--kdf", kdf] if kdf else []
        argv += ["--lock-wait", str(lock_wait)] if lock_wait else []
        argv += ["--durability", durability] if durability else []
        env, pass_fds, write_end = dict(os.environ), (), None
        if passphrase is not None:
            for name in _SOURCES:
                env.pop(name, None)
            read_end, write_end = os.pipe()
            env["SESSION_VAULT_PASSPHRASE_FD"], pass_fds = str(read_end), (read_end,)
        try:
            self._process = _popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, pass_fds=pass_fds)
        except OSError as error:
            if write_end is not None:
                os.close(write_end)
            raise AgentNotFoundError("cannot run %s (%s); %s" % (argv[0], error.strerror, INSTALL_HINT)) from None
        finally:
            for fd in pass_fds:
                os.close(fd)
        if write_end is not None:
            view = memoryview(passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase)
            try:
                with open(write_end, "wb", buffering=0) as pipe:
                    while view:
                        view = view[pipe.write(view):]
            except BrokenPipeError:
                pass  # the agent ended early: its failed event or exit status says why
        self._lock, self._next_id, self._closed = threading.Lock(), 0, False
        self._lines = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read_lines, name="sessionvault-agent-reader", daemon=True)
        self._reader.start()
        first = self._read()
        if first.get("event") != "ready" or first.get("protocol") != PROTOCOL:
            raise self._broken("the agent does not speak protocol %d" % PROTOCOL, first.get("error"))
        self.ready = first
        self.pid = first.get("pid", self._process.pid)

    def __repr__(self):
        return "<sessionvault.Agent pid=%s location=%r%s>" % (self.pid, self.location, " closed" if self._closed else "")

    @property
    def closed(self):
        return self._closed

    def _stop(self):
        """Ends our side: the agent finishes at end of input (killed if it does not); its status.
        Standard output is closed only after the reader thread saw its end (closing a stream another
        thread is reading could block)."""
        self._closed = True
        try:
            self._process.stdin.close()
        except OSError:
            pass
        try:
            status = self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            status = self._process.wait()
        reader = getattr(self, "_reader", None)
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=5)
        if reader is None or not reader.is_alive():
            try:
                self._process.stdout.close()
            except OSError:
                pass
        return status

    def _read_lines(self):
        """The reader thread: answers go to the queue, a ``lease-lost`` event is handled at once."""
        try:
            for line in iter(self._process.stdout.readline, b""):
                if not line.strip():
                    continue
                try:
                    message = json.loads(line)
                except ValueError:
                    self._lines.put(_NOT_JSON)
                    continue
                if message.get("event") == "lease-lost":
                    error = error_from(message.get("error") or {"code": LeaseLostError.code})
                    if self.lease_lost is None:
                        self.lease_lost = error
                        if self._on_lease_lost is not None:
                            try:
                                self._on_lease_lost(error)
                            except Exception:  # the bot's handler must not stop the reader
                                pass
                    continue
                self._lines.put(message)
        except (OSError, ValueError):
            pass
        self._lines.put(None)

    def _died(self):
        status = self._stop()
        return AgentDiedError("the session-vault agent (pid %d) ended unexpectedly with status %s"
                              % (self._process.pid, status), exit_status=status)

    def _broken(self, message, error=None):
        """The stream cannot be trusted any more: stop the agent; its own error when it sent one."""
        self._stop()
        return error_from(error) if error else VaultError(message, "protocol")

    def _read(self):
        while True:
            message = self._lines.get()
            if message is None:
                self._lines.put(None)  # the end stays visible to later reads
                raise self._died()
            if message is _NOT_JSON:
                raise self._broken("the agent sent a line that is not JSON")
            if "id" in message or message.get("event") in ("ready", "failed"):
                return message
            # another event: ignored (docs/AGENT.md 2.3)

    def pipeline(self, requests):
        """Sends every ``(op, params)`` at once and returns their results in order; the first
        error is raised after all answers were read."""
        with self._lock:
            if self._closed:
                raise ClosedError("the agent for %s was closed" % self.location, exit_status=74)
            ids, lines = [], []
            for op, params in requests:
                self._next_id += 1
                ids.append(self._next_id)
                message = dict(params, id=self._next_id, op=op)
                lines.append(json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n")
            try:
                self._process.stdin.write(b"".join(lines))
                self._process.stdin.flush()
            except (BrokenPipeError, ValueError):
                raise self._died() from None
            results, failure = [], None
            for expected in ids:
                answer = self._read()
                if answer.get("id") != expected:  # e.g. null: a request over 16 MiB ends the agent
                    raise self._broken("the agent answered request %r with id %r" % (expected, answer.get("id")),
                                       answer.get("error"))
                if answer.get("ok"):
                    results.append(answer.get("result") or {})
                else:
                    results.append(None)
                    failure = failure or error_from(answer.get("error") or {})
            if failure is not None:
                raise failure
            return results

    def request(self, op, **params):
        """One request; returns its ``result`` object or raises the VaultError of its error."""
        return self.pipeline([(op, params)])[0]

    def hello(self, client="sessionvault-python"):
        return self.request("hello", protocol=PROTOCOL, client=client)

    def load(self):
        """``{"session": Session or None, "peer_count": n}``."""
        return self.request("load")

    def save(self, session):
        return self.request("save", session=session)

    def write(self, changes):
        """Applies a Changes object in one durable transaction (returns after it is on disk)."""
        return self.request("write", changes=changes)

    def peer(self, by, value):
        """The cached peer with this ``id``, ``username`` or ``phone``, or None."""
        return self.request("peer", by=by, value=value)["peer"]

    def peers(self):
        return self.request("peers")["peers"]

    def _end(self, op):
        if self._closed:
            return
        try:
            self.request(op)
        except AgentDiedError:
            if op == "delete":
                raise
        finally:
            self._stop()

    def close(self):
        """Checkpoints, releases the lock and ends the agent (idempotent)."""
        self._end("close")

    def delete(self):
        """Removes the vault and ends the agent."""
        self._end("delete")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class AsyncAgent:
    """The asyncio flavour: each call runs the synchronous Agent in a worker thread (one at a time)."""

    def __init__(self, agent):
        self.agent = agent

    @classmethod
    async def open(cls, location, passphrase=None, **options):
        return cls(await asyncio.to_thread(Agent, location, passphrase, **options))

    def __repr__(self):
        return "<sessionvault.AsyncAgent %r>" % (self.agent,)

    async def request(self, op, **params):
        return await asyncio.to_thread(self.agent.request, op, **params)

    async def pipeline(self, requests):
        return await asyncio.to_thread(self.agent.pipeline, requests)

    async def load(self):
        return await asyncio.to_thread(self.agent.load)

    async def save(self, session):
        return await asyncio.to_thread(self.agent.save, session)

    async def write(self, changes):
        return await asyncio.to_thread(self.agent.write, changes)

    async def peer(self, by, value):
        return await asyncio.to_thread(self.agent.peer, by, value)

    async def peers(self):
        return await asyncio.to_thread(self.agent.peers)

    async def close(self):
        await asyncio.to_thread(self.agent.close)

    async def delete(self):
        await asyncio.to_thread(self.agent.delete)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
