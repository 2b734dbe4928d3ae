//! A dossier as the instructeur sees it: the applicant's view plus the audit trail, the
//! messages, the webhook attempts, the signature evidence and the retention date.

use super::load;
use crate::domain::dossier::DossierRecord;
use crate::http::problem::ApiError;
use crate::http::response::{json, ApiResult};
use crate::http::view::deposited_view;
use crate::App;
use serde_json::{json, Value};

pub(super) async fn detail(app: &App, who: &super::Instructeur, id: &str) -> ApiResult {
    let r = load(app, who, id).await?;
    Ok(json(200, &detail_view(app, &r).await?))
}

/// The instructeur's view of `r`: what was deposited (not the collectivité's edits under way
/// during a correction), with the whole audit trail, messages and webhook attempts (their
/// pages read, `domain::journal`) and everything support needs.
pub(super) async fn detail_view(app: &App, r: &DossierRecord) -> Result<Value, ApiError> {
    let journals = app.dossiers.journals(r).await?;
    let mut v = deposited_view(app, r);
    v["historique"] = json!(journals.historique);
    v["messages"] = json!(journals.messages);
    v["webhook"] = json!({"etat": r.webhook_etat, "tentatives": journals.webhook_tentatives});
    // The ENT editor its schools go to (`crate::editeurs`): null when none is configured.
    v["editeur"] = json!(app.editeur(r).map(|e| json!({
        "id": e.id,
        "nom": e.nom,
        "webhook": e.webhook_url.is_some(),
        "repond": e.answer_secret.is_some(),
    })));
    // When the table's TTL will delete it (DOSSIER_RETENTION_DAYS), null when kept.
    v["expire_le"] = json!(r
        .expire_le
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
    if let Some(d) = &r.depot {
        v["signature"] = json!(d.signature);
    }
    Ok(v)
}
