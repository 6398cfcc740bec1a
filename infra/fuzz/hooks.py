"""Schemathesis hooks for Latchkey's contract fuzzing (loaded through SCHEMATHESIS_HOOKS).

cargo lambda watch, the local stand-in for API Gateway, answers a JSON request whose body is not
UTF-8 with its own 500 before any function runs (it builds the event with String::from_utf8).
API Gateway delivers such a body base64-encoded instead, and the functions answer it with a 400;
tests/http_fuzz_regressions.rs proves that through the Lambda invoke API. Only those bodies are
dropped here: every other malformed body, UTF-8 garbage included, still reaches the functions.
"""

import schemathesis


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
