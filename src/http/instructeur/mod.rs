//! Instructeur routes (instructeur-api), one file per concern: the dossier list and its
//! filters, a dossier's detail, decisions (and the webhook replay), the messagerie, the export
//! of conventioned schools for the ENT editor / AAF, the figures, and the renewal of a
//! dossier's access (`access`). `auth` checks the token; `scope` limits each route to the
//! instructeur's départements.
//! Also the ENT editor's answer (`editor`, `POST /api/editeur/ecoles`), signed by the editor.

mod access;
pub mod auth;
mod decision;
mod dossier;
mod editor;
mod export;
mod list;
mod messages;
mod params;
pub mod scope;
mod statistics;

use super::problem::ApiError;
use super::response::ApiResult;
use crate::domain::dossier::DossierRecord;
use crate::domain::ids::DossierId;
use crate::App;
use auth::Instructeur;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // A newer directory snapshot, once a minute at most, for requests that came through
    // CloudFront only.
    if super::front::check(app, &req).is_ok() {
        app.refresh_reference().await;
    }
    // The ENT editor's answer: signed by the editor (Standard Webhooks), not an instructeur.
    if let ["api", "editeur", rest @ ..] = segments.as_slice() {
        let result = match (super::front::check(app, &req), req.method().as_str(), rest) {
            (Err(e), _, _) => Err(e),
            (Ok(()), "POST", ["ecoles"]) => editor::answer(app, &req).await,
            (Ok(()), _, ["ecoles"]) => Err(ApiError::MethodNotAllowed("POST")),
            (Ok(()), _, _) => Err(ApiError::BadRequest(format!("Adresse inconnue : {path}"))),
        };
        return Ok(result.unwrap_or_else(ApiError::into_response));
    }
    let result = match super::front::check(app, &req).and_then(|()| auth::authenticate(app, &req)) {
        Err(e) => Err(e),
        Ok(who) => route(app, &req, &who, req.method().as_str(), &segments).await,
    };
    Ok(result.unwrap_or_else(ApiError::into_response))
}

async fn route(
    app: &App,
    req: &Request,
    who: &Instructeur,
    method: &str,
    segments: &[&str],
) -> ApiResult {
    match (method, segments) {
        ("GET", ["api", "instructeur", "dossiers"]) => list::list(app, req, who).await,
        ("GET", ["api", "instructeur", "dossiers", id]) => dossier::detail(app, who, id).await,
        ("POST", ["api", "instructeur", "dossiers", id, "decision"]) => {
            decision::decide(app, req, who, id).await
        }
        ("POST", ["api", "instructeur", "dossiers", id, "messages"]) => {
            messages::post(app, req, who, id).await
        }
        ("POST", ["api", "instructeur", "dossiers", id, "webhook"]) => {
            decision::replay_webhook(app, who, id).await
        }
        ("POST", ["api", "instructeur", "dossiers", id, "acces"]) => {
            access::renew(app, req, who, id).await
        }
        ("GET", ["api", "instructeur", "exports", id]) => export::status(app, who, id).await,
        ("GET", ["api", "instructeur", "export", file]) => {
            export::export(app, req, who, file).await
        }
        ("GET", ["api", "instructeur", "statistiques"]) => {
            statistics::statistics(app, req, who).await
        }
        // A known address with another method: 405 with the method it takes.
        (_, ["api", "instructeur", "dossiers"] | ["api", "instructeur", "dossiers", _])
        | (
            _,
            ["api", "instructeur", "export" | "exports", _]
            | ["api", "instructeur", "statistiques"],
        ) => Err(ApiError::MethodNotAllowed("GET")),
        (
            _,
            ["api", "instructeur", "dossiers", _, "decision" | "messages" | "webhook" | "acces"],
        ) => Err(ApiError::MethodNotAllowed("POST")),
        (_, ["api", "instructeur", ..]) => Err(ApiError::BadRequest(format!(
            "Adresse inconnue : /{}",
            segments.join("/")
        ))),
        _ => Err(ApiError::BadRequest("Adresse inconnue.".into())),
    }
}

/// The dossier `id` if it is within the instructeur's scope; outside it, the same 404 as an
/// unknown id (a scoped instructeur learns nothing of another département's dossiers).
pub(super) async fn load(
    app: &App,
    who: &Instructeur,
    id: &str,
) -> Result<DossierRecord, ApiError> {
    let not_found =
        || ApiError::NotFoundWith(format!("Aucun dossier ne porte l’identifiant {id}."));
    let id = DossierId::parse(id).ok_or_else(not_found)?;
    app.dossiers
        .get(&id)
        .await?
        .filter(|r| who.scope.allows(r))
        .ok_or_else(not_found)
}
