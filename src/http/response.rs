//! Writing an answer: JSON with `no-store`, and compressed bodies.

use lambda_http::{Body, Response};
use serde_json::Value;

pub type ApiResult = Result<Response<Body>, super::problem::ApiError>;

/// JSON answer with `no-store`: dossier views carry personal data.
pub fn json(status: u16, value: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        // A browser never reads an answer as anything but its declared type.
        .header("x-content-type-options", "nosniff")
        .header("cache-control", "no-store")
        .body(Body::Text(value.to_string()))
        .expect("static headers are valid")
}

/// 302 to a presigned download link: never cached, and the link (a bearer of the file for its
/// lifetime) not passed on as a referrer.
pub fn to_presigned(url: String) -> Response<Body> {
    Response::builder()
        .status(302)
        .header("location", url)
        .header("cache-control", "no-store")
        .header("referrer-policy", "no-referrer")
        .body(Body::Empty)
        .expect("presigned URLs are valid header values")
}

/// Gzip of a response body (pages, assets, exports).
pub fn gzip(bytes: &[u8], level: flate2::Compression) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), level);
    enc.write_all(bytes).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

/// The answer with its body in the encoding chosen: `gzipped` (when the client takes gzip and
/// there is a compressed form) or `plain`; `Vary` says the choice depends on `Accept-Encoding`.
pub fn encoded(
    b: lambda_http::http::response::Builder,
    gzipped: Option<Vec<u8>>,
    plain: impl FnOnce() -> Body,
) -> Response<Body> {
    let b = b.header("vary", "accept-encoding");
    match gzipped {
        Some(z) => b.header("content-encoding", "gzip").body(Body::Binary(z)),
        None => b.body(plain()),
    }
    .expect("static headers are valid")
}
