//! Writes the OpenAPI document to `infra/openapi.json` (or the path given), the committed copy
//! that `api::tests` holds equal to the served one.
//!
//! `cargo run -p latchkey-shared --bin openapi`

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        format!(
            "{}/../../{}",
            env!("CARGO_MANIFEST_DIR"),
            latchkey_http::api::DOCUMENT_PATH
        )
    });
    std::fs::write(&path, latchkey_http::api::document_json())?;
    println!("wrote {path}");
    Ok(())
}
