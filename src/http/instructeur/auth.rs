//! Who the instructeur is. On AWS the HTTP API's JWT authorizer (Cognito) has validated the
//! token and passes its claims in the request context; the handler still checks that it is an
//! ID token (`token_use = id`: an access token carries no email for the audit trail) and reads
//! the groups, which give the scope (`scope.rs`). On the local stack only, a dev token signed
//! with `DEV_JWT_SECRET` (HS256) is accepted (`Config::from_env` refuses that key on AWS).

use super::scope::Scope;
use crate::http::problem::ApiError;
use crate::App;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

pub const GROUP: &str = "instructeurs";

#[derive(Clone, Debug, PartialEq)]
pub struct Instructeur {
    pub sub: String,
    pub email: String,
    /// The token's `name` claim (the user pool's `name` attribute), when it is a printable
    /// name: the académie's countersignature prints it. None: the email stands for it.
    pub nom: Option<String>,
    /// The départements whose dossiers this instructeur sees and decides.
    pub scope: Scope,
}

/// 401 without valid credentials, 403 when the token lacks the `instructeurs` group.
pub fn authenticate(app: &App, req: &Request) -> Result<Instructeur, ApiError> {
    let claims = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| {
                jwt.claims
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect::<serde_json::Map<_, _>>()
            }),
        _ => None,
    };
    let claims = match (claims, &app.config.dev_jwt_secret) {
        (Some(c), _) if !c.is_empty() => c,
        (_, Some(secret)) => dev_token_claims(req, secret.as_bytes())?,
        _ => return Err(ApiError::Unauthorized),
    };
    if claims.get("token_use").and_then(Value::as_str) != Some("id") {
        return Err(ApiError::Unauthorized);
    }
    let groups = groups(claims.get("cognito:groups"));
    let scope = Scope::from_groups(groups.iter().map(String::as_str), &app.config.academie)
        .ok_or(ApiError::Forbidden)?;
    let text = |k: &str| {
        claims
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    Ok(Instructeur {
        sub: text("sub"),
        email: text("email"),
        // Printed on a signed document: refused (and the email used) if it carries control or
        // invisible characters, or is longer than a name.
        nom: crate::domain::text::Name::parse(&text("name"), 100)
            .ok()
            .map(|n| n.into_string()),
        scope,
    })
}

/// Cognito puts groups as a JSON array in ID tokens, and API Gateway flattens them to a string
/// like "[instructeurs admins]" in the authorizer context.
fn groups(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => s
            .trim_matches(|c| c == '[' || c == ']')
            .split([' ', ','])
            .map(|g| g.trim_matches('"').to_string())
            .filter(|g| !g.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

fn dev_token_claims(
    req: &Request,
    secret: &[u8],
) -> Result<serde_json::Map<String, Value>, ApiError> {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    verify_hs256(token, secret, chrono::Utc::now().timestamp()).ok_or(ApiError::Unauthorized)
}

/// Claims of a valid, unexpired HS256 JWT.
pub fn verify_hs256(
    token: &str,
    secret: &[u8],
    now: i64,
) -> Option<serde_json::Map<String, Value>> {
    use hmac::{Hmac, Mac};
    let mut parts = token.split('.');
    let (h, p, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    if header.get("alg")?.as_str()? != "HS256" {
        return None;
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).ok()?;
    mac.update(format!("{h}.{p}").as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).ok()?).ok()?;
    let claims: serde_json::Map<String, Value> =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()?;
    if claims.get("exp")?.as_i64()? <= now {
        return None;
    }
    Some(claims)
}

/// A dev token for the local stack (`make instructeur-token`).
pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let p = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(format!("{h}.{p}").as_bytes());
    format!(
        "{h}.{p}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hs256_round_trip_expiry_and_tampering() {
        let t = sign_hs256(
            &json!({"sub": "u1", "exp": 2000, "token_use": "id", "cognito:groups": ["instructeurs"]}),
            b"k",
        );
        assert!(verify_hs256(&t, b"k", 1000).is_some());
        assert!(verify_hs256(&t, b"k", 2000).is_none(), "expired");
        assert!(verify_hs256(&t, b"autre", 1000).is_none(), "wrong key");
        let mut forged = t.clone();
        forged.insert(t.find('.').unwrap() + 2, 'A');
        assert!(verify_hs256(&forged, b"k", 1000).is_none());
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            t.split('.').nth(1).unwrap()
        );
        assert!(verify_hs256(&none_alg, b"k", 1000).is_none());
    }

    #[test]
    fn groups_as_array_or_flattened_string() {
        assert_eq!(groups(Some(&json!(["instructeurs"]))), ["instructeurs"]);
        assert_eq!(
            groups(Some(&json!("[instructeurs-35 admins]"))),
            ["instructeurs-35", "admins"]
        );
        assert_eq!(
            groups(Some(&json!("[\"instructeurs-22\",\"instructeurs-35\"]"))),
            ["instructeurs-22", "instructeurs-35"]
        );
        assert!(groups(None).is_empty());
    }
}
