//! The console's static assets, embedded in the binary and served under names that carry a
//! digest of their content, so browsers may keep them for a year: a changed file is a new name.
//!
//! `htmx.min.js` is htmx 2.0.11 (BSD Zero Clause licence), from the npm package `htmx.org`.

use std::sync::LazyLock;

use axum::{
    extract::Path,
    http::header,
    response::{IntoResponse, Response},
};
use latchkey_core::Error;
use latchkey_http::ApiError;
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 3] = [
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/console.css"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/console.js"),
    },
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/htmx.min.js"),
    },
];

/// Each asset's served name: `console.css` is `console.<digest>.css`.
static NAMES: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let digest = Sha256::digest(asset.body.as_bytes());
            let short: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
            let (stem, ext) = asset.name.rsplit_once('.').expect("assets have extensions");
            format!("{stem}.{short}.{ext}")
        })
        .collect()
});

/// The URL of the asset `name` (one of the embedded files).
pub fn url(name: &str) -> String {
    let i = ASSETS
        .iter()
        .position(|a| a.name == name)
        .expect("only embedded assets are linked");
    format!("/console/assets/{}", NAMES[i])
}

/// `GET /console/assets/{name}`: the asset, cacheable for a year; any other name is a 404.
pub async fn serve(Path(name): Path<String>) -> Result<Response, ApiError> {
    let i = NAMES
        .iter()
        .position(|n| *n == name)
        .ok_or_else(|| Error::NotFound("No such asset.".into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, ASSETS[i].content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        ASSETS[i].body,
    )
        .into_response())
}
