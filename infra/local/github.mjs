// The local stack's stand-in for GitHub's secret scanning: a P-256 key pair of its own (made once
// into the stack's state folder), its public key served as GitHub serves its list
// (https://api.github.com/meta/public_keys/secret_scanning), and reports signed and posted the way
// GitHub posts them to a partner's endpoint. Node's own crypto signs, so what the functions verify
// was made by another implementation than theirs.
//
//   node github.mjs serve  STATE PORT              serves GET /meta/public_keys/secret_scanning
//   node github.mjs report STATE API_URL KEY...    posts a signed report of KEY... to /api/v1/leaks/github
//   node github.mjs sign   STATE                   signs stdin: prints {"key_identifier", "signature"}
import { createHash, generateKeyPairSync, createPrivateKey, createPublicKey, sign } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";

function keyPair(state) {
  const dir = join(state, "github");
  const privatePath = join(dir, "scanning-private.pem");
  if (!existsSync(privatePath)) {
    mkdirSync(dir, { recursive: true });
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    writeFileSync(privatePath, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  }
  const privateKey = createPrivateKey(readFileSync(privatePath));
  const publicKey = createPublicKey(privateKey);
  const der = publicKey.export({ type: "spki", format: "der" });
  return {
    privateKey,
    // GitHub's identifiers are 64 hex characters: a SHA-256 of the key does as well here.
    id: createHash("sha256").update(der).digest("hex"),
    pem: publicKey.export({ type: "spki", format: "pem" }),
  };
}

function signed(state, body) {
  const { privateKey, id } = keyPair(state);
  // ECDSA over SHA-256, DER-encoded (node's default for EC keys), base64: GitHub's header.
  return { key_identifier: id, signature: sign("sha256", Buffer.from(body), privateKey).toString("base64") };
}

function serve(state, port) {
  const { id, pem } = keyPair(state);
  const list = JSON.stringify({ public_keys: [{ key_identifier: id, key: pem, is_current: true }] });
  createServer((request, response) => {
    if (request.method === "GET" && request.url === "/meta/public_keys/secret_scanning") {
      response.writeHead(200, { "content-type": "application/json" }).end(list);
    } else {
      response.writeHead(404, { "content-type": "application/json" }).end('{"message":"Not Found"}');
    }
  }).listen(Number(port), "127.0.0.1", () => console.log(`secret scanning keys on port ${port}: ${id}`));
}

async function report(state, api, tokens) {
  if (tokens.length === 0) {
    console.error("usage: report-leak KEY...");
    process.exit(2);
  }
  const body = JSON.stringify(
    tokens.map((token) => ({
      token,
      type: "latchkey_api_key",
      url: "https://github.com/octo-org/octo-repo/blob/main/config.env",
      source: "content",
    })),
  );
  const { key_identifier, signature } = signed(state, body);
  const response = await fetch(`${api}/api/v1/leaks/github`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "Github-Public-Key-Identifier": key_identifier,
      "Github-Public-Key-Signature": signature,
    },
    body,
  });
  console.log(`${response.status} ${await response.text()}`);
  process.exit(response.ok ? 0 : 1);
}

const [command, state, ...rest] = process.argv.slice(2);
if (command === "serve") {
  serve(state, rest[0]);
} else if (command === "report") {
  await report(state, rest[0], rest.slice(1));
} else if (command === "sign") {
  console.log(JSON.stringify(signed(state, readFileSync(0))));
} else {
  console.error("usage: github.mjs serve STATE PORT | report STATE API_URL KEY... | sign STATE");
  process.exit(2);
}
