"""aco.client in this process against the stand-in server: answers routed by
id to concurrent callers, error answers, timeouts, and a connection that
breaks while callers wait."""

import threading

import pytest

from aco import client
from fake_server import FakeServer, shutdown_on_bye

HELLO = {"type": "hello", "protocol": 1, "name": "t", "cwd": "/", "argv": [], "interpreter": "python", "pid": 1}


@pytest.fixture(autouse=True)
def no_process_client(tmp_path, monkeypatch):
    monkeypatch.setenv("ACO_HOME", str(tmp_path))
    yield
    c = client._client
    client._client = None
    if c is not None:
        c.close(wait=5)


def reverse_after(n):
    """A reaction that holds subrun_start requests until n have come, then
    answers them last first, so each caller must get its own answer."""
    held = []

    def react(conn, msg):
        if msg["type"] != "subrun_start":
            return False
        held.append(msg)
        if len(held) == n:
            for m in reversed(held):
                conn.send({"type": "subrun", "id": m["id"], "run_id": "r:" + m["name"]})
        return True

    return react


def test_concurrent_requests_get_their_own_answers():
    server = FakeServer(reverse_after(8))
    try:
        c = client.start(server.addr, HELLO)
        assert client.get() is c
        assert (c.run_id, c.execution) == ("run-1", 1)
        got = {}

        def ask(i):
            got[i] = c.request({"type": "subrun_start", "parent": "run-1", "name": "n%d" % i})["run_id"]

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert got == {i: "r:n%d" % i for i in range(8)}
        c.close({"type": "deregister", "run_id": "run-1", "status": "finished", "exit_code": 0})
        (conn,) = server.wait()
        ids = [m["id"] for m in conn.messages if m["type"] == "subrun_start"]
        assert sorted(ids) == list(range(1, 9))
        assert conn.messages[-1]["type"] == "deregister"
    finally:
        server.close()


def test_error_answer_and_timeout_leave_the_client_usable():
    def react(conn, msg):
        if msg.get("name") == "refused":
            conn.send({"type": "error", "id": msg["id"], "code": "bad_request", "message": "no such parent"})
            return True
        return msg.get("name") == "ignored"

    server = FakeServer(react)
    try:
        c = client.start(server.addr, HELLO)
        with pytest.raises(client.ClientError, match="no such parent"):
            c.request({"type": "subrun_start", "parent": "x", "name": "refused"})
        with pytest.raises(client.ClientError, match="no answer to subrun_start"):
            c.request({"type": "subrun_start", "parent": "x", "name": "ignored"}, timeout=0.2)
        assert c.request({"type": "subrun_start", "parent": "x", "name": "fine"})["run_id"] == "r:fine"
        assert client.get() is c
    finally:
        server.close()


def test_broken_connection_wakes_waiters_and_disables(capfd):
    started = threading.Event()

    def react(conn, msg):
        if msg.get("name") == "hang":
            started.set()
            return True
        if msg.get("name") == "kill":
            conn.drop(reset=True)
            return True
        return False

    server = FakeServer(react)
    try:
        c = client.start(server.addr, HELLO)
        errors = []

        def wait_for_hang():
            try:
                c.request({"type": "subrun_start", "parent": "x", "name": "hang"})
            except client.ClientError as e:
                errors.append(str(e))

        t = threading.Thread(target=wait_for_hang)
        t.start()
        assert started.wait(10)
        with pytest.raises(client.ClientError):
            c.request({"type": "subrun_start", "parent": "x", "name": "kill"})
        t.join(10)
        assert not t.is_alive()
        assert len(errors) == 1
        assert client.get() is None
        c.send({"type": "log", "run_id": "run-1", "entry": "dropped"})
        with pytest.raises(client.ClientError):
            c.request({"type": "subrun_start", "parent": "x", "name": "later"})
    finally:
        server.close()
    err = capfd.readouterr().err
    assert err.count("aco: ") == 1 and "without recording" in err


def test_the_warning_is_written_before_recording_is_seen_to_be_off(monkeypatch):
    """A program that sees recording off (client.get() is None) and exits at
    once must still have had the connection's one warning line written: it
    comes from the reader thread, which does not outlive the program."""
    seen_at_warning = []
    real_warn = client._log.warn_once

    def warn_once(message, key=None):
        seen_at_warning.append(client.get())
        real_warn(message, key=key)

    monkeypatch.setattr(client._log, "warn_once", warn_once)

    server = FakeServer(shutdown_on_bye)
    try:
        c = client.start(server.addr, HELLO)
        c.send({"type": "log", "run_id": "run-1", "entry": "bye"})
        assert c._reader_done.wait(10)
        assert client.get() is None
    finally:
        server.close()
    assert seen_at_warning == [c], "recording was already off when the warning was written"


def test_unreachable_server():
    server = FakeServer()
    addr = server.addr
    server.close()
    with pytest.raises(client.ClientError, match="cannot reach the aco server"):
        client.start(addr, HELLO)
    assert client.get() is None
