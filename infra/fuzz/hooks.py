"""Schemathesis hooks for Latchkey's contract fuzzing (loaded through SCHEMATHESIS_HOOKS).

Two keep the fuzzer's own credentials usable for the whole run:

- The API-key run authenticates with the keys in LATCHKEY_FUZZ_API_KEYS in turn, so it stays
  under each key's hourly rate limit.
- No request may revoke, rotate, regenerate, delete, disable or restrict a key whose id (or
  number) is in LATCHKEY_FUZZ_KEY_IDS: such a request is sent for a random id instead (a 404,
  which the document lists). Without this the session run deleted the API-key run's key, and every
  later request of that run was a 401.

One drops a false report of the fuzzer: a "schema-violating request accepted" whose body the
operation's whole request schema accepts (a `oneOf` branch mutated into another branch) is not
kept; every one is written to LATCHKEY_FUZZ_VALID_NEGATIVES_LOG, which the summary counts. And a
"created resource not found" whose request names no id a successful POST answered with is not
kept either (printed instead): it is not about a created resource.

One aims the fuzzer: a `company_id` or `tenantUrlCode` path parameter is set to the run's workspace
(LATCHKEY_FUZZ_WORKSPACE), so spartera's and cartovista's operations reach their handlers and
validation instead of answering every case with the 404 of a workspace that is not the caller's.

One treats the contract's own 503 as the contract asks a client to: a request answered 503
`unavailable` (a storage call past its budget: DynamoDB Local now and then stalls on two busy
cores) is sent once more after its Retry-After, and the failure kept only if that answer is a 5xx
too; each is written to LATCHKEY_FUZZ_UNAVAILABLE_LOG, which the summary counts.

The others are about cargo lambda watch, the local stand-in for API Gateway and Lambda, never
about the functions:

- It answers a JSON request whose body is not UTF-8 with its own 500 before any function runs (it
  builds the event with String::from_utf8). API Gateway delivers such a body base64-encoded, and
  the functions answer that with a 400 (infra/events/api-keys-create-binary-body.json, replayed by
  tests/it/event_fixtures.rs). Only those bodies are skipped: every other malformed body, UTF-8
  garbage included, still reaches the functions.
- Rarely (about once in several thousand requests) it answers a request with its own 500, a
  problem+json body no function produces (a function's 5xx is the contract's ErrorBody, a crash
  is Lambda's errorType/errorMessage). Such a failure is kept unless the same request, sent again,
  is answered below 500 (it is sent up to three times); every one is written to the file named by LATCHKEY_FUZZ_EMULATOR_LOG,
  which the summary counts.
"""

import itertools
import json
import os
import re
import time
import uuid

import requests
import schemathesis

EMULATOR_500 = b'"type":"https://httpstatuses.com/500"'


_API_KEYS = os.environ.get("LATCHKEY_FUZZ_API_KEYS", "").split()
_OWN_KEY_IDS = set(os.environ.get("LATCHKEY_FUZZ_KEY_IDS", "").split())
_WORKSPACE = os.environ.get("LATCHKEY_FUZZ_WORKSPACE")

if _API_KEYS:

    @schemathesis.auth(refresh_interval=None)
    class ApiKeysInTurn:
        """X-API-KEY from the fuzzing keys, one after another."""

        def __init__(self):
            self._keys = itertools.cycle(_API_KEYS)

        def get(self, case, ctx):
            return next(self._keys)

        def set(self, case, data, ctx):
            case.headers = {**(case.headers or {}), "X-API-KEY": data}


@schemathesis.hook
def before_call(context, case, kwargs):
    params = case.path_parameters or {}
    for workspace in ("company_id", "tenantUrlCode"):
        if _WORKSPACE and workspace in params:
            params = {**params, workspace: _WORKSPACE}
            case.path_parameters = params
    for name in ("api_key_id", "apiKeyId", "id"):
        target = params.get(name)
        if case.method.upper() != "GET" and isinstance(target, str) and target in _OWN_KEY_IDS:
            params = {**params, name: str(uuid.uuid4())}
            case.path_parameters = params


def _utf8(body) -> bool:
    data = getattr(body, "data", body)
    if isinstance(data, (bytes, bytearray)):
        try:
            bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


@schemathesis.hook
def filter_case(context, case) -> bool:
    return _utf8(case.body)


# One retry per response, however many checks it failed.
_retried: dict[int, int] = {}


def _document():
    path = os.environ.get("LATCHKEY_FUZZ_DOCUMENT")
    return json.load(open(path)) if path else None


_DOCUMENT = _document()


def _body_is_valid(case) -> bool:
    """Whether a case meant to break the schema only in its body sent a body the operation's whole
    request schema accepts. Schemathesis mutates one branch of a `oneOf` without checking the
    result against the others: `{"scope": "device"}` without `device_ids`, then with `scope` set
    to `tag` and `tags` present, is a valid tag-scoped erasure, and Latchkey rightly takes it."""
    meta = getattr(case, "meta", None)
    components = getattr(meta, "components", None) or {}
    negative = [loc.name for loc, info in components.items() if info.mode.is_negative]
    if _DOCUMENT is None or negative != ["BODY"]:
        return False
    pointer = "/".join(
        part.replace("~", "~0").replace("/", "~1")
        for part in ("paths", case.operation.path, case.method.lower(), "requestBody", "content",
                     "application/json", "schema")
    )
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(
        {**_DOCUMENT, "$ref": f"#/{pointer}"}, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return validator.is_valid(case.body)


# Every id a successful POST answered with: what "created resource not found" may be about.
_CREATED: set[str] = set()
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@schemathesis.hook
def after_call(context, case, response):
    if case.method.upper() == "POST" and 200 <= response.status_code < 300:
        _CREATED.update(_UUID.findall(response.text))


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    # "Created resource not found" is about a resource a POST made. A request whose path names
    # none (before_call sends a request for one of the run's own keys to a random id; once in
    # about ten runs Schemathesis 4.32 sent a linked PATCH to another id than the link's, which
    # it recorded) says nothing of one.
    if type(failure).__name__ == "EnsureResourceAvailability" and response is not None:
        named = _UUID.findall(response.request.url)
        if named and not any(target in _CREATED for target in named):
            print(f"dropped a 'created resource not found' for {response.request.url}: it names no resource a POST made")
            return False
    if type(failure).__name__ == "AcceptedNegativeData" and _body_is_valid(case):
        path = os.environ.get("LATCHKEY_FUZZ_VALID_NEGATIVES_LOG")
        if path:
            with open(path, "a") as log:
                # default=repr: a case without a body carries Schemathesis's NotSet.
                log.write(json.dumps({"operation": f"{case.method} {case.operation.path}", "body": case.body}, default=repr) + "\n")
        return False
    if response is not None and response.status_code == 503 and UNAVAILABLE in response.content:
        return _unavailable_again(response)
    if response is None or response.status_code != 500 or EMULATOR_500 not in response.content:
        return True
    key = id(response)
    if key not in _retried:
        # Sent again up to five times, further apart each time: on two busy cores the emulator
        # can fail the same answer three times in a row (seen once, with the audit stream's work
        # beside the fuzzing).
        for attempt in range(5):
            _retried[key] = requests.Session().send(response.request, timeout=30).status_code
            if _retried[key] < 500:
                break
            time.sleep(attempt + 1)
        path = os.environ.get("LATCHKEY_FUZZ_EMULATOR_LOG")
        if path:
            record = {
                "request": f"{response.request.method} {response.request.url}",
                "retried_status": _retried[key],
            }
            with open(path, "a") as log:
                log.write(json.dumps(record) + "\n")
    return _retried[key] >= 500


# The contract's 503: a storage call outlived its budget (DynamoDB Local now and then stalls on two
# busy cores), answered with Retry-After, which the contract asks clients to honour.
UNAVAILABLE = b'"code":"unavailable"'


def _unavailable_again(response) -> bool:
    """Sends a request answered with the contract's 503 again after its Retry-After (at most 3 s,
    up to three times while the answer is that 503 again), as a client does; the failure stands
    only if the last answer is a 5xx too. Every such request is written to
    LATCHKEY_FUZZ_UNAVAILABLE_LOG, which the summary counts."""
    key = id(response)
    if key not in _retried:
        # Schemathesis keeps each header as the list of its values.
        raw = response.headers.get("retry-after") or ["1"]
        raw = raw[0] if isinstance(raw, list) else raw
        try:
            wait = min(float(raw), 3.0)
        except ValueError:
            wait = 1.0
        for attempt in range(3):
            time.sleep(wait * (attempt + 1))
            again = requests.Session().send(response.request, timeout=30)
            _retried[key] = again.status_code
            if again.status_code != 503 or UNAVAILABLE not in again.content:
                break
        path = os.environ.get("LATCHKEY_FUZZ_UNAVAILABLE_LOG")
        if path:
            record = {"request": f"{response.request.method} {response.request.url}", "retried_status": _retried[key]}
            with open(path, "a") as log:
                log.write(json.dumps(record) + "\n")
    return _retried[key] >= 500
