"""The process's one connection to the aco server.

The runner opens it with start() before the program runs; everything else
reaches it through get(), which answers None whenever recording is off (aco
disabled, server unreachable, connection lost, or a forked child that must not
share its parent's socket). Callers treat None as "run plainly".

Requests carry a fresh integer id; one reader thread routes each answer to the
caller waiting for that id, so threads and asyncio tasks can share the
connection. Calls from a coroutine block the event loop for one local round
trip, which keeps the API synchronous and is short next to an LLM call.
"""

import _socket
import _thread
import io
import os
import sys

from aco import _log

ANSWER_TIMEOUT = 30.0

_client = None

# This process's pid, kept by a fork hook rather than asked for on every
# call (os.getpid() is a system call, and usable() runs on each SDK call).
_pid = os.getpid()


def _after_fork():
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_after_fork)


class ClientError(Exception):
    """A request failed: the server answered with an error, the answer did not
    come in time, or the connection is gone."""


def get():
    """The process's client, or None when nothing is to be recorded."""
    c = _client
    # usable(), inlined: this runs on every SDK call.
    if c is None or c._dead is not None or _pid != c._pid:
        return None
    return c


def start(addr, hello, connect_timeout=1.0, answer_timeout=5.0):
    """Connect to addr ("host:port"), send hello, wait for the session, and make
    the client the process's. Raises ClientError saying why it could not."""
    global _client, _started_in
    _started_in = _thread.get_ident()
    try:
        from aco import protocol
    except Exception as e:
        raise ClientError("the shim's protocol module does not load (%s)" % e) from e
    host, _, port = addr.rpartition(":")
    try:
        port = int(port)
    except ValueError:
        raise ClientError("bad server address %r" % addr) from None
    try:
        sock = _connect(host, port, connect_timeout)
    except OSError as e:
        raise ClientError("cannot reach the aco server at %s (%s)" % (addr, e.strerror or e)) from e
    try:
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        sock.settimeout(answer_timeout)
        sock.sendall(protocol.encode(hello))
        reader = io.BufferedReader(_SocketReader(sock))
        line = reader.readline()
        if not line:
            raise ClientError("the aco server at %s closed the connection before the session began" % addr)
        answer = protocol.decode(line)
        if answer.get("type") == "error":
            raise ClientError("the aco server refused the session: %s" % answer.get("message"))
        if answer.get("type") != "session" or not answer.get("run_id"):
            raise ClientError("the aco server answered hello with %r" % answer.get("type"))
        sock.settimeout(None)
        _limit_send_time(sock)
    except ClientError:
        sock.close()
        raise
    except Exception as e:
        sock.close()
        raise ClientError("no session from the aco server at %s (%s)" % (addr, e)) from e
    c = Client(sock, reader, protocol, answer["run_id"], answer.get("execution", 0))
    c._start_reader()
    _client = c
    return c


# The connection is made with the C modules _socket and _thread, not with
# socket and threading: those two (and the enums and selectors they load)
# cost a program that never touches the network ~10 ms of start-up on a
# small machine, and aco should not load for the program what it does not
# use. Their classes here are thin: a connect over getaddrinfo, a raw reader
# for io.BufferedReader, and an event over a lock.


def _connect(host, port, timeout):
    # An ASCII host as bytes: resolving a str loads the idna codec (~2 ms).
    err = OSError("no address for %s" % host)
    for family, kind, proto, _, sockaddr in _socket.getaddrinfo(host.encode() if host.isascii() else host, port, 0, _socket.SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as e:
            err = e
            sock.close()
    raise err


class _SocketReader(io.RawIOBase):
    """A socket's receiving side as raw I/O, for io.BufferedReader."""

    def __init__(self, sock):
        self._sock = sock

    def readable(self):
        return True

    def readinto(self, b):
        return self._sock.recv_into(b)


class _Event:
    """threading.Event's set, is_set and wait, over a lock that is held
    until set() releases it."""

    __slots__ = ("_flag", "_gate", "_guard")

    def __init__(self):
        self._flag = False
        self._gate = _thread.allocate_lock()
        self._gate.acquire()
        self._guard = _thread.allocate_lock()

    def set(self):
        with self._guard:
            if not self._flag:
                self._flag = True
                self._gate.release()

    def is_set(self):
        return self._flag

    def wait(self, timeout=None):
        if self._flag:
            return True
        if self._gate.acquire(True, -1 if timeout is None else max(timeout, 0)):
            self._gate.release()  # open for the other waiters
            return True
        return self._flag


def _limit_send_time(sock):
    # The reader needs a blocking socket, but a wedged server must not hang
    # the program in sendall forever: a kernel send timeout turns that into an
    # error, which disables recording.
    try:
        from _struct import pack  # struct's C half: struct itself is a module more to load

        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_SNDTIMEO, pack("ll", 10, 0))
    except Exception:
        _log.log("cannot set a send timeout", exc_info=True)


class _Waiter:
    __slots__ = ("done", "answer", "error")

    def __init__(self):
        self.done = _Event()
        self.answer = None
        self.error = None


class Client:
    """One connection. Build it with start()."""

    def __init__(self, sock, reader, protocol, run_id, execution):
        self.run_id = run_id
        self.execution = execution
        # Runs in their first execution: nothing of theirs can be cached, so
        # their calls skip the look-up round trip. Read as `run_id in
        # client.fresh` by every SDK call.
        self.fresh = {run_id} if execution == 1 else set()
        self._sock = sock
        self._reader = reader
        self._protocol = protocol
        self._pid = _pid
        self._send_lock = _thread.allocate_lock()
        self._lock = _thread.allocate_lock()  # guards _pending, _next_id, _dead
        self._pending = {}
        self._next_id = 0
        self._dead = None  # why the client stopped, once it has
        self._stopping = None  # why the client is stopping, from the moment _stop() begins
        self._closing = False
        self._reader_done = _Event()

    def note_run(self, run_id, execution):
        """Remember a subrun's execution number from its subrun answer."""
        if execution == 1:
            self.fresh.add(run_id)

    def usable(self):
        return self._dead is None and _pid == self._pid

    def request(self, msg, timeout=ANSWER_TIMEOUT):
        """Send msg with a fresh id and return the answer carrying that id.
        Raises ClientError for an error answer, a timeout or a lost connection."""
        if not self.usable():
            raise ClientError(self._dead or "the connection belongs to the parent process")
        w = _Waiter()
        with self._lock:
            # _stop() has taken the waiters it will wake: one added now
            # would wait for an answer that cannot come.
            if self._stopping is not None:
                raise ClientError(self._stopping)
            self._next_id += 1
            rid = self._next_id
            self._pending[rid] = w
        try:
            self._write(dict(msg, id=rid))
            if not w.done.wait(timeout):
                raise ClientError("no answer to %s within %gs" % (msg.get("type"), timeout))
        finally:
            with self._lock:
                self._pending.pop(rid, None)
        if w.error is not None:
            raise ClientError(w.error)
        return w.answer

    def send(self, msg):
        """Send msg without waiting; never raises."""
        if not self.usable():
            return
        try:
            self._write(msg)
        except Exception:
            _log.log("send %s failed" % msg.get("type"), exc_info=True)

    def close(self, final=None, wait=2.0):
        """Send final (the deregister), half-close, and wait up to `wait`
        seconds for the server to close its side, so the server has taken
        the last message in before the process exits."""
        if not self.usable():
            return
        self._closing = True
        try:
            if final is not None:
                self._write(final)
            self._sock.shutdown(_socket.SHUT_WR)
        except Exception:
            _log.log("closing the connection failed", exc_info=True)
            return
        self._reader_done.wait(wait)

    def _write(self, msg):
        try:
            data = self._protocol.encode(msg)
        except Exception as e:
            raise ClientError("cannot encode %s: %s" % (msg.get("type"), e)) from e
        try:
            with self._send_lock:
                self._sock.sendall(data)
        except OSError as e:
            self._stop("the connection broke (%s)" % (e.strerror or e))
            raise ClientError(self._dead) from e

    def _start_reader(self):
        # A bare _thread rather than threading.Thread keeps the reader out of
        # threading.enumerate()/active_count(), which programs may inspect,
        # and python never waits for it at exit (it is not the program's).
        _thread.start_new_thread(self._read_loop, ())

    def _read_loop(self):
        reason = "the server closed the connection"
        try:
            while True:
                line = self._reader.readline()
                if not line:
                    break
                try:
                    msg = self._protocol.decode(line)
                except Exception as e:
                    _log.log("ignoring a line from the server: %s" % e)
                    continue
                self._dispatch(msg)
        except Exception as e:
            reason = "the connection broke (%s)" % (getattr(e, "strerror", None) or e)
        finally:
            self._reader_done.set()
            self._stop(reason, quiet=self._closing)

    def _dispatch(self, msg):
        kind = msg.get("type")
        rid = msg.get("id")
        if rid:
            with self._lock:
                w = self._pending.get(rid)
            if w is None:
                _log.log("answer %s to id %r that nobody waits for" % (kind, rid))
                return
            if kind == "error":
                w.error = "the aco server: %s (%s)" % (msg.get("message"), msg.get("code"))
            else:
                w.answer = msg
            w.done.set()
        elif kind == "restart":
            _log.log("restart: interrupting the program")
            _interrupt_main()
        elif kind == "shutdown":
            self._stop("the aco server is shutting down: %s" % msg.get("reason", ""))
        elif kind == "error":
            _log.log("server error: %s (%s)" % (msg.get("message"), msg.get("code")))
        else:
            _log.log("ignoring unprompted %r from the server" % kind)

    def _stop(self, reason, quiet=False):
        with self._lock:
            if self._dead is not None or self._stopping is not None:
                return
            self._stopping = reason
            waiting = list(self._pending.values())
            self._pending.clear()
        # Warn before recording is seen to be off (get() answers None once
        # _dead is set) and before waking the waiters, so that the line
        # comes before any output the program makes after either, and is
        # written even when the program exits at once.
        if not quiet and os.getpid() == self._pid:
            _log.warn_once(
                "%s; the program goes on without recording (details: %s)" % (reason, _log.log_path()),
                key="connection lost",
            )
        self._dead = reason
        for w in waiting:
            w.error = reason
            w.done.set()
        if os.getpid() != self._pid:
            return
        try:
            self._sock.shutdown(_socket.SHUT_RDWR)
        except Exception:
            pass


_started_in = None  # the thread start() ran in: the runner's main thread


def _main_thread_ident():
    # threading.main_thread() when the program has loaded threading (it
    # must not be imported here first: from the reader thread, threading
    # would take the reader for the main thread).
    threading = sys.modules.get("threading")
    if threading is not None:
        return threading.main_thread().ident
    return _started_in if _started_in is not None else _thread.get_ident()


def _interrupt_main():
    # A real SIGINT aimed at the main thread does what Ctrl-C does: it runs the
    # program's own SIGINT handler and wakes a main thread blocked in a system
    # call, which _thread.interrupt_main alone would not.
    try:
        import signal

        signal.pthread_kill(_main_thread_ident(), signal.SIGINT)
    except Exception:
        _thread.interrupt_main()
