//! The management page: the UI build (`ui/dist`, Vite with `base: './'` and `assetsDir:
//! 'management-assets'`) embedded in the binary, served at `/management.html` and
//! `/management-assets/*`. Release builds carry the files; debug builds read them from `ui/dist` at
//! run time, so a rebuilt UI shows without recompiling.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use rust_embed::RustEmbed;

use super::cpa_error;

#[derive(RustEmbed)]
#[folder = "ui/dist"]
#[allow_missing = true]
struct Dist;

/// Scripts, styles, images and API calls from this origin only; nothing inline, no frames, no plugins.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

pub async fn page() -> Response {
    let Some(file) = Dist::get("index.html") else {
        return cpa_error(
            StatusCode::NOT_FOUND,
            "the management UI was not built into this binary: run `npm --prefix ui ci && npm --prefix \
             ui run build`, then build Switchyard again",
        );
    };
    let mut resp = serve(
        file.data.into_owned(),
        "text/html; charset=utf-8",
        "no-cache",
    );
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    resp.headers_mut()
        .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

pub async fn asset(Path(path): Path<String>) -> Response {
    // Debug builds read from disk: no way out of the folder.
    let escapes = path.split(['/', '\\']).any(|seg| seg == "..") || path.contains(':');
    let file = if escapes {
        None
    } else {
        Dist::get(&format!("management-assets/{path}"))
    };
    match file {
        // Vite puts a content hash in every asset's name: a name never changes meaning.
        Some(file) => serve(
            file.data.into_owned(),
            content_type(&path),
            "public, max-age=31536000, immutable",
        ),
        None => cpa_error(StatusCode::NOT_FOUND, format!("no UI asset {path}")),
    }
}

fn serve(body: Vec<u8>, content_type: &'static str, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The types a Vite build produces.
fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::content_type;

    #[test]
    fn vite_outputs_get_their_types() {
        assert_eq!(
            content_type("index-3f2a.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("index-3f2a.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type("logo.svg"), "image/svg+xml");
        assert_eq!(content_type("blob"), "application/octet-stream");
    }
}
