//! A dossier as the instructeur sees it: the applicant's view plus the audit trail, the
//! messages, the webhook attempts, the signature evidence and the retention date.

use super::load;
use crate::http::response::{json, ApiResult};
use crate::http::view::view;
use crate::App;
use serde_json::json;

pub(super) async fn detail(app: &App, id: &str) -> ApiResult {
    let r = load(app, id).await?;
    let mut v = view(app, &r);
    v["historique"] = json!(r.historique);
    v["messages"] = json!(r.messages);
    v["webhook"] = json!({"etat": r.webhook_etat, "tentatives": r.webhook_tentatives});
    // When the table's TTL will delete it (DOSSIER_RETENTION_DAYS), null when kept.
    v["expire_le"] = json!(r
        .expire_le
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
    if let Some(d) = &r.depot {
        v["signature"] = json!(d.signature);
    }
    Ok(json(200, &v))
}
