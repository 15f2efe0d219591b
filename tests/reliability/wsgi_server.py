"""`python -m tests.reliability.wsgi_server PORT`: the app in a single-threaded WSGI
server, for the fault tests. One thread serves every request in turn, reusing the
connections its pool keeps (DB_POOL_MAX_SIZE) across requests, as in a
production worker: exactly what a database outage must not wedge."""

from __future__ import annotations

import os
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:  # the app logs each request itself
        pass


class Server(WSGIServer):
    request_queue_size = 64


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.reliability.fault_settings")
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    server = make_server("127.0.0.1", int(sys.argv[1]), application, server_class=Server, handler_class=QuietHandler)
    server.serve_forever()


if __name__ == "__main__":
    main()
