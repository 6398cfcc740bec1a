"""Shared fixtures of the client-SDK suites: the stack's URL and session tokens for new users."""

import asyncio
import json
import os
import subprocess
import urllib.request
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def session_token(sub, workspace, role="owner", email=None):
    """A session token for `sub` in `workspace`, signed by the stack's own dev-token command."""
    out = subprocess.run(
        [
            os.path.join(ROOT, "target", "debug", "dev-token"),
            "--sub", sub,
            "--email", email or f"{sub}@example.test",
            "--name", "SDK Tester",
            "--workspace", workspace,
            "--role", role,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


@pytest.fixture
def api_url():
    return os.environ["LATCHKEY_API_URL"]


@pytest.fixture
def owner():
    """A fresh owner of a fresh workspace: (user id, workspace id, token)."""
    sub, workspace = str(uuid.uuid4()), str(uuid.uuid4())
    return sub, workspace, session_token(sub, workspace)


def run(coroutine):
    return asyncio.run(coroutine)


def verify(api_url, key):
    """POST /api/v1/keys/verify, as a service that keys protect would call it."""
    request = urllib.request.Request(
        f"{api_url}/api/v1/keys/verify",
        data=json.dumps({"key": key}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())
