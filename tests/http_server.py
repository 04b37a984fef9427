"""Real local servers for the download tests: a file server with misbehaving routes, and dead ends.

Everything listens on 127.0.0.1 and is started by the test that uses it;
nothing here touches the internet.

- :func:`file_server`: an ``http.server`` in a thread serving ``routes``,
  a dict ``{"/name.gz": Route}``; unknown paths get 404. It counts requests
  per path, so a test can see whether the cache was used.
- :func:`refused_url`: a port bound but not listening: connecting is refused.
- :func:`silent_url`: a port that accepts connections and never answers.
- :func:`offline_env`: a fixture pointing the default cache into tmp_path
  and the default mirror list at nothing, so no test reaches the user's
  cache or the real mirrors even if it forgets to pass its own.
"""
import contextlib
import http.server
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass

import pytest


@dataclass
class Route:
    """What the server sends for one path.

    body : the bytes to serve.
    truncate : if True, announce Content-Length larger than ``body``, send
        ``body``, then close the connection: a transfer cut short.
    delay : seconds to wait before answering.
    trickle : if > 0, send one byte every ``trickle`` seconds.
    """

    body: bytes
    truncate: bool = False
    delay: float = 0.0
    trickle: float = 0.0


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        server.hits[self.path] += 1
        route = server.routes.get(self.path)
        if route is None:
            self.send_error(404, "Not Found")
            return
        time.sleep(route.delay)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        extra = 1000 if route.truncate else 0
        self.send_header("Content-Length", str(len(route.body) + extra))
        self.end_headers()
        try:
            if route.trickle:
                for i in range(len(route.body)):
                    if server.stopping.is_set():
                        return
                    self.wfile.write(route.body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(route.trickle)
            else:
                self.wfile.write(route.body)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up, which is what the test wanted
        if route.truncate:
            self.close_connection = True

    def log_message(self, format, *args):
        pass  # keep pytest's output clean


@contextlib.contextmanager
def file_server(routes):
    """Serve ``routes`` on 127.0.0.1; yield the server, whose ``url`` is the base URL and ``hits`` the counts."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.routes = dict(routes)
    server.hits = Counter()
    server.stopping = threading.Event()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def refused_url():
    """Yield a URL on a port that is bound but not listening, so connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"


@contextlib.contextmanager
def silent_url():
    """Yield a URL whose port completes the TCP handshake (kernel backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"


@pytest.fixture
def offline_env(tmp_path, monkeypatch):
    """Set CATTERN_DATA_DIR under tmp_path and CATTERN_MNIST_MIRRORS to none."""
    monkeypatch.setenv("CATTERN_DATA_DIR", str(tmp_path / "default-data"))
    monkeypatch.setenv("CATTERN_MNIST_MIRRORS", "")
