//! HTTP routes of API.md. `handle` never fails: every error becomes a problem+json answer.

pub mod dossiers;
pub mod instructeur;
pub mod lookup;
pub mod pages;
pub mod problem;

use crate::App;
use lambda_http::{Body, Request, RequestExt, Response};
use problem::ApiError;
use serde_json::Value;

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

pub type ApiResult = Result<Response<Body>, ApiError>;

/// Entry point of the submit-dossier function.
pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = req.method().as_str().to_string();
    let result = match (method.as_str(), segments.as_slice()) {
        ("POST", ["api", "dossiers"]) => dossiers::create(app, &req).await,
        ("GET", ["api", "dossiers", id]) => dossiers::show(app, &req, id).await,
        ("PATCH", ["api", "dossiers", id]) => dossiers::autosave(app, &req, id).await,
        ("POST", ["api", "dossiers", id, "depot"]) => dossiers::deposit(app, &req, id).await,
        ("GET", ["api", "dossiers", id, "convention"]) => dossiers::download(app, &req, id).await,
        ("DELETE", ["api", "dossiers", id]) => dossiers::delete(app, &req, id).await,
        ("GET", ["api", "dossiers", id, "messages"]) => dossiers::messages(app, &req, id).await,
        ("POST", ["api", "dossiers", id, "messages"]) => {
            dossiers::post_message(app, &req, id).await
        }
        ("GET", ["api", "conventions", "verification", code]) => dossiers::verify(app, code).await,
        (_, ["api", "dossiers"]) => Err(ApiError::MethodNotAllowed("POST")),
        (_, ["api", "dossiers", _]) => Err(ApiError::MethodNotAllowed("GET, PATCH, DELETE")),
        (_, ["api", "dossiers", _, "depot"]) => Err(ApiError::MethodNotAllowed("POST")),
        (_, ["api", "dossiers", _, "messages"]) => Err(ApiError::MethodNotAllowed("GET, POST")),
        (_, ["api", "dossiers", _, "convention"])
        | (_, ["api", "conventions", "verification", _]) => Err(ApiError::MethodNotAllowed("GET")),
        ("GET", ["api", "dossiers", id, "apercu"]) => pages::apercu(app, &req, id).await,
        (_, ["api", "dossiers", _, "apercu"]) => Err(ApiError::MethodNotAllowed("GET")),
        ("GET", []) => pages::start(app, &req),
        ("GET", ["demarche"] | ["dossiers", _]) => pages::form(app, &req),
        ("GET", ["verification", _]) => pages::verification(app, &req),
        ("GET", ["instructeur"] | ["instructeur", "dossiers", _]) => pages::instructeur(app, &req),
        ("GET", ["assets", version, name]) => pages::asset(&req, version, name),
        _ => Err(ApiError::BadRequest(format!("Adresse inconnue : {path}"))),
    };
    Ok(result.unwrap_or_else(|e| {
        if e.status() >= 500 {
            tracing::error!(status = e.status(), %method, "request failed");
        }
        e.into_response()
    }))
}

/// JSON answer with `no-store`: dossier views carry personal data.
pub fn json(status: u16, value: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .header("cache-control", "no-store")
        .body(Body::Text(value.to_string()))
        .expect("static headers are valid")
}

/// Reads a JSON body: empty → `{}`; size, content type and syntax checked, in that order.
pub fn json_body(req: &Request) -> Result<Value, ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => b"",
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    };
    if bytes.len() > MAX_BODY {
        return Err(ApiError::PayloadTooLarge);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or("").trim();
    if essence != "application/json" && !essence.ends_with("+json") {
        return Err(ApiError::UnsupportedMediaType);
    }
    serde_json::from_slice::<UniqueKeys>(bytes)
        .map(|v| v.0)
        .map_err(|e| {
            let what = if e.is_data() {
                "contient deux fois la même clé"
            } else {
                "n’est pas un JSON valide"
            };
            ApiError::BadRequest(format!(
                "Le corps de la requête {what} (ligne {}, colonne {}).",
                e.line(),
                e.column()
            ))
        })
}

/// A JSON value whose objects have unique keys (RFC 7493): serde_json alone keeps the last of
/// duplicated keys where another reader of the same body may keep the first.
struct UniqueKeys(Value);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = UniqueKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<UniqueKeys, A::Error> {
                let mut o = serde_json::Map::new();
                while let Some(k) = m.next_key::<String>()? {
                    if o.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!("duplicate key {k:?}")));
                    }
                    o.insert(k, m.next_value::<UniqueKeys>()?.0);
                }
                Ok(UniqueKeys(Value::Object(o)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<UniqueKeys, A::Error> {
                let mut a = Vec::new();
                while let Some(v) = s.next_element::<UniqueKeys>()? {
                    a.push(v.0);
                }
                Ok(UniqueKeys(Value::Array(a)))
            }
            fn visit_bool<E>(self, b: bool) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::Bool(b)))
            }
            fn visit_i64<E>(self, n: i64) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(n.into()))
            }
            fn visit_str<E>(self, s: &str) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(s.into()))
            }
            fn visit_string<E>(self, s: String) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(s.into()))
            }
            fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::Null))
            }
        }
        d.deserialize_any(V)
    }
}

/// The presented jeton: `Authorization: Bearer <jeton>` or `?jeton=<jeton>`. When an
/// `Authorization` header is there it is the credential, read or not: a header that is not
/// `Bearer …` presents nothing, rather than letting a `?jeton=` beside it open the dossier.
pub fn presented_jeton(req: &Request) -> Option<String> {
    if let Some(header) = req.headers().get("authorization") {
        return header
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|v| v.trim().to_string());
    }
    req.query_string_parameters_ref()
        .and_then(|q| q.first("jeton"))
        .map(str::to_string)
}

/// Source IP and user agent as API Gateway saw them.
pub fn client_context(req: &Request) -> (String, String) {
    use lambda_http::request::RequestContext;
    let (ip, ua) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            (ctx.http.source_ip.clone(), ctx.http.user_agent.clone())
        }
        _ => (None, None),
    };
    let ua = ua.or_else(|| {
        req.headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    (
        ip.unwrap_or_else(|| "inconnue".into()),
        crate::domain::text::single_line(&ua.unwrap_or_else(|| "inconnu".into()))
            .chars()
            .take(512)
            .collect(),
    )
}

/// Gzip of a response body (pages, assets, exports).
pub(crate) fn gzip(bytes: &[u8], level: flate2::Compression) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), level);
    enc.write_all(bytes).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

/// The answer with its body in the encoding chosen: `gzipped` (when the client takes gzip and
/// there is a compressed form) or `plain`; `Vary` says the choice depends on `Accept-Encoding`.
pub(crate) fn encoded(
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

/// Whether the client takes gzip (`Accept-Encoding`, `q=0` meaning no).
pub(crate) fn accepts_gzip(req: &Request) -> bool {
    req.headers()
        .get_all("accept-encoding")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| {
            let mut parts = e.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00"));
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}
