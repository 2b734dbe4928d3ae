//! Reference data routes (school-lookup): communes, schools, collectivité by SIRET.

use super::problem::ApiError;
use super::response::{json, ApiResult};
use crate::domain::draft::FieldError;
use crate::domain::perimeter::{departement_of, lowercase_first};
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
    app.refresh_reference().await;
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
    // Communes of départements the académie does not serve are left out; when they are all
    // the search found, the answer says where the académie stops (422 on `q`).
    let directory = app.directory();
    let found = directory.search_communes(&q, 40);
    let academie = &app.config.academie;
    let (inside, outside): (Vec<_>, Vec<_>) = found
        .into_iter()
        .partition(|c| academie.serves(c.departement));
    if let (true, Some(c)) = (inside.is_empty(), outside.first()) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "q",
            format!(
                "{} ({}) est dans le département {} : l’{} sert {}. Une collectivité de ce                  département dépose sa convention auprès de son académie.",
                c.nom,
                c.code_insee,
                c.departement,
                lowercase_first(&academie.nom),
                academie.served_text()
            ),
        )]));
    }
    Ok(json(
        200,
        &json!(inside.into_iter().take(20).collect::<Vec<_>>()),
    ))
}

/// 404 naming where the académie stops, for a commune of a département it does not serve.
fn outside_academie(app: &App, code_insee: &str, what: &str) -> Result<(), ApiError> {
    let academie = &app.config.academie;
    let d = departement_of(code_insee);
    if academie.serves(&d) {
        return Ok(());
    }
    Err(ApiError::NotFoundWith(format!(
        "{what} est dans le département {d} : l’{} sert {}.",
        lowercase_first(&academie.nom),
        academie.served_text()
    )))
}

fn ecoles_of_commune(app: &App, code: &str) -> ApiResult {
    if app.directory().commune(code).is_some() {
        outside_academie(app, code, &format!("La commune de code INSEE {code}"))?;
    }
    if app.directory().commune(code).is_none() {
        return Err(ApiError::NotFoundWith(format!(
            "Aucune école connue dans la commune de code INSEE {code}."
        )));
    }
    let list: Vec<Value> = app
        .directory()
        .ecoles_of(code)
        .into_iter()
        .map(ecole_json)
        .collect();
    Ok(json(200, &Value::Array(list)))
}

fn ecole(app: &App, uai: &str) -> ApiResult {
    let uai = Uai::parse(uai).map_err(|e| ApiError::BadRequest(e.message().into()))?;
    let directory = app.directory();
    let e = directory.ecole(&uai).ok_or_else(|| {
        ApiError::NotFoundWith(format!("Aucune école de l’annuaire ne porte l’UAI {uai}."))
    })?;
    outside_academie(
        app,
        &e.code_insee,
        &format!("L’école {} ({uai}, {})", e.nom, e.commune),
    )?;
    Ok(json(200, &ecole_json(e)))
}

async fn collectivite(app: &App, siret: &str) -> ApiResult {
    let siret = Siret::parse(siret).map_err(|e| ApiError::BadRequest(e.message().into()))?;
    let who = identify(&app.directory(), app.registry.as_ref(), &siret).await;
    let academie = &app.config.academie;
    if let Some(d) = who.departement.as_deref().filter(|d| !academie.serves(d)) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "siret",
            format!(
                "{} relève du département {d} : l’{} sert {}. La convention se dépose auprès                  de l’académie de ce département.",
                who.nom.as_deref().unwrap_or("Cette collectivité"),
                lowercase_first(&academie.nom),
                academie.served_text()
            ),
        )]));
    }
    let proposees: Vec<Value> = app
        .directory()
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
            "departement": who.departement,
            "adresse": who.adresse,
            "ecoles_proposees": proposees,
            "verifie": who.verifie,
        }),
    ))
}
