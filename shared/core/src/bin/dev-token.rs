//! Prints a session token the local stack accepts, for curl and tests:
//! `dev-token --sub <id> --email <email> [--name <name>] [--workspace <id>] [--role owner|admin|member|viewer] [--ttl <seconds>]`.
//! The signing settings come from the environment (`LATCHKEY_JWT_*`), as the functions read them.

use std::process::ExitCode;

use latchkey_core::{
    auth::{Role, jwt::JwtIssuer},
    config::JwtSettings,
};

const USAGE: &str = "usage: dev-token --sub <id> --email <email> [--name <name>] [--workspace <id>] [--role owner|admin|member|viewer] [--ttl <seconds>]";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("dev-token: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<String, String> {
    let settings = JwtSettings::from_env().map_err(|e| e.to_string())?;
    let issuer = JwtIssuer::new(&settings);
    let mut sub = None;
    let mut email = None;
    let mut name = None;
    let mut workspace = None;
    let mut role = None;
    let mut ttl: i64 = 3600;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--sub" => sub = Some(value()?),
            "--email" => email = Some(value()?),
            "--name" => name = Some(value()?),
            "--workspace" => workspace = Some(value()?),
            "--role" => {
                let raw = value()?;
                role = Some(
                    serde_json::from_value::<Role>(serde_json::Value::String(raw.clone()))
                        .map_err(|_| format!("unknown role {raw:?}"))?,
                );
            }
            "--ttl" => {
                ttl = value()?
                    .parse()
                    .map_err(|_| "--ttl takes whole seconds".to_owned())?
            }
            "-h" | "--help" => return Err("help".into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let sub = sub.ok_or("--sub is required")?;
    let email = email.ok_or("--email is required")?;
    let mut claims = issuer.claims(&sub, ttl);
    claims.email = Some(email);
    claims.name = name;
    claims.workspace_id = workspace;
    claims.role = role;
    Ok(issuer.sign(&claims))
}
