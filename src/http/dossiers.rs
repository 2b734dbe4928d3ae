//! Applicant routes: create, autosave, deposit, read, download, delete.

use super::problem::ApiError;
use super::request::{client_context, json_body, presented_jeton};
use super::response::{json, ApiResult};
use super::view::view;
use crate::domain::deposit::{flag_outside_territory, validate, SigningContext};
use crate::domain::dossier::DossierRecord;
use crate::domain::draft::Draft;
use crate::domain::draft::FieldError;
use crate::domain::ids::{access_granted, DossierId, Jeton};
use crate::domain::life::{Actor, Step};
use crate::domain::siret::Siret;
use crate::domain::steps;
use crate::domain::time::Now;
use crate::identification::identify;
use crate::links;
use crate::ports::StoreError;
use crate::render::current_version;
use crate::App;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

pub async fn create(app: &App, req: &Request) -> ApiResult {
    let draft = Draft::from_json(&json_body(req)?).map_err(ApiError::Validation)?;
    let n = app.dossiers.next_numero().await?;
    let id = DossierId::generate();
    let jeton = Jeton::generate();
    let record = steps::create(id.clone(), n, jeton.hash(), draft, &Now::system());
    app.dossiers.create(&record).await?;
    tracing::info!(dossier = %id, numero = %record.numero, "draft created");
    Ok(json(
        201,
        &json!({
            "id": record.id,
            "numero": record.numero,
            "jeton": jeton.as_str(),
            "url": links::private_page(&app.config, &id, jeton.as_str()),
        }),
    ))
}

/// The dossier, if the presented jeton opens it. Unknown ids, malformed ids and wrong jetons
/// all give the same 404, after the same hashing work.
pub(crate) async fn authorize(
    app: &App,
    req: &Request,
    id: &str,
) -> Result<DossierRecord, ApiError> {
    let presented = presented_jeton(req).unwrap_or_default();
    let secret = app.config.link_secret.as_bytes();
    let Some(id) = DossierId::parse(id) else {
        let _ = access_granted(&presented, "", secret, &DossierId::generate(), 0);
        return Err(ApiError::NotFound);
    };
    let record = app.dossiers.get(&id).await?;
    let stored = record
        .as_ref()
        .map(|r| r.jeton_sha256.as_str())
        .unwrap_or("");
    let generation = record.as_ref().map_or(0, |r| r.acces_generation);
    // During a rotation of the link secret, links made with the previous one still open.
    let previous = app
        .config
        .link_secret_precedent
        .as_deref()
        .is_some_and(|p| access_granted(&presented, stored, p.as_bytes(), &id, generation));
    if (access_granted(&presented, stored, secret, &id, generation) || previous)
        && !presented.is_empty()
    {
        record.ok_or(ApiError::NotFound)
    } else {
        Err(ApiError::NotFound)
    }
}

pub async fn show(app: &App, req: &Request, id: &str) -> ApiResult {
    let record = authorize(app, req, id).await?;
    Ok(json(200, &view(app, &record)))
}

pub async fn autosave(app: &App, req: &Request, id: &str) -> ApiResult {
    let mut record = authorize(app, req, id).await?;
    steps::allowed(Step::Autosave, &record, &Actor::Collectivite)?;
    let patch = Draft::from_json(&json_body(req)?).map_err(ApiError::Validation)?;
    let change = steps::autosave(&record, patch, &Actor::Collectivite, &Now::system())?;
    match app.dossiers.save_draft(&record, &change).await {
        Err(StoreError::Conflict) => Err(ApiError::Conflict(
            "Le dossier vient d’être déposé : le brouillon ne peut plus être modifié.".into(),
        )),
        r => r.map_err(ApiError::from),
    }?;
    change.apply(&mut record);
    Ok(json(200, &view(app, &record)))
}

pub async fn deposit(app: &App, req: &Request, id: &str) -> ApiResult {
    let mut record = authorize(app, req, id).await?;
    let actor = Actor::Collectivite;
    steps::allowed(Step::Deposit, &record, &actor)?;
    let patch = Draft::from_json(&json_body(req)?).map_err(ApiError::Validation)?;
    let mut brouillon = record.brouillon.clone();
    brouillon.merge(patch);
    let (ip, user_agent) = client_context(req);
    let now = Now::system();
    let mut depot = validate(
        &brouillon,
        app.directory().as_ref(),
        SigningContext {
            horodatage: now.stamp(),
            ip,
            user_agent,
            version_texte: current_version().to_string(),
            confirmation: record.confirmation_signataire.clone(),
        },
    )
    .map_err(ApiError::Validation)?;
    let siret = Siret::parse(&depot.collectivite.siret).expect("validated");
    let who = identify(&app.directory(), app.registry.as_ref(), &siret).await;
    if who.pas_une_collectivite {
        return Err(ApiError::Validation(vec![FieldError::new(
            "collectivite.siret",
            format!(
                "Ce SIRET est celui de « {} », qui n’est pas une collectivité (commune, EPCI, \
                 syndicat…) : la convention est signée par la commune ou le groupement qui \
                 gère les écoles.",
                who.nom.as_deref().unwrap_or("un établissement")
            ),
        )]));
    }
    if let Some(territoire) = app.directory().territoire(siret.siren()) {
        let runs: Vec<String> = app
            .directory()
            .ecoles_of_siren(siret.siren())
            .iter()
            .map(|e| e.uai.clone())
            .collect();
        flag_outside_territory(&mut depot.ecoles, &territoire, &runs);
    }
    depot.collectivite.nom = who.nom;
    depot.collectivite.adresse = who.adresse;
    depot.collectivite.verifie = who.verifie;
    depot.collectivite.departement = who.departement.or_else(|| {
        crate::domain::perimeter::departement_of_collectivite(None, None, &depot.ecoles)
    });
    let outside = crate::domain::perimeter::outside(&app.config.academie, &depot);
    if !outside.is_empty() {
        return Err(ApiError::Validation(outside));
    }
    let ecoles = depot.ecoles.len();
    let change = steps::deposit(&record, brouillon, depot, &actor, &now)?;
    match app.dossiers.deposit(&record, &change).await {
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict("Ce dossier a déjà été déposé.".into()))
        }
        r => r?,
    }
    tracing::info!(dossier = %record.id, ecoles, "dossier deposited");
    change.apply(&mut record);
    Ok(json(200, &view(app, &record)))
}

/// The current convention, or with `?version=N` that version (400 when N is not a version
/// number, 404 when the dossier has no such version).
pub async fn download(app: &App, req: &Request, id: &str) -> ApiResult {
    let record = authorize(app, req, id).await?;
    let asked =
        match req
            .query_string_parameters_ref()
            .and_then(|q| q.first("version"))
        {
            None => None,
            Some(v) => match v {
                n if !n.is_empty() && n.len() <= 9 && n.bytes().all(|b| b.is_ascii_digit()) => {
                    Some(n.parse::<u32>().expect("at most nine digits"))
                }
                _ => return Err(ApiError::BadRequest(
                    "Le paramètre version doit être un numéro de version de la convention (1, 2…)."
                        .into(),
                )),
            },
        };
    let Some(current) = &record.convention else {
        let detail = if record.depot.is_none() {
            "Le dossier n’est pas encore déposé : la convention n’existe pas encore."
        } else {
            "La convention est en cours de génération : réessayez dans quelques secondes."
        };
        return Err(ApiError::Conflict(detail.into()));
    };
    let c = match asked {
        None => current,
        Some(n) => record.version(n).ok_or_else(|| {
            ApiError::NotFoundWith(format!(
                "Ce dossier n’a pas de version {n} de la convention (versions : {}).",
                record
                    .versions()
                    .iter()
                    .map(|c| c.version.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?,
    };
    // Version 1 keeps the file name it always had.
    let filename = match c.version {
        1 => format!("convention-{}.pdf", record.numero),
        v => format!("convention-{}-v{v}.pdf", record.numero),
    };
    let url = app
        .documents
        .presign_get(
            &c.cle,
            &filename,
            "application/pdf",
            app.config.presign_ttl_seconds,
        )
        .await?;
    Ok(crate::http::response::to_presigned(url))
}

/// `POST /api/dossiers/{id}/renouvellement` (body `{}`): a new draft of nature
/// `renouvellement`, pre-filled from this convention; 201 as for a created draft, with the new
/// dossier's own jeton.
pub async fn renew(app: &App, req: &Request, id: &str) -> ApiResult {
    follow_up(app, req, id, steps::renew).await
}

/// `POST /api/dossiers/{id}/avenant` (body `{}`): a new draft of nature `avenant`, pre-filled
/// with the convention's current perimeter.
pub async fn open_avenant(app: &App, req: &Request, id: &str) -> ApiResult {
    follow_up(app, req, id, steps::open_avenant).await
}

/// The step that makes a new dossier from a convention (`steps::renew`, `steps::open_avenant`).
type FollowUp = fn(
    &DossierRecord,
    DossierId,
    u64,
    String,
    &Actor,
    &Now,
) -> Result<DossierRecord, crate::domain::life::Refusal>;

/// A new draft following the convention `id`: created with its own number and jeton, 201.
async fn follow_up(app: &App, req: &Request, id: &str, step: FollowUp) -> ApiResult {
    let record = authorize(app, req, id).await?;
    let body = json_body(req)?;
    if body.as_object().is_none_or(|o| !o.is_empty()) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "",
            "Le corps est un objet vide {} : le nouveau dossier est prérempli à partir de la \
             convention.",
        )]));
    }
    // Refused before a number is taken.
    step(
        &record,
        DossierId::generate(),
        0,
        String::new(),
        &Actor::Collectivite,
        &Now::system(),
    )?;
    let n = app.dossiers.next_numero().await?;
    let new_id = DossierId::generate();
    let jeton = Jeton::generate();
    let draft = step(
        &record,
        new_id.clone(),
        n,
        jeton.hash(),
        &Actor::Collectivite,
        &Now::system(),
    )?;
    app.dossiers.create(&draft).await?;
    tracing::info!(dossier = %new_id, initiale = %record.numero, nature = ?draft.nature, "follow-up draft created");
    Ok(json(
        201,
        &json!({
            "id": draft.id,
            "numero": draft.numero,
            "jeton": jeton.as_str(),
            "url": links::private_page(&app.config, &new_id, jeton.as_str()),
        }),
    ))
}

/// `POST /api/dossiers/{id}/resiliation` `{"motif"}`: the collectivité terminates its convention
/// (three months' notice); both sides are told.
pub async fn terminate(app: &App, req: &Request, id: &str) -> ApiResult {
    let mut record = authorize(app, req, id).await?;
    let body = json_body(req)?;
    let mut errors = Vec::new();
    let motif = crate::http::request::long_text(
        &body,
        "motif",
        true,
        "Indiquez le motif de la résiliation : il est transmis à l’académie.",
    )
    .map_err(|e| errors.push(e))
    .ok()
    .flatten();
    if let Some(o) = body.as_object() {
        for k in o.keys().filter(|k| k.as_str() != "motif") {
            errors.push(FieldError::new(
                k.chars().take(60).collect::<String>(),
                "Champ inconnu : le seul champ accepté est motif.",
            ));
        }
    }
    let Some(motif) = motif.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let change = steps::terminate(&record, motif, &Actor::Collectivite, &Now::system())?;
    match app.dossiers.terminate(&record, &change).await {
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict(
                "La convention a changé entre-temps (résiliation déjà demandée, ou décision de \
                 l’académie) : rechargez la page."
                    .into(),
            ))
        }
        r => r?,
    }
    change.apply(&mut record);
    let email_envoye = crate::mail::send_notices(app, &record, &change.notices).await;
    let mut v = view(app, &record);
    v["email_envoye"] = json!(email_envoye);
    Ok(json(200, &v))
}

/// The applicant deletes a draft (a deposited dossier is kept: 409).
pub async fn delete(app: &App, req: &Request, id: &str) -> ApiResult {
    let record = authorize(app, req, id).await?;
    let change = steps::delete_draft(&record, &Actor::Collectivite)?;
    match app.dossiers.delete_draft(&record, &change).await {
        // Deposited meanwhile: say so as the step would.
        Err(StoreError::Conflict) => match app.dossiers.get(&record.id).await? {
            Some(now) => Err(steps::delete_draft(&now, &Actor::Collectivite)
                .err()
                .map(ApiError::from)
                .unwrap_or(ApiError::Conflict(
                    "Le dossier a changé d’état entre-temps.".into(),
                ))),
            None => Err(ApiError::NotFound),
        },
        r => r.map_err(ApiError::from),
    }?;
    Ok(Response::builder()
        .status(204)
        .body(Body::Empty)
        .expect("static"))
}
