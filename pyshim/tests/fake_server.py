"""A tiny stand-in for the aco server, speaking the runner protocol over real
TCP, for testing the shim's side of the conversation. It records every message
of every connection and answers hello and subrun_start; a test can add its own
reactions to particular messages."""

import json
import socket
import threading


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.messages = []
        self.done = threading.Event()  # set once the connection is over

    def send(self, msg):
        self.sock.sendall(json.dumps(msg).encode() + b"\n")

    def drop(self, reset=False):
        """End the connection the way a killed server would."""
        if reset:
            # Linger 0 makes close send a RST instead of a FIN.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class FakeServer:
    """react(conn, msg) may answer or drop the connection; it returns True when
    it handled the message, so the default answers are skipped."""

    def __init__(self, react=None, run_id="run-1"):
        self.react = react
        self.run_id = run_id
        self.conns = []
        self._changed = threading.Condition()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.addr = "127.0.0.1:%d" % self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        # shutdown wakes the accept() blocked in the other thread; close
        # alone would leave the socket listening until that call returns.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()

    def wait(self, n=1, timeout=30):
        """The first n connections, once each has ended."""
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.conns) >= n, timeout), "expected %d connections" % n
            conns = self.conns[:n]
        for c in conns:
            assert c.done.wait(timeout), "connection did not end"
        return conns

    def _accept(self):
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            c = Conn(sock)
            with self._changed:
                self.conns.append(c)
                self._changed.notify_all()
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            f = c.sock.makefile("rb")
            for line in f:
                msg = json.loads(line)
                c.messages.append(msg)
                if self.react is not None and self.react(c, msg):
                    continue
                if msg["type"] == "hello":
                    c.send({"type": "session", "run_id": self.run_id, "execution": 1})
                elif msg["type"] == "subrun_start":
                    # Ids named after the subrun make the assertions readable.
                    c.send({"type": "subrun", "id": msg["id"], "run_id": "r:" + msg["name"]})
        except (OSError, ValueError):
            pass
        finally:
            try:
                c.sock.close()
            except OSError:
                pass
            c.done.set()


def shutdown_on_bye(conn, msg):
    """A reaction: the server shuts down (as `aco server stop` makes it) when
    the runner logs the entry "bye"."""
    if msg.get("entry") == "bye":
        conn.send({"type": "shutdown", "reason": "aco server stop"})
        return True
    return False
