"""A webhook receiver in its own process, as a subscriber's would be: answers 200 and appends each request's
``webhook-id`` to a file (one line per request, written before the answer).

Run by the chaos harness: ``python -m scripts.chaos_receiver PORT FILE``.
"""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Lock


def serve(port: int, log: Path) -> None:
    lock = Lock()
    with log.open("a", encoding="utf-8") as out:

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                with lock:
                    out.write(f"{self.headers.get('webhook-id', '')}\n")
                    out.flush()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return None

        ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]))
