"""A webhook receiver for the stack tests, checking every delivery with the official Standard
Webhooks verifier (the `standardwebhooks` package, pinned in tests/sdk/requirements.txt), so no
signature check the tests rely on was written here.

    python receiver.py PORT

A test registers its endpoint's secrets under a token of its own, points the endpoint at
`/hooks/<token>/<behaviour>`, and reads back what arrived:

    PUT  /secrets/<token>            {"secrets": ["whsec_...", ...]}
    POST /hooks/<token>/<behaviour>  a delivery, answered as <behaviour> says
    GET  /seen/<token>               [{"webhook_id", "timestamp", "type", "body", "verified_by",
                                       "answered", "path"}, ...] in arrival order

`verified_by` lists the index of every registered secret under which the verifier accepts the
delivery (both, during a rotation's overlap). Behaviours:

    ok          204
    fail        500, always
    flaky       500 to the first attempt of each webhook-id, then 204
    gone        410
    throttle    429 with Retry-After: 120
    unavailable 503 with Retry-After: 60
    slow        204 after 20 s (past the sender's 15 s timeout)
    redirect    302 to /hooks/<token>/ok (which a sender must not follow)
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

lock = threading.Lock()
secrets = {}  # token -> [secret, ...]
seen = {}  # token -> [record, ...]
attempted = set()  # (token, webhook-id) answered once by a flaky hook


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_PUT(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "secrets":
            return self.answer(404)
        with lock:
            secrets[parts[1]] = json.loads(self.body())["secrets"]
        self.answer(204)

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "seen":
            return self.answer(404)
        with lock:
            found = json.dumps(seen.get(parts[1], [])).encode()
        self.answer(200, found, [("Content-Type", "application/json")])

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "hooks":
            return self.answer(404)
        _, token, behaviour = parts
        raw = self.body()
        headers = {k: v for k, v in self.headers.items()}
        with lock:
            known = list(secrets.get(token, []))
        verified_by = []
        for i, secret in enumerate(known):
            try:
                Webhook(secret).verify(raw, headers)
                verified_by.append(i)
            except WebhookVerificationError:
                pass
        webhook_id = self.headers.get("webhook-id")
        status, extra = 204, []
        if behaviour == "fail":
            status = 500
        elif behaviour == "flaky":
            with lock:
                first = (token, webhook_id) not in attempted
                attempted.add((token, webhook_id))
            status = 500 if first else 204
        elif behaviour == "gone":
            status = 410
        elif behaviour == "throttle":
            status, extra = 429, [("Retry-After", "120")]
        elif behaviour == "unavailable":
            status, extra = 503, [("Retry-After", "60")]
        elif behaviour == "slow":
            time.sleep(20)
        elif behaviour == "redirect":
            status, extra = 302, [("Location", f"/hooks/{token}/ok")]
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        record = {
            "webhook_id": webhook_id,
            "timestamp": self.headers.get("webhook-timestamp"),
            "type": (parsed or {}).get("type") if isinstance(parsed, dict) else None,
            "body": parsed,
            "verified_by": verified_by,
            "answered": status,
            "path": self.path,
        }
        with lock:
            seen.setdefault(token, []).append(record)
        try:
            self.answer(status, b"", extra)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender gave up waiting (the slow behaviour)


def main():
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    server.daemon_threads = True
    print(f"receiver: listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
