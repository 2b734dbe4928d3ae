//! Reference data routes (school-lookup): communes, schools, collectivité by SIRET.

use super::problem::ApiError;
use super::response::{json, ApiResult};
use crate::domain::school::{Ecole, SchoolDirectory};
use crate::domain::siret::Siret;
use crate::domain::uai::Uai;
use crate::identification::identify;
use crate::App;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{json, Value};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if let Err(e) = super::front::check(app, &req) {
        return Ok(e.into_response());
    }
    let result = match (req.method().as_str(), segments.as_slice()) {
        ("GET", ["api", "communes"]) => communes(app, &req),
        ("GET", ["api", "communes", code, "ecoles"]) => ecoles_of_commune(app, code),
        ("GET", ["api", "ecoles", uai]) => ecole(app, uai),
        ("GET", ["api", "collectivites", siret]) => collectivite(app, siret).await,
        (_, ["api", "communes", ..] | ["api", "ecoles", _] | ["api", "collectivites", _]) => {
            Err(ApiError::MethodNotAllowed("GET"))
        }
        _ => Err(ApiError::BadRequest(format!("Adresse inconnue : {path}"))),
    };
    Ok(result.unwrap_or_else(ApiError::into_response))
}

/// A school on the wire, with the procedure's label: "Ecole primaire , BENAMENIL (0540232J)".
pub fn ecole_json(e: &Ecole) -> Value {
    json!({
        "uai": e.uai,
        "nom": e.nom,
        "nature": e.nature,
        "statut": e.statut,
        "code_insee": e.code_insee,
        "commune": e.commune,
        "libelle": format!("{} , {} ({})", e.nom, e.commune.to_uppercase(), e.uai),
    })
}

fn communes(app: &App, req: &Request) -> ApiResult {
    let q = req
        .query_string_parameters_ref()
        .and_then(|p| p.first("q"))
        .unwrap_or("")
        .to_string();
    if q.chars().count() > 100 {
        return Err(ApiError::BadRequest(
            "La recherche est trop longue (100 caractères au plus).".into(),
        ));
    }
    Ok(json(200, &json!(app.directory.search_communes(&q, 20))))
}

fn ecoles_of_commune(app: &App, code: &str) -> ApiResult {
    if app.directory.commune(code).is_none() {
        return Err(ApiError::NotFoundWith(format!(
            "Aucune école connue dans la commune de code INSEE {code}."
        )));
    }
    let list: Vec<Value> = app
        .directory
        .ecoles_of(code)
        .into_iter()
        .map(ecole_json)
        .collect();
    Ok(json(200, &Value::Array(list)))
}

fn ecole(app: &App, uai: &str) -> ApiResult {
    let uai = Uai::parse(uai).map_err(|e| ApiError::BadRequest(e.message().into()))?;
    let e = app.directory.ecole(&uai).ok_or_else(|| {
        ApiError::NotFoundWith(format!("Aucune école de l’annuaire ne porte l’UAI {uai}."))
    })?;
    Ok(json(200, &ecole_json(e)))
}

async fn collectivite(app: &App, siret: &str) -> ApiResult {
    let siret = Siret::parse(siret).map_err(|e| ApiError::BadRequest(e.message().into()))?;
    let who = identify(&app.directory, app.registry.as_ref(), &siret).await;
    let proposees: Vec<Value> = app
        .directory
        .ecoles_proposees(siret.siren())
        .into_iter()
        .map(ecole_json)
        .collect();
    Ok(json(
        200,
        &json!({
            "siret": siret.as_str(),
            "siren": siret.siren(),
            "nom": who.nom,
            "nature": who.nature,
            "code_insee": who.code_insee,
            "adresse": who.adresse,
            "ecoles_proposees": proposees,
            "verifie": who.verifie,
        }),
    ))
}
