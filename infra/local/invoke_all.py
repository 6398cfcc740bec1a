"""Invokes every function once with a harmless event, through cargo lambda's invoke API.

    python infra/local/invoke_all.py <api url> [seconds to wait for each] [function ...]

`up` runs it to start every function before it says "ready" (cargo lambda watch starts a function
on its first invocation, and no request should wait behind that). `test` runs it again after the
stack has sat idle, because an idle function must still answer (naming the functions that sat
idle, when not all did). Exits 1 naming the first function that does not.
"""

import json
import sys
import urllib.request
from pathlib import Path

EVENTS = Path(__file__).resolve().parent.parent / "events"


def load(name: str, **replace: str) -> dict:
    text = (EVENTS / name).read_text()
    for placeholder, value in replace.items():
        text = text.replace(placeholder, value)
    return json.loads(text)


def harmless_events() -> dict:
    """One event per function that changes nothing."""
    return {
        "api-keys": load("api-keys-unauthenticated.json"),
        "account": load("account-health.json"),
        "privacy": load("privacy-erasure-with-key.json"),
        "console": load("console-signin.json"),
        "authorizer": load("authorizer-bad-key.json"),
        "worker": {"Records": []},
        "audit-stream": {"Records": []},
        "webhook-dispatch": {"Records": []},
        "sweeper": load("sweeper-scheduled.json", SWEEP_TIME="2001-01-01T00:00:00Z"),
    }


def main(api: str, timeout: float, only: list[str]) -> int:
    events = harmless_events()
    unknown = [name for name in only if name not in events]
    if unknown:
        print(f"invoke_all: no such function: {', '.join(unknown)}", file=sys.stderr)
        return 2
    for function, event in events.items():
        if only and function not in only:
            continue
        request = urllib.request.Request(
            f"{api}/2015-03-31/functions/{function}/invocations",
            data=json.dumps(event).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            urllib.request.urlopen(request, timeout=timeout).read()
        except Exception as error:  # any failure names the function
            print(f"invoke_all: {function} did not answer: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 600, sys.argv[3:]))
