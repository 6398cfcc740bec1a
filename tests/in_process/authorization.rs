//! Authorization as an attacker tries it, in process (every family's router and the console's
//! over memory): the role ceiling of a key, workspace reach, and no loosening by a key, in every
//! family and the console, and trailing JSON (issue 23). What only the stack shows (a hostile
//! `Host` as API Gateway's event, a report read back from the table) is in
//! `tests/it/http_authorization.rs`; account deletion's sessions in `http_signin`, verify's timing
//! in `verification`.
//!
//! The matrix runs every caller (owner, admin, member and viewer sessions; keys of each role,
//! limited to 5 a day and expiring in 2 days) against every key operation of every family that
//! has it, plus a token for another workspace of the same user against each of them. A cell the
//! family has no operation for is listed in [`Family::has`] and skipped; nothing else is (a key
//! against the console asserts that the console does not take it). A second matrix runs the same
//! callers against every workspace-administration route (webhooks, the leak policy, the audit
//! log's integrity check, erasure), and checks that a refused change left the workspace as it was.

use chrono::{Duration, Utc};
use futures_util::{StreamExt, stream};
use latchkey_core::auth::Role;
use latchkey_tests::{Api, Auth, Reply, as_key, console::Browser, in_process::issuer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A session of `user` in `workspace` with `role`.
fn session(user: &str, workspace: &str, role: Role) -> Auth {
    let issuer = issuer();
    let mut claims = issuer.claims(user, 3600);
    claims.email = Some(format!("{user}@example.test"));
    claims.workspace_id = Some(workspace.to_owned());
    claims.role = Some(role);
    Auth::Bearer(issuer.sign(&claims))
}

/// The keys `auth` lists through the native API, newest first.
async fn keys_of(auth: &Auth) -> Vec<Value> {
    Api::in_process()
        .send(Method::GET, "/api/v1/account/api-keys", auth, None)
        .await
        .expect(200)
        .as_array()
        .expect("a list")
        .clone()
}

fn fresh() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn role_id(role: Role) -> u8 {
    match role {
        Role::Owner => 1,
        Role::Admin => 2,
        Role::Member => 3,
        Role::Viewer => 4,
    }
}

/// A key's settings as the native API shows them to `auth`.
async fn key_of(auth: &Auth, id: &str) -> Value {
    Api::in_process()
        .send(
            Method::GET,
            &format!("/api/v1/account/api-keys/{id}"),
            auth,
            None,
        )
        .await
        .expect(200)
}

/// Creates a key through the native API and returns its id and secret.
async fn native_key(auth: &Auth, body: Value) -> (String, String) {
    let made = Api::in_process()
        .send(Method::POST, "/api/v1/account/api-keys", auth, Some(body))
        .await
        .expect(201);
    (
        made["api_key"]["id"].as_str().unwrap().to_owned(),
        made["api_key"]["api_key"].as_str().unwrap().to_owned(),
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Session(Role),
    Key(Role),
    /// An owner token of another workspace of the key's own user.
    OtherWorkspace,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Native,
    Spartera,
    Latitude,
    Cartovista,
    Numind,
    Console,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Create,
    Update,
    Rotate,
    Regenerate,
    Expiry,
    Revoke,
    Delete,
}

impl Family {
    const ALL: [Family; 6] = [
        Self::Native,
        Self::Spartera,
        Self::Latitude,
        Self::Cartovista,
        Self::Numind,
        Self::Console,
    ];

    /// The operations the family has (cartovista's `generateSecret` and latitude.sh's PUT
    /// reissue a key: regenerate).
    fn has(self, op: Op) -> bool {
        use Op::*;
        match self {
            Self::Native | Self::Console => true,
            Self::Spartera => matches!(op, Create | Update | Expiry | Revoke | Delete),
            Self::Latitude | Self::Cartovista => {
                matches!(op, Create | Update | Regenerate | Delete)
            }
            Self::Numind => matches!(op, Create | Update | Delete),
        }
    }
}

const OPS: [Op; 7] = [
    Op::Create,
    Op::Update,
    Op::Rotate,
    Op::Regenerate,
    Op::Expiry,
    Op::Revoke,
    Op::Delete,
];

/// How a request tries the ceiling: as a user would (`Plain`), or reaching past it (`Loosen`:
/// read-write for a viewer's key; no limit or a later or no expiry for a key's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Try {
    Plain,
    Loosen,
}

/// One caller in one fresh workspace: its credential, and a session of the same user that reads
/// what changed.
struct Setup {
    workspace: String,
    /// The workspace the caller's token names.
    token_workspace: String,
    /// The caller's credential (a console caller signs in when it acts).
    auth: Auth,
    /// A session of the key owner that reads keys back.
    reader: Auth,
    user: String,
    role: Role,
    /// The key the operations act on: the caller's own, or the acting key itself.
    target: String,
    /// The acting key's limit and expiry, when the caller is a key.
    parent: Option<Value>,
}

async fn setup(who: Who) -> Setup {
    let workspace = fresh();
    let user = fresh();
    match who {
        Who::Session(role) => {
            let auth = session(&user, &workspace, role);
            let (target, _) = native_key(&auth, json!({"name": "target"})).await;
            Setup {
                token_workspace: workspace.clone(),
                workspace,
                reader: auth.clone(),
                auth,
                user,
                role,
                target,
                parent: None,
            }
        }
        Who::Key(role) => {
            let owner = session(&user, &workspace, Role::Owner);
            let expires = (Utc::now() + Duration::days(2)).to_rfc3339();
            let made = Api::in_process()
                .send(
                    Method::POST,
                    &format!("/companies/{workspace}/api-keys"),
                    &owner,
                    Some(json!({"company_id": workspace, "role_id": role_id(role), "name": "acting", "expiration_date_utc": expires})),
                )
                .await
                .expect(200);
            let secret = made["data"]["api_key"].as_str().unwrap().to_owned();
            let target = keys_of(&owner).await[0]["id"].as_str().unwrap().to_owned();
            Api::in_process()
                .send(
                    Method::PUT,
                    &format!("/api/v1/account/api-keys/{target}"),
                    &owner,
                    Some(json!({"rate_limit": {"limit": 5, "window": "day"}})),
                )
                .await
                .expect(200);
            let parent = key_of(&owner, &target).await;
            Setup {
                token_workspace: workspace.clone(),
                workspace,
                auth: as_key(&secret),
                reader: owner,
                user,
                role,
                target,
                parent: Some(parent),
            }
        }
        Who::OtherWorkspace => {
            let viewer = session(&user, &workspace, Role::Viewer);
            let (target, _) = native_key(&viewer, json!({"name": "target"})).await;
            let other = fresh();
            Setup {
                auth: session(&user, &other, Role::Owner),
                token_workspace: other,
                reader: viewer,
                workspace,
                user,
                role: Role::Owner,
                target,
                parent: None,
            }
        }
    }
}

/// What an operation answered: refused with a status, or done (with the id of a key it made).
#[derive(Debug)]
enum Outcome {
    Refused(u16),
    Done(Option<String>),
}

fn outcome(reply: Reply, made: impl Fn(&Value) -> Option<String>) -> Outcome {
    let status = reply.status.as_u16();
    if (200..300).contains(&status) {
        Outcome::Done(made(&reply.body))
    } else {
        Outcome::Refused(status)
    }
}

/// The workspace a request names: the key's; for the other-workspace caller, the one its
/// token names when it acts on the key by id (so only the id reaches across), and the key's when
/// it creates (a path naming a workspace the token does not).
fn named_workspace(s: &Setup, who: Who, op: Op) -> String {
    match (who, op) {
        (Who::OtherWorkspace, Op::Create) => s.workspace.clone(),
        (Who::OtherWorkspace, _) => s.token_workspace.clone(),
        _ => s.workspace.clone(),
    }
}

async fn act(s: &Setup, who: Who, family: Family, op: Op, attempt: Try) -> Outcome {
    let api = Api::in_process();
    let ws = named_workspace(s, who, op);
    let id = &s.target;
    let future = (Utc::now() + Duration::days(30)).to_rfc3339();
    let sooner = (Utc::now() + Duration::days(1)).to_rfc3339();
    let loosen = attempt == Try::Loosen;
    let send = |method: Method, path: String, body: Option<Value>| {
        let api = api.clone();
        let auth = s.auth.clone();
        async move { api.send(method, &path, &auth, body).await }
    };
    let fire = |method: Method, path: String, body: Option<Value>| {
        let request = send(method, path, body);
        async move { outcome(request.await, |_| None) }
    };
    match family {
        Family::Native => {
            let base = "/api/v1/account/api-keys";
            match op {
                Op::Create => {
                    let body = match (attempt, s.parent.is_some()) {
                        (Try::Plain, _) => json!({"name": "made"}),
                        (Try::Loosen, true) => json!({"name": "made", "rate_limit": null}),
                        (Try::Loosen, false) => json!({"name": "made", "read_only": false}),
                    };
                    outcome(send(Method::POST, base.into(), Some(body)).await, |b| {
                        b["api_key"]["id"].as_str().map(str::to_owned)
                    })
                }
                Op::Update => {
                    let body = match (attempt, s.parent.is_some()) {
                        (Try::Plain, _) => json!({"name": "renamed"}),
                        (Try::Loosen, true) => json!({"rate_limit": null}),
                        (Try::Loosen, false) => json!({"read_only": false}),
                    };
                    fire(Method::PUT, format!("{base}/{id}"), Some(body)).await
                }
                Op::Rotate => outcome(
                    send(
                        Method::POST,
                        format!("{base}/{id}/rotate?grace_period_days=1"),
                        None,
                    )
                    .await,
                    |b| b["api_key"]["id"].as_str().map(str::to_owned),
                ),
                Op::Regenerate => fire(Method::POST, format!("{base}/{id}/regenerate"), None).await,
                Op::Expiry => {
                    let path = if loosen {
                        format!("{base}/{id}/expiration")
                    } else {
                        let query = serde_urlencoded::to_string([("expires_at", &sooner)]).unwrap();
                        format!("{base}/{id}/expiration?{query}")
                    };
                    fire(Method::PATCH, path, None).await
                }
                Op::Revoke => {
                    fire(
                        Method::POST,
                        format!("{base}/{id}/revoke"),
                        Some(json!({"reason": "matrix"})),
                    )
                    .await
                }
                Op::Delete => fire(Method::DELETE, format!("{base}/{id}"), None).await,
            }
        }
        Family::Spartera => {
            let base = format!("/companies/{ws}/api-keys");
            let role = if loosen && s.parent.is_none() {
                Role::Member
            } else {
                s.role
            };
            match op {
                Op::Create => {
                    let mut body =
                        json!({"company_id": ws, "role_id": role_id(role), "name": "made"});
                    if loosen && s.parent.is_some() {
                        body["expiration_date_utc"] = json!(future);
                    }
                    let made = send(Method::POST, base.clone(), Some(body)).await;
                    let number = made.body["data"]["api_key_id"].as_str().map(str::to_owned);
                    match outcome(made, |_| None) {
                        Outcome::Done(_) => {
                            let listed = keys_of(&s.reader).await;
                            let id = listed
                                .iter()
                                .find(|k| Some(k["number"].to_string()) == number);
                            Outcome::Done(id.map(|k| k["id"].as_str().unwrap().to_owned()))
                        }
                        refused => refused,
                    }
                }
                Op::Update | Op::Expiry => {
                    let body = match (attempt, s.parent.is_some(), op) {
                        (Try::Plain, _, Op::Update) => json!({"name": "renamed"}),
                        (Try::Plain, _, _) => json!({"expiration_date_utc": sooner}),
                        (Try::Loosen, true, _) => json!({"expiration_date_utc": null}),
                        (Try::Loosen, false, _) => json!({"role_id": role_id(role)}),
                    };
                    fire(Method::PATCH, format!("{base}/{id}"), Some(body)).await
                }
                Op::Revoke => {
                    fire(Method::POST, format!("{base}/{id}/revoke"), Some(json!({}))).await
                }
                Op::Delete => fire(Method::DELETE, format!("{base}/{id}"), None).await,
                Op::Rotate | Op::Regenerate => unreachable!("spartera has neither"),
            }
        }
        Family::Latitude => {
            let attributes = if loosen {
                json!({"name": "made", "read_only": false})
            } else {
                json!({"name": "made"})
            };
            match op {
                Op::Create => outcome(
                    send(
                        Method::POST,
                        "/auth/api_keys".into(),
                        Some(json!({"data": {"type": "api_keys", "attributes": attributes}})),
                    )
                    .await,
                    |b| b["data"]["id"].as_str().map(str::to_owned),
                ),
                Op::Update | Op::Regenerate => {
                    let method = if op == Op::Update {
                        Method::PATCH
                    } else {
                        Method::PUT
                    };
                    fire(
                            method,
                            format!("/auth/api_keys/{id}"),
                            Some(json!({"data": {"type": "api_keys", "id": id, "attributes": attributes}})),
                        ).await
                }
                Op::Delete => fire(Method::DELETE, format!("/auth/api_keys/{id}"), None).await,
                _ => unreachable!("latitude.sh has no {op:?}"),
            }
        }
        Family::Cartovista => match op {
            Op::Create => outcome(
                send(
                    Method::POST,
                    format!("/{ws}/api/v2/User/current/ApiKey"),
                    Some(json!({"notes": "made"})),
                )
                .await,
                |b| b["accessKey"].as_str().map(str::to_owned),
            ),
            Op::Update => {
                let body = if loosen {
                    json!({"accessKey": id, "mode": 0})
                } else {
                    json!({"accessKey": id, "notes": "changed"})
                };
                fire(Method::POST, format!("/{ws}/api/v2/ApiKey"), Some(body)).await
            }
            Op::Regenerate => {
                fire(
                    Method::POST,
                    format!("/{ws}/api/v2/ApiKey/{id}/generateSecret"),
                    None,
                )
                .await
            }
            Op::Delete => fire(Method::DELETE, format!("/{ws}/api/v2/ApiKey/{id}"), None).await,
            _ => unreachable!("cartovista has no {op:?}"),
        },
        Family::Numind => match op {
            Op::Create => outcome(
                send(
                    Method::POST,
                    "/api/auth/api-keys".into(),
                    Some(json!({"name": "made", "maybeOrga": ws})),
                )
                .await,
                |b| b["id"].as_str().map(str::to_owned),
            ),
            Op::Update => {
                fire(
                    Method::PUT,
                    format!("/api/auth/api-keys/{id}"),
                    Some(json!({"name": "renamed"})),
                )
                .await
            }
            Op::Delete => fire(Method::DELETE, format!("/api/auth/api-keys/{id}"), None).await,
            _ => unreachable!("numind has no {op:?}"),
        },
        Family::Console => console_act(s, who, op, attempt).await,
    }
}

/// The console is for people: its caller is a session (signed in, here, as the callback would).
async fn console_act(s: &Setup, who: Who, op: Op, attempt: Try) -> Outcome {
    let workspace = named_workspace(s, who, op);
    let role = match who {
        Who::Session(role) => role,
        _ => Role::Owner,
    };
    let mut browser = Browser::in_process_signed_in_as(&s.user, Some(&workspace), Some(role));
    let id = &s.target;
    let page = browser
        .get(&match op {
            Op::Create => "/console/keys/new".to_owned(),
            _ => format!("/console/keys/{id}"),
        })
        .await;
    if page.status != StatusCode::OK {
        return Outcome::Refused(page.status.as_u16());
    }
    let csrf = page.csrf();
    let loosen = attempt == Try::Loosen;
    let mut form = vec![("csrf", csrf.clone())];
    let path = match op {
        Op::Create => {
            form.push(("name", "made".into()));
            "/console/keys".to_owned()
        }
        Op::Update => {
            form.extend([("name", "renamed".into()), ("enabled", "on".into())]);
            form.extend([
                ("rate_limit", "1000".into()),
                ("rate_window", "hour".into()),
            ]);
            if !loosen {
                form.push(("read_only", "on".into()));
            }
            format!("/console/keys/{id}")
        }
        Op::Rotate => {
            form.push(("grace_period_days", "1".into()));
            format!("/console/keys/{id}/rotate")
        }
        Op::Regenerate => format!("/console/keys/{id}/regenerate"),
        Op::Expiry => {
            form.push((
                "expires_at",
                (Utc::now() + Duration::days(3))
                    .format("%Y-%m-%d")
                    .to_string(),
            ));
            format!("/console/keys/{id}/expiry")
        }
        Op::Revoke => {
            form.push(("reason", "matrix".into()));
            format!("/console/keys/{id}/revoke")
        }
        Op::Delete => format!("/console/keys/{id}/delete"),
    };
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = browser.post(&path, &pairs).await;
    match done.status.as_u16() {
        200 | 303 => {
            let made = match op {
                Op::Create | Op::Rotate => keys_of(&browser.session()).await[0]["id"]
                    .as_str()
                    .map(str::to_owned),
                _ => None,
            };
            Outcome::Done(made)
        }
        status => Outcome::Refused(status),
    }
}

/// A key presented to the console's page or form for `op`: sent to sign in, nothing done.
async fn console_refuses_a_key(s: &Setup, op: Op) -> Result<(), String> {
    let Auth::ApiKey(key) = &s.auth else {
        unreachable!("a key caller's credential is its key")
    };
    let path = match op {
        Op::Create => "/console/keys".to_owned(),
        Op::Update => format!("/console/keys/{}", s.target),
        Op::Rotate => format!("/console/keys/{}/rotate", s.target),
        Op::Regenerate => format!("/console/keys/{}/regenerate", s.target),
        Op::Expiry => format!("/console/keys/{}/expiry", s.target),
        Op::Revoke => format!("/console/keys/{}/revoke", s.target),
        Op::Delete => format!("/console/keys/{}/delete", s.target),
    };
    let mut browser = Browser::in_process();
    for (name, value) in [
        ("x-api-key", key.clone()),
        ("authorization", format!("Bearer {key}")),
    ] {
        let request = browser
            .http
            .post(format!("{}{path}", browser.base))
            .header(name, &value)
            .form(&[("name", "by a key"), ("reason", "by a key")]);
        let reply = browser.send(request).await;
        let location = reply
            .headers
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        if reply.status != StatusCode::SEE_OTHER
            || !location.as_deref().is_some_and(|l| l.contains("signin"))
        {
            return Err(format!("{name}: {} to {location:?}", reply.status));
        }
    }
    let key = key_of(&s.reader, &s.target).await;
    if key["revoked_at"] != Value::Null || key["name"] != "acting" {
        return Err(format!("the key changed: {key}"));
    }
    Ok(())
}

/// A cell whose set-up or checks panicked (an unexpected status) as a failed cell.
async fn cell_caught(who: Who, family: Family, op: Op) -> Result<(), String> {
    use futures_util::FutureExt;
    std::panic::AssertUnwindSafe(cell(who, family, op))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Err(format!("{who:?} × {family:?} × {op:?} panicked: {message}"))
        })
}

/// Runs one cell and checks the rules it falls under; an error names what broke.
async fn cell(who: Who, family: Family, op: Op) -> Result<(), String> {
    let s = setup(who).await;
    let here = format!("{who:?} × {family:?} × {op:?}");
    if who == Who::OtherWorkspace {
        // Workspace reach: the same user's key in another workspace does not exist for this
        // token, by id in every family, and a create in a path naming that workspace is refused
        // the same way. (Native, latitude.sh and the console name no workspace on a create.)
        if op == Op::Create && matches!(family, Family::Native | Family::Latitude | Family::Console)
        {
            return Ok(());
        }
        let attempt = if op == Op::Update {
            Try::Loosen
        } else {
            Try::Plain
        };
        return match act(&s, who, family, op, attempt).await {
            Outcome::Refused(404) => {
                let key = key_of(&s.reader, &s.target).await;
                if key["read_only"] != true || key["revoked_at"] != Value::Null {
                    return Err(format!("{here}: the key changed anyway: {key}"));
                }
                Ok(())
            }
            other => Err(format!("{here}: {other:?}, not 404")),
        };
    }
    if family == Family::Console && matches!(who, Who::Key(_)) {
        // The console signs people in: a key, in any header it is accepted in elsewhere, opens
        // none of its pages (each sends the visitor to sign in).
        return console_refuses_a_key(&s, op)
            .await
            .map_err(|e| format!("{here}: {e}"));
    }
    match who {
        Who::Key(Role::Viewer) => match act(&s, who, family, op, Try::Plain).await {
            Outcome::Refused(403) => Ok(()),
            other => Err(format!("{here}: a read-only key's change was {other:?}")),
        },
        Who::Session(role) => {
            let viewer = role == Role::Viewer;
            let loosened = act(&s, who, family, op, Try::Loosen).await;
            // Where the family's request can ask for a read-write key.
            let expressible = matches!(
                (family, op),
                (Family::Native, Op::Create | Op::Update)
                    | (Family::Spartera, Op::Create | Op::Update | Op::Expiry)
                    | (Family::Latitude, Op::Create | Op::Update | Op::Regenerate)
                    | (Family::Cartovista | Family::Console, Op::Update)
            );
            let made = match (viewer, expressible, loosened) {
                (true, true, Outcome::Refused(403)) => {
                    // Refused, and the key is still read-only; the plain request still works.
                    match act(&s, who, family, op, Try::Plain).await {
                        Outcome::Done(made) => made,
                        other => return Err(format!("{here}: the plain request was {other:?}")),
                    }
                }
                (true, true, other) => {
                    return Err(format!(
                        "{here}: a viewer's read-write request was {other:?}"
                    ));
                }
                (_, _, Outcome::Done(made)) => made,
                (_, _, other) => return Err(format!("{here}: refused: {other:?}")),
            };
            let checked = match op {
                Op::Create | Op::Rotate => made,
                Op::Delete => None,
                _ => Some(s.target.clone()),
            };
            if let Some(id) = checked {
                let key = key_of(&s.reader, &id).await;
                let read_only = key["read_only"] == true;
                let owner_wants_read_write =
                    !viewer && matches!(op, Op::Create | Op::Update) && expressible;
                if viewer && !read_only {
                    return Err(format!("{here}: a viewer's key is read-write: {key}"));
                }
                if owner_wants_read_write && read_only {
                    return Err(format!(
                        "{here}: a {role:?}'s read-write request made {key}"
                    ));
                }
            }
            Ok(())
        }
        Who::Key(_) => {
            let parent = s.parent.clone().expect("a key caller has its settings");
            // Where the family's request can ask for no limit, or a later or no expiry.
            let expressible = matches!(
                (family, op),
                (
                    Family::Native | Family::Spartera,
                    Op::Create | Op::Update | Op::Expiry
                )
            );
            let made = if expressible {
                match act(&s, who, family, op, Try::Loosen).await {
                    Outcome::Refused(403) => {}
                    other => return Err(format!("{here}: a key loosening was {other:?}")),
                }
                let key = key_of(&s.reader, &s.target).await;
                if key["rate_limit"] != parent["rate_limit"]
                    || key["expires_at"] != parent["expires_at"]
                {
                    return Err(format!("{here}: the refused change landed: {key}"));
                }
                match act(&s, who, family, op, Try::Plain).await {
                    Outcome::Done(made) => made,
                    other => return Err(format!("{here}: the plain request was {other:?}")),
                }
            } else {
                match act(&s, who, family, op, Try::Plain).await {
                    Outcome::Done(made) => made,
                    other => return Err(format!("{here}: refused: {other:?}")),
                }
            };
            let checked = match op {
                Op::Create | Op::Rotate => made,
                Op::Delete => None,
                _ => Some(s.target.clone()),
            };
            if let Some(id) = checked {
                let key = key_of(&s.reader, &id).await;
                let limit = &key["rate_limit"];
                if limit["limit"].as_u64().is_none_or(|l| l > 5) || limit["window"] != "day" {
                    return Err(format!("{here}: the key's limit passed its maker's: {key}"));
                }
                let (Some(at), Some(ceiling)) =
                    (key["expires_at"].as_str(), parent["expires_at"].as_str())
                else {
                    return Err(format!("{here}: the key has no expiry: {key}"));
                };
                if at > ceiling {
                    return Err(format!("{here}: the key outlives its maker: {key}"));
                }
            }
            Ok(())
        }
        Who::OtherWorkspace => unreachable!(),
    }
}

/// Every caller of both matrices: sessions and keys of each role, and another workspace's owner.
const CALLERS: [Who; 9] = [
    Who::Session(Role::Owner),
    Who::Session(Role::Admin),
    Who::Session(Role::Member),
    Who::Session(Role::Viewer),
    Who::Key(Role::Owner),
    Who::Key(Role::Admin),
    Who::Key(Role::Member),
    Who::Key(Role::Viewer),
    Who::OtherWorkspace,
];

/// Every caller × every family × every key operation: the role ceiling, workspace reach and no
/// loosening hold in each cell, and the cells the families have are all run.
#[tokio::test]
async fn every_role_against_every_family_and_key_operation() {
    let mut cells = Vec::new();
    for who in CALLERS {
        for family in Family::ALL {
            for op in OPS {
                if family.has(op) {
                    cells.push((who, family, op));
                }
            }
        }
    }
    assert_eq!(
        cells.len(),
        9 * 30,
        "30 operations across the six families, for each caller"
    );
    let failures: Vec<String> = stream::iter(cells)
        .map(|(who, family, op)| cell_caught(who, family, op))
        .buffer_unordered(3)
        .filter_map(|result| async move { result.err() })
        .collect()
        .await;
    assert!(
        failures.is_empty(),
        "{} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A viewer's keys are read-only through every family, and stay so (issue 23, findings 1, 2).
#[tokio::test]
async fn a_viewer_makes_read_only_keys_and_cannot_loosen_them() {
    let (workspace, user) = (fresh(), fresh());
    let viewer = session(&user, &workspace, Role::Viewer);
    let api = Api::in_process();
    let (id, _) = native_key(&viewer, json!({"name": "v"})).await;
    assert_eq!(key_of(&viewer, &id).await["read_only"], true);
    let spartera = format!("/companies/{workspace}/api-keys");
    let listed = api
        .send(Method::GET, &spartera, &viewer, None)
        .await
        .expect(200);
    assert_eq!(listed["data"][0]["role_id"], 4, "{listed}");

    api.send(
        Method::POST,
        &spartera,
        &viewer,
        Some(json!({"company_id": workspace, "role_id": 4, "name": "r4"})),
    )
    .await
    .expect(200);
    let r4 = keys_of(&viewer).await[0]["id"].as_str().unwrap().to_owned();
    for (method, path, body) in [
        (
            Method::PUT,
            format!("/api/v1/account/api-keys/{r4}"),
            json!({"read_only": false}),
        ),
        (
            Method::PATCH,
            format!("/auth/api_keys/{r4}"),
            json!({"data": {"type": "api_keys", "id": r4, "attributes": {"read_only": false}}}),
        ),
        (
            Method::POST,
            format!("/{workspace}/api/v2/ApiKey"),
            json!({"accessKey": r4, "mode": 0}),
        ),
        (
            Method::PATCH,
            format!("{spartera}/{r4}"),
            json!({"role_id": 3}),
        ),
        (
            Method::POST,
            "/api/v1/account/api-keys".into(),
            json!({"read_only": false}),
        ),
    ] {
        let reply = api.send(method.clone(), &path, &viewer, Some(body)).await;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.body);
    }
    let listed = api
        .send(Method::GET, &spartera, &viewer, None)
        .await
        .expect(200);
    for key in listed["data"].as_array().unwrap() {
        assert_eq!(
            (key["role_id"].as_u64(), key["read_only"].as_bool()),
            (Some(4), Some(true)),
            "{key}"
        );
    }
}

/// A token for one workspace does not reach the same user's key in another by its UUID, and
/// cannot change it there (issue 23, finding 3).
#[tokio::test]
async fn a_token_for_another_workspace_does_not_reach_a_key_by_its_uuid() {
    let (ws1, other, user) = (fresh(), fresh(), fresh());
    let viewer = session(&user, &ws1, Role::Viewer);
    let owner_elsewhere = session(&user, &other, Role::Owner);
    let (id, _) = native_key(&viewer, json!({"name": "in ws1"})).await;
    let api = Api::in_process();
    let path = format!("/companies/{other}/api-keys/{id}");
    api.send(Method::GET, &path, &owner_elsewhere, None)
        .await
        .expect(404);
    api.send(
        Method::PATCH,
        &path,
        &owner_elsewhere,
        Some(json!({"role_id": 1})),
    )
    .await
    .expect(404);
    api.send(
        Method::GET,
        &format!("/api/v1/account/api-keys/{id}"),
        &owner_elsewhere,
        None,
    )
    .await
    .expect_error(404, "not_found");
    assert!(
        keys_of(&owner_elsewhere).await.is_empty(),
        "the other workspace's list holds none of ws1's keys"
    );
    let key = key_of(&viewer, &id).await;
    assert_eq!(
        (key["read_only"].as_bool(), key["name"].as_str()),
        (Some(true), Some("in ws1"))
    );
}

/// A key limited to exactly 5 a day and expiring in 2 days cannot lift either (nor make its limit
/// inexact), on itself or through what it makes or rotates (issue 23, finding 8).
#[tokio::test]
async fn a_key_cannot_loosen_itself() {
    let (workspace, user) = (fresh(), fresh());
    let owner = session(&user, &workspace, Role::Owner);
    let expires = (Utc::now() + Duration::days(2)).to_rfc3339();
    let (id, secret) = native_key(
        &owner,
        json!({"name": "limited", "rate_limit": {"limit": 5, "window": "day", "exact": true}, "expires_at": expires}),
    )
    .await;
    let as_it = as_key(&secret);
    let api = Api::in_process();
    let base = format!("/api/v1/account/api-keys/{id}");
    for loosened in [json!(null), json!({"limit": 5, "window": "day"})] {
        api.send(
            Method::PUT,
            &base,
            &as_it,
            Some(json!({ "rate_limit": loosened })),
        )
        .await
        .expect_error(403, "forbidden");
    }
    api.send(Method::PATCH, &format!("{base}/expiration"), &as_it, None)
        .await
        .expect_error(403, "forbidden");
    let child = api
        .send(
            Method::POST,
            "/api/v1/account/api-keys",
            &as_it,
            Some(json!({"name": "child"})),
        )
        .await
        .expect(201);
    let parent = key_of(&owner, &id).await;
    let child = key_of(&owner, child["api_key"]["id"].as_str().unwrap()).await;
    assert_eq!(child["rate_limit"], parent["rate_limit"]);
    assert_eq!(child["expires_at"], parent["expires_at"]);
    let successor = api
        .send(
            Method::POST,
            &format!("{base}/rotate?grace_period_days=0"),
            &as_it,
            None,
        )
        .await
        .expect(201);
    let successor = key_of(&owner, successor["api_key"]["id"].as_str().unwrap()).await;
    assert_eq!(successor["expires_at"], parent["expires_at"]);
    assert_eq!(successor["rate_limit"], parent["rate_limit"]);
    assert_eq!(
        key_of(&owner, &id).await["rate_limit"],
        json!({"limit": 5, "window": "day", "exact": true})
    );
}

/// Trailing data after a JSON body is a 400 and writes nothing, on a create and on verify
/// (issue 23, finding 6).
#[tokio::test]
async fn trailing_data_after_a_json_body_is_refused() {
    let (workspace, user) = (fresh(), fresh());
    let owner = session(&user, &workspace, Role::Owner);
    let api = Api::in_process();
    for body in [r#"{"name":"x"}garbage"#, r#"{"name":"x"} {"name":"y"}"#] {
        api.send(
            Method::POST,
            "/api/v1/account/api-keys",
            &owner,
            Some(Value::String(body.into())),
        )
        .await
        .expect_error(400, "validation_error");
        api.send(
            Method::POST,
            "/api/v1/keys/verify",
            &Auth::None,
            Some(Value::String(format!(r#"{{"key":"sk_x"}}{body}"#))),
        )
        .await
        .expect_error(400, "validation_error");
    }
    assert!(keys_of(&owner).await.is_empty(), "nothing was made");
}

/// A workspace-administration route, with its body: `{endpoint}` stands for a webhook endpoint
/// the workspace's owner made for this cell.
const ADMIN_ROUTES: [(&str, &str, Option<&str>); 12] = [
    ("GET", "/api/v1/account/webhooks", None),
    (
        "POST",
        "/api/v1/account/webhooks",
        Some(r#"{"url": "https://hooks.example.com/new"}"#),
    ),
    ("GET", "/api/v1/account/webhooks/{endpoint}", None),
    (
        "PATCH",
        "/api/v1/account/webhooks/{endpoint}",
        Some(r#"{"description": "changed"}"#),
    ),
    ("DELETE", "/api/v1/account/webhooks/{endpoint}", None),
    (
        "POST",
        "/api/v1/account/webhooks/{endpoint}/rotate-secret",
        None,
    ),
    ("POST", "/api/v1/account/webhooks/{endpoint}/test", None),
    (
        "GET",
        "/api/v1/account/webhooks/{endpoint}/deliveries",
        None,
    ),
    ("GET", "/api/v1/account/security-settings", None),
    (
        "PUT",
        "/api/v1/account/security-settings",
        Some(r#"{"leak_response": "notify"}"#),
    ),
    ("GET", "/api/v1/account/audit-events/integrity", None),
    (
        "POST",
        "/api/v1/account/privacy/erasure",
        Some(r#"{"scope": "workspace", "dry_run": true}"#),
    ),
];

/// The workspace-administration routes (webhooks, the leak policy, the audit log's integrity,
/// erasure) as an attacker tries them: owner and admin sessions reach them; member and viewer
/// sessions are 403; a key of any role, even the owner's, never gets past 401 or 403 (these
/// routes take sessions only); another workspace's owner finds the endpoint missing (404) and
/// what it lists or sets is its own workspace's.
#[tokio::test]
async fn every_caller_against_every_workspace_administration_route() {
    let api = Api::in_process();
    let mut failures = Vec::new();
    for who in CALLERS {
        for (method, path, body) in ADMIN_ROUTES {
            let workspace = fresh();
            let owner = session(&fresh(), &workspace, Role::Owner);
            let endpoint = api
                .send(
                    Method::POST,
                    "/api/v1/account/webhooks",
                    &owner,
                    Some(json!({"url": "https://hooks.example.com/cell"})),
                )
                .await
                .expect(201)["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let auth = match who {
                Who::Session(role) => session(&fresh(), &workspace, role),
                Who::Key(role) => {
                    let holder = session(&fresh(), &workspace, role);
                    as_key(&native_key(&holder, json!({"name": "attacker"})).await.1)
                }
                Who::OtherWorkspace => session(&fresh(), &fresh(), Role::Owner),
            };
            let body = body.map(|b| Value::String(b.to_owned()));
            let reply = api
                .send(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    &path.replace("{endpoint}", &endpoint),
                    &auth,
                    body,
                )
                .await;
            let status = reply.status.as_u16();
            let names_endpoint = path.contains("{endpoint}");
            let fine = match who {
                Who::Session(Role::Owner | Role::Admin) => (200..300).contains(&status),
                Who::Session(_) => status == 403,
                Who::Key(_) => status == 401 || status == 403,
                Who::OtherWorkspace if names_endpoint => status == 404,
                Who::OtherWorkspace => (200..300).contains(&status),
            };
            if !fine {
                failures.push(format!("{who:?} {method} {path}: {status} {}", reply.body));
            }
            // A refused change left the workspace as it was.
            if !matches!(who, Who::Session(Role::Owner | Role::Admin)) {
                let policy = api
                    .send(
                        Method::GET,
                        "/api/v1/account/security-settings",
                        &owner,
                        None,
                    )
                    .await
                    .expect(200);
                let kept = api
                    .send(
                        Method::GET,
                        &format!("/api/v1/account/webhooks/{endpoint}"),
                        &owner,
                        None,
                    )
                    .await
                    .expect(200);
                if policy["leak_response"] != "revoke" || kept["description"] != "" {
                    failures.push(format!("{who:?} {method} {path} changed {policy} {kept}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
