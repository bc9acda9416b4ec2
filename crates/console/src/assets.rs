//! pico CSS and htmx, vendored from the npm registry (`@picocss/pico`, `htmx.org`) into
//! `crates/console/assets/` and embedded in the binary: nothing is loaded from a CDN.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

pub const PICO: &str = "pico-2.1.1.min.css";
pub const HTMX: &str = "htmx-2.0.11.min.js";
pub const CONSOLE_CSS: &str = "console-4.css";

const FILES: &[(&str, &str, &[u8])] = &[
    (
        PICO,
        "text/css; charset=utf-8",
        include_bytes!("../assets/pico-2.1.1.min.css"),
    ),
    (
        HTMX,
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/htmx-2.0.11.min.js"),
    ),
    (
        CONSOLE_CSS,
        "text/css; charset=utf-8",
        include_bytes!("../assets/console-4.css"),
    ),
];

pub async fn serve(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                // The file name carries the version: a new version is a new name.
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
