//! « Renouveler l’accès » (`POST /api/instructeur/dossiers/{id}/acces`): every jeton and email
//! link of the dossier voided, a new link mailed to the confirmed signatory.

use super::auth::Instructeur;
use super::decision::actor;
use super::dossier::detail_view;
use super::load;
use crate::domain::draft::FieldError;
use crate::domain::steps;
use crate::domain::time::Now;
use crate::http::problem::ApiError;
use crate::http::request::json_body;
use crate::http::response::{json, ApiResult};
use crate::ports::StoreError;
use crate::App;
use lambda_http::Request;
use serde_json::{json, Value};

pub(super) async fn renew(app: &App, req: &Request, who: &Instructeur, id: &str) -> ApiResult {
    let body = json_body(req)?;
    let action = body.get("action").and_then(Value::as_str);
    let unknown: Vec<FieldError> = body
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .filter(|k| k.as_str() != "action")
        .map(|k| {
            FieldError::new(
                k.chars().take(60).collect::<String>(),
                "Champ inconnu : le seul champ accepté est action.",
            )
        })
        .collect();
    if action != Some("renouveler") || !unknown.is_empty() {
        let mut errors = unknown;
        if action != Some("renouveler") {
            errors.insert(
                0,
                FieldError::new("action", "Action attendue : renouveler."),
            );
        }
        return Err(ApiError::Validation(errors));
    }
    let mut r = load(app, who, id).await?;
    let change = steps::renew_access(&r, &actor(who), &Now::system())?;
    match app.dossiers.renew_access(&r, &change).await {
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict(
                "L’accès de ce dossier vient d’être renouvelé : rechargez-le.".into(),
            ))
        }
        other => other?,
    }
    // The record as written (with the journal moves the store made: the same pure function
    // of the same record): the link carries the new generation, the view reads its pages.
    crate::domain::journal::bound(&r, change.clone()).apply(&mut r);
    let email_envoye = crate::mail::send_notices(app, &r, &change.notices).await;
    let mut v = detail_view(app, &r).await?;
    v["email_envoye"] = json!(email_envoye);
    Ok(json(200, &v))
}
