//! The instructeur writes to the collectivité.

use super::auth::Instructeur;
use super::decision::actor;
use super::load;
use crate::domain::steps;
use crate::domain::time::Now;
use crate::http::problem::ApiError;
use crate::http::request::{json_body, long_text};
use crate::http::response::{json, ApiResult};
use crate::App;
use lambda_http::Request;
use serde_json::json;

pub(super) async fn post(app: &App, req: &Request, who: &Instructeur, id: &str) -> ApiResult {
    let body = json_body(req)?;
    let texte = long_text(&body, "texte", true, "Ce champ est obligatoire.")
        .map_err(|e| ApiError::Validation(vec![e]))?
        .expect("required");
    let r = load(app, who, id).await?;
    let change = steps::message(&r, texte, &actor(who), &Now::system())?;
    app.dossiers.add_message(&r, &change).await?;
    let email_envoye = crate::mail::send_notices(app, &r, &change.notices).await;
    Ok(json(
        201,
        &json!({"message": change.message(), "email_envoye": email_envoye}),
    ))
}
