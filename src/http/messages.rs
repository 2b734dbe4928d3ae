//! The messagerie as the collectivité sees it: read, and write to the académie.

use super::dossiers::authorize;
use super::problem::ApiError;
use super::request::{json_body, long_text};
use super::response::{json, ApiResult};
use crate::domain::life::Actor;
use crate::domain::signataire::message_quota;
use crate::domain::steps;
use crate::domain::time::Now;
use crate::ports::StoreError;
use crate::App;
use lambda_http::Request;
use serde_json::json;

pub async fn list(app: &App, req: &Request, id: &str) -> ApiResult {
    let record = authorize(app, req, id).await?;
    let journals = app.dossiers.journals(&record).await?;
    Ok(json(200, &json!({"messages": journals.messages})))
}

/// The collectivité writes to the académie; the académie's contact address is told by email.
pub async fn post(app: &App, req: &Request, id: &str) -> ApiResult {
    let record = authorize(app, req, id).await?;
    let actor = Actor::Collectivite;
    steps::allowed(crate::domain::life::Step::Message, &record, &actor)?;
    let body = json_body(req)?;
    let texte = long_text(
        &body,
        "texte",
        true,
        "Écrivez votre message (5 000 caractères au plus).",
    )
    .map_err(|e| ApiError::Validation(vec![e]))?
    .expect("required");
    let now = Now::system();
    let change = steps::message(&record, texte, &actor, &now)?;
    // Each message mails the académie: a dossier's messages are bounded per day.
    let quota = message_quota(record.id.as_str(), now.seconds());
    match app.dossiers.take_quota(&quota).await {
        Err(StoreError::Conflict) => {
            return Err(quota
                .used_up(now.seconds(), |limit, when| {
                    format!(
                        "Ce dossier a déjà reçu {limit} messages aujourd’hui : vous pourrez écrire \
                         de nouveau {when}. En cas d’urgence, répondez à l’un des messages de \
                         l’académie par courriel."
                    )
                })
                .into());
        }
        r => r?,
    }
    app.dossiers.add_message(&record, &change).await?;
    let email_envoye = crate::mail::send_notices(app, &record, &change.notices).await;
    Ok(json(
        201,
        &json!({"message": change.message(), "email_envoye": email_envoye}),
    ))
}
