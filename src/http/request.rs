//! Reading a request: its JSON body (size, type, syntax, unique keys), the presented jeton,
//! the client's context, what encodings it takes, and the text fields of a body.

use super::problem::ApiError;
use crate::domain::draft::FieldError;
use crate::domain::text::{LongText, LongTextError};
use lambda_http::{Body, Request, RequestExt};
use serde_json::Value;

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// Reads a JSON body: empty → `{}`; size, content type and syntax checked, in that order.
pub fn json_body(req: &Request) -> Result<Value, ApiError> {
    if body_bytes(req).len() > MAX_BODY {
        return Err(ApiError::PayloadTooLarge);
    }
    json_body_unbounded(req)
}

/// The body's bytes, as the client sent them (API Gateway's base64 already decoded).
pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => b"",
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    }
}

/// [`json_body`] for a route that bounds the size itself (a larger limit than [`MAX_BODY`]).
pub fn json_body_unbounded(req: &Request) -> Result<Value, ApiError> {
    let bytes = body_bytes(req);
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

/// Source IP and user agent of the client. Behind CloudFront (the template's front), API
/// Gateway's source IP is CloudFront's: the client's own address comes in
/// `CloudFront-Viewer-Address` ("198.51.100.10:46532"), which CloudFront sets itself.
pub fn client_context(req: &Request) -> (String, String) {
    use lambda_http::request::RequestContext;
    let (ip, ua) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            (ctx.http.source_ip.clone(), ctx.http.user_agent.clone())
        }
        _ => (None, None),
    };
    let viewer = req
        .headers()
        .get("cloudfront-viewer-address")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit_once(':'))
        .map(|(ip, _port)| ip.trim_matches(['[', ']']).to_string())
        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok());
    let ip = viewer.or(ip);
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

/// Whether the client takes gzip (`Accept-Encoding`, `q=0` meaning no).
pub fn accepts_gzip(req: &Request) -> bool {
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

/// A message or motif field of a body (see [`LongText`]): `Ok(None)` when absent and not
/// `required`; `missing` is said when it is absent or empty.
pub fn long_text(
    body: &Value,
    champ: &str,
    required: bool,
    missing: &str,
) -> Result<Option<LongText>, FieldError> {
    match body.get(champ) {
        None | Some(Value::Null) if !required => Ok(None),
        Some(Value::String(s)) => match LongText::parse(s) {
            Ok(t) => Ok(Some(t)),
            Err(LongTextError::Empty) => Err(FieldError::new(champ, missing)),
            Err(LongTextError::TooLong) => Err(FieldError::new(
                champ,
                "Ce texte est trop long (5 000 caractères au plus).",
            )),
            Err(LongTextError::Control) => Err(FieldError::new(
                champ,
                "Ce texte contient des caractères de contrôle.",
            )),
        },
        _ => Err(FieldError::new(champ, missing)),
    }
}
