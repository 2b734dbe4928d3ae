//! The front door. On AWS, CloudFront (with its WAF) adds a secret header to every request it
//! passes on (`ORIGIN_SECRET`, template `OrigineSecret`); a request without it reached the API
//! another way (the custom domain's regional name) and skipped the per-client limits: it is
//! refused, and so the client address CloudFront gives (`CloudFront-Viewer-Address`, recorded
//! as evidence) can be trusted. Locally no secret is set and every request passes.

use super::problem::ApiError;
use crate::App;
use lambda_http::Request;
use subtle::ConstantTimeEq;

/// The header CloudFront adds (`OriginCustomHeaders` of the distribution).
pub const HEADER: &str = "x-conventions-origine";

pub fn check(app: &App, req: &Request) -> Result<(), ApiError> {
    let Some(secret) = &app.config.origin_secret else {
        return Ok(());
    };
    let presented = req
        .headers()
        .get(HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if presented.ct_eq(secret.as_bytes()).into() {
        Ok(())
    } else {
        Err(ApiError::DirectAccess)
    }
}
