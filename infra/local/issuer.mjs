// The local stack's OpenID Connect provider: the npm package `oidc-provider` (installed by
// infra/local/lib.sh into .tools/node), configured the way a SaaS team's Cognito user pool is.
//
//   node infra/local/issuer.mjs <state dir> <port> <node_modules holding oidc-provider>
//
// - Signing keys: made on first start in `<state dir>/issuer/` (git-ignored, never leaving the
//   machine): an RSA 2048 key (kid `local-rsa-1`, RS256, what id and access tokens are signed with)
//   and a P-256 key (kid `local-ec-1`, ES256). The tests sign tokens of their own with them.
// - One confidential client, Latchkey: `LATCHKEY_OIDC_CLIENT_ID` with `LATCHKEY_OIDC_CLIENT_SECRET`,
//   redirect URIs `LATCHKEY_OIDC_REDIRECT_URIS` (space-separated), the code flow with PKCE (S256).
// - The development sign-in of CONTRACT.md: the authorization endpoint, given `login_hint=<sub>`
//   (and optionally `email`, `name`, `workspace_id`, `role`), signs that user in without a form,
//   grants what the client asked for, and redirects to `<redirect_uri>?code=...&state=...`
//   through its own interaction URLs (cookies kept). Without `login_hint`: 400.
// - Tokens: id tokens carry `email`, `name`, `custom:workspace_id` and `custom:role` (Cognito's
//   names); access tokens are RS256 JWTs for the audience `LATCHKEY_OIDC_CLIENT_ID`, with the same
//   claims, as Cognito's carry `client_id`.
// - Every JWKS fetch is appended to `<state dir>/issuer/jwks-fetches.log`, so tests can count how
//   often Latchkey asks.

import { generateKeyPairSync, createPrivateKey, createPublicKey } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [state, port, modules] = process.argv.slice(2);
if (!state || !port || !modules) {
  console.error("usage: node issuer.mjs <state dir> <port> <node_modules holding oidc-provider>");
  process.exit(2);
}
// Imported by path: the package lives in .tools/node, not beside this script.
const { default: Provider } = await import(pathToFileURL(join(modules, "oidc-provider", "lib", "index.js")));
const folder = join(state, "issuer");
mkdirSync(folder, { recursive: true });

function privateKey(file, make) {
  const path = join(folder, file);
  if (!existsSync(path)) {
    const { privateKey } = make();
    writeFileSync(path, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  }
  return createPrivateKey(readFileSync(path));
}

const rsa = privateKey("rsa.pem", () => generateKeyPairSync("rsa", { modulusLength: 2048 }));
const ec = privateKey("ec.pem", () => generateKeyPairSync("ec", { namedCurve: "P-256" }));
writeFileSync(join(folder, "rsa.pub.pem"), createPublicKey(rsa).export({ type: "spki", format: "pem" }));

const clientId = process.env.LATCHKEY_OIDC_CLIENT_ID || "latchkey-local";
const clientSecret = process.env.LATCHKEY_OIDC_CLIENT_SECRET;
if (!clientSecret) {
  console.error("LATCHKEY_OIDC_CLIENT_SECRET is not set (infra/local/stack.env sets it)");
  process.exit(2);
}
const redirectUris = (process.env.LATCHKEY_OIDC_REDIRECT_URIS || "http://localhost:5173").split(/\s+/).filter(Boolean);
const issuer = `http://127.0.0.1:${port}`;
const resource = "urn:latchkey:api";

// What each user signed in with: the claims their tokens carry.
const accounts = new Map();

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
      id_token_signed_response_alg: "RS256",
    },
  ],
  jwks: {
    keys: [
      { ...rsa.export({ format: "jwk" }), kid: "local-rsa-1", alg: "RS256", use: "sig" },
      { ...ec.export({ format: "jwk" }), kid: "local-ec-1", alg: "ES256", use: "sig" },
    ],
  },
  cookies: { keys: ["latchkey-local-provider-cookies"] },
  extraParams: ["email", "name", "workspace_id", "role"],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "custom:workspace_id", "custom:role"],
  },
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: "latchkey",
        audience: clientId,
        accessTokenFormat: "jwt",
        jwt: { sign: { alg: "RS256" } },
      }),
    },
  },
  async extraTokenClaims(_ctx, token) {
    const account = accounts.get(token.accountId);
    return account ? claimsOf(token.accountId, account) : undefined;
  },
  async findAccount(_ctx, sub) {
    const account = accounts.get(sub) ?? {};
    return { accountId: sub, claims: async () => ({ sub, ...claimsOf(sub, account) }) };
  },
});

function claimsOf(sub, account) {
  const claims = { email: account.email ?? `${sub}@example.test`, email_verified: true };
  if (account.name) claims.name = account.name;
  if (account.workspace_id) claims["custom:workspace_id"] = account.workspace_id;
  if (account.role) claims["custom:role"] = account.role;
  return claims;
}

// The development sign-in: `login_hint` is the user; every grant asked for is given.
async function interact(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  if (prompt.name === "login") {
    // Without login_hint, a person signs in with the form below (the console's sign-in).
    const given = params.login_hint ? params : req.method === "POST" ? await formBody(req) : null;
    if (!given) {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
      res.end(loginForm(details.uid));
      return;
    }
    const sub = (given.login_hint || "").trim();
    if (!/^[A-Za-z0-9_.@-]{1,128}$/.test(sub)) {
      res.writeHead(400, { "Content-Type": "text/plain" });
      res.end("A user id is 1 to 128 letters, digits and _ . @ -.");
      return;
    }
    const blank = (v) => (v && String(v).trim()) || undefined;
    accounts.set(sub, { email: blank(given.email), name: blank(given.name), workspace_id: blank(given.workspace_id), role: blank(given.role) });
    await provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(" "));
  }
  grant.addResourceScope(resource, "latchkey");
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

async function formBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
}

// The development provider's sign-in page: who to be, in which workspace, with which role.
function loginForm(uid) {
  const field = (name, label, extra = "") =>
    `<p><label for="${name}">${label}</label><br><input id="${name}" name="${name}" ${extra}></p>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in · local provider</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 28rem; margin: 3rem auto; padding: 0 1rem">
<h1>Local sign-in</h1>
<p>The local stack's OpenID provider: anyone may sign in as anyone. Never deploy it.</p>
<form method="post" action="/interaction/${uid}">
${field("login_hint", "User id", 'required autocomplete="username" value="dev-user"')}
${field("email", "Email", 'type="email" autocomplete="email" value="dev-user@example.test"')}
${field("name", "Name", 'autocomplete="name" value="Dev User"')}
${field("workspace_id", "Workspace (blank: a personal one)", "")}
<p><label for="role">Role</label><br><select id="role" name="role">
<option value="">(none: owner of a personal workspace)</option><option>owner</option><option>admin</option><option>member</option><option>viewer</option></select></p>
<p><button type="submit">Sign in</button></p>
</form></body></html>`;
}

const handle = provider.callback();
const fetches = join(folder, "jwks-fetches.log");
createServer((req, res) => {
  if (req.url === "/jwks") appendFileSync(fetches, "fetch\n");
  if (req.url.startsWith("/interaction/")) {
    interact(req, res).catch((err) => {
      console.error(err);
      if (!res.headersSent) res.writeHead(400, { "Content-Type": "text/plain" });
      res.end(`sign-in failed: ${err.message}`);
    });
    return;
  }
  handle(req, res);
}).listen(Number(port), "127.0.0.1", () => console.log(`OpenID provider ${issuer} for client ${clientId}`));
