"""Running the app under uvicorn: in the foreground, or in a thread for tests and notebooks."""
import contextlib
import errno
import socket
import threading
import time

import uvicorn


def _config(app, log_level):
    # One worker process, no reload: the model lives in this process's memory.
    return uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off")


def bind(host="127.0.0.1", port=0):
    """A listening TCP socket on ``host:port`` (port 0: any free port).

    Raises OSError naming what is wrong: a host that is no address or name
    this machine resolves, an address that is not this machine's, a port in use.
    """
    if not 0 <= port <= 65535:
        raise OSError(f"--port must be from 0 to 65535 (0 picks a free one); got {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as err:
        raise OSError(f"--host {host!r} is not an address or a name this machine can resolve "
                      f"({getattr(err, 'strerror', None) or err}); use e.g. 127.0.0.1 or localhost") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise OSError(f"cannot listen on {host}:{port}: the port is in use; pick another --port, "
                          "or stop the program using it") from None
        raise OSError(f"cannot listen on {host}:{port}: {err.strerror}; give a --host of this machine "
                      "(127.0.0.1 for this machine only)") from None
    sock.listen(128)
    return sock


def run(app, sock, log_level="warning"):
    """Serve ``app`` on the bound socket ``sock`` until interrupted."""
    uvicorn.Server(_config(app, log_level)).run(sockets=[sock])


@contextlib.contextmanager
def background(app, host="127.0.0.1", port=0, timeout=10.0):
    """Serve ``app`` in a thread; yields its base URL, e.g. ``http://127.0.0.1:41234``.

    A real uvicorn server on a real socket, so tests exercise what a browser
    talks to. It stops when the block ends.
    """
    sock = bind(host, port)
    server = uvicorn.Server(_config(app, "warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the test server on {host} did not start within {timeout} s")
        time.sleep(0.01)
    bound_host, bound_port = sock.getsockname()[:2]
    try:
        yield f"http://{bound_host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
