//! The router of the public routes (submit-dossier; `instructeur` routes its own). The routes
//! are those of `openapi.yaml`. `handle` never fails: every
//! error becomes a problem+json answer.

pub mod access;
pub mod dossiers;
pub mod front;
pub mod instructeur;
pub mod lookup;
pub mod messages;
pub mod pages;
pub mod problem;
pub mod request;
pub mod response;
pub mod seal;
pub mod signataire;
pub mod verification;
pub mod view;

use crate::App;
use lambda_http::{Body, Request, Response};
use problem::ApiError;
pub use request::MAX_BODY;
pub use response::ApiResult;

/// Entry point of the submit-dossier function.
pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = req.method().as_str().to_string();
    if let Err(e) = front::check(app, &req) {
        return Ok(e.into_response());
    }
    // A newer directory snapshot, once a minute at most: what the deposit checks is what the
    // lookups of the same minute showed.
    app.refresh_reference().await;
    let result = match (method.as_str(), segments.as_slice()) {
        ("POST", ["api", "dossiers"]) => dossiers::create(app, &req).await,
        ("GET", ["api", "dossiers", id]) => dossiers::show(app, &req, id).await,
        ("PATCH", ["api", "dossiers", id]) => dossiers::autosave(app, &req, id).await,
        ("POST", ["api", "dossiers", id, "depot"]) => dossiers::deposit(app, &req, id).await,
        ("GET", ["api", "dossiers", id, "convention"]) => dossiers::download(app, &req, id).await,
        ("DELETE", ["api", "dossiers", id]) => dossiers::delete(app, &req, id).await,
        ("POST", ["api", "dossiers", id, "signataire", "code"]) => {
            signataire::send(app, &req, id).await
        }
        ("POST", ["api", "dossiers", id, "signataire", "confirmation"]) => {
            signataire::confirm(app, &req, id).await
        }
        ("POST", ["api", "dossiers", id, "signataire"]) => signataire::propose(app, &req, id).await,
        (_, ["api", "dossiers", _, "signataire"]) => Err(ApiError::MethodNotAllowed("POST")),
        (_, ["api", "dossiers", _, "signataire", "code" | "confirmation"]) => {
            Err(ApiError::MethodNotAllowed("POST"))
        }
        ("GET", ["api", "dossiers", id, "messages"]) => messages::list(app, &req, id).await,
        ("POST", ["api", "dossiers", id, "messages"]) => messages::post(app, &req, id).await,
        ("GET", ["api", "conventions", "verification", code]) => {
            verification::verify(app, code).await
        }
        ("GET", ["api", "conventions", "certificat.pem"]) => seal::certificate_chain(app),
        ("POST", ["api", "dossiers", id, "resiliation"]) => {
            dossiers::terminate(app, &req, id).await
        }
        (_, ["api", "dossiers", _, "resiliation"]) => Err(ApiError::MethodNotAllowed("POST")),
        ("POST", ["api", "dossiers", id, "renouvellement"]) => dossiers::renew(app, &req, id).await,
        (_, ["api", "dossiers", _, "renouvellement"]) => Err(ApiError::MethodNotAllowed("POST")),
        ("POST", ["api", "dossiers", id, "avenant"]) => dossiers::open_avenant(app, &req, id).await,
        (_, ["api", "dossiers", _, "avenant"]) => Err(ApiError::MethodNotAllowed("POST")),
        ("POST", ["api", "acces", "lien"]) => access::lost_link(app, &req).await,
        (_, ["api", "acces", "lien"]) => Err(ApiError::MethodNotAllowed("POST")),
        (_, ["api", "dossiers"]) => Err(ApiError::MethodNotAllowed("POST")),
        (_, ["api", "dossiers", _]) => Err(ApiError::MethodNotAllowed("GET, PATCH, DELETE")),
        (_, ["api", "dossiers", _, "depot"]) => Err(ApiError::MethodNotAllowed("POST")),
        (_, ["api", "dossiers", _, "messages"]) => Err(ApiError::MethodNotAllowed("GET, POST")),
        (_, ["api", "dossiers", _, "convention"])
        | (_, ["api", "conventions", "verification", _])
        | (_, ["api", "conventions", "certificat.pem"]) => Err(ApiError::MethodNotAllowed("GET")),
        ("GET", ["api", "dossiers", id, "apercu"]) => pages::apercu(app, &req, id).await,
        (_, ["api", "dossiers", _, "apercu"]) => Err(ApiError::MethodNotAllowed("GET")),
        ("GET", []) => pages::start(app, &req),
        ("GET", ["demarche"] | ["dossiers", _]) => pages::form(app, &req),
        ("GET", ["verification", _]) => pages::verification(app, &req),
        ("GET", [name @ ("accessibilite" | "donnees-personnelles" | "mentions-legales")]) => {
            pages::legal(app, &req, name)
        }
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
