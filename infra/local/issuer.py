"""A stand-in OpenID Connect issuer for the local stack: discovery and JWKS, nothing else yet.

    python infra/local/issuer.py <state dir> <port>

On first start it makes its signing keys (an RSA 2048 key, kid `local-rsa-1`, and a P-256 key,
kid `local-ec-1`) in `<state dir>/issuer/`, which is git-ignored and never leaves the machine: the
tests sign Cognito-style tokens with them, and the local Latchkey trusts this issuer
(`LATCHKEY_OIDC_ISSUER`). Serves:

- `GET /.well-known/openid-configuration`: the discovery document (`issuer`, `jwks_uri`);
- `GET /jwks.json`: the public keys, each fetch logged to `<state dir>/issuer/jwks-fetches.log`,
  so the tests can count how often Latchkey asks.
"""

import base64
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def b64(n, length):
    return base64.urlsafe_b64encode(n.to_bytes(length, "big")).rstrip(b"=").decode()


def private_key(path, make):
    if not os.path.exists(path):
        key = make()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(pem)
    with open(path, "rb") as pem:
        return serialization.load_pem_private_key(pem.read(), None)


def keys(folder):
    rsa_key = private_key(
        os.path.join(folder, "rsa.pem"),
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )
    ec_key = private_key(os.path.join(folder, "ec.pem"), lambda: ec.generate_private_key(ec.SECP256R1()))
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with open(os.path.join(folder, "rsa.pub.pem"), "wb") as out:
        out.write(public_pem)
    n = rsa_key.public_key().public_numbers()
    p = ec_key.public_key().public_numbers()
    return {
        "keys": [
            {"kty": "RSA", "kid": "local-rsa-1", "use": "sig", "alg": "RS256",
             "n": b64(n.n, 256), "e": b64(n.e, 3)},
            {"kty": "EC", "kid": "local-ec-1", "use": "sig", "alg": "ES256", "crv": "P-256",
             "x": b64(p.x, 32), "y": b64(p.y, 32)},
        ]
    }


def main():
    state, port = sys.argv[1], int(sys.argv[2])
    folder = os.path.join(state, "issuer")
    os.makedirs(folder, exist_ok=True)
    jwks = json.dumps(keys(folder)).encode()
    issuer = f"http://127.0.0.1:{port}"
    discovery = json.dumps({
        "issuer": issuer,
        "jwks_uri": f"{issuer}/jwks.json",
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
    }).encode()
    fetches = os.path.join(folder, "jwks-fetches.log")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/.well-known/openid-configuration":
                body = discovery
            elif self.path == "/jwks.json":
                body = jwks
                with lock, open(fetches, "a") as log:
                    log.write("fetch\n")
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
