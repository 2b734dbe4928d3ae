//! `POST /api/editeur/ecoles`: the ENT editor's answer on the GAR access of conventioned
//! schools, authenticated by its Standard Webhooks signature with the answer secret
//! (`EDITOR_ANSWER_SECRET`), not by an instructeur's token. Served by instructeur-api beside
//! the export: both read every accepted dossier (the `par-depot` index), the académie's
//! back-office side, not the applicants' function.
//!
//! Each editor signs with its own answer secret (`crate::editeurs`) and answers for the schools
//! of the dossiers handed over to it only.
//!
//! All or nothing: every school must belong to an accepted convention of that editor, else a 422 names each
//! item at fault and nothing is written. Written dossier by dossier (one conditional write
//! each); should one write fail midway, the answer is safe to send again: the same answer
//! twice leaves the same state.

use crate::domain::dossier::{DossierRecord, Statut};
use crate::domain::draft::FieldError;
use crate::domain::gar::{capped, parse_answer, ReponseEcole};
use crate::domain::life::Actor;
use crate::domain::steps;
use crate::domain::time::{paris, Now};
use crate::editeurs::Editeur;
use crate::http::problem::ApiError;
use crate::http::request::{body_bytes, json_body_unbounded};
use crate::http::response::{json, ApiResult};
use crate::jobs::standard_webhooks;
use crate::ports::{ListFilter, StoreError};
use crate::App;
use lambda_http::Request;
use serde_json::json;
use std::collections::HashMap;

/// Largest answer body: 1 000 schools with a reason each fit.
pub const MAX_ANSWER_BODY: usize = 512 * 1024;

pub(super) async fn answer(app: &App, req: &Request) -> ApiResult {
    // Each editor signs with its own answer secret: the one that verifies says who answers.
    let editeurs: Vec<Editeur> = app
        .config
        .all_editeurs()
        .into_iter()
        .filter(|e| e.answer_secret.is_some())
        .collect();
    if editeurs.is_empty() {
        return Err(ApiError::NotFoundWith(
            "Ce service n’attend pas de réponse d’éditeur ENT (aucun secret de réponse configuré)."
                .into(),
        ));
    }
    let body = body_bytes(req);
    if body.len() > MAX_ANSWER_BODY {
        return Err(ApiError::PayloadTooLargeWith(format!(
            "Le corps de la réponse dépasse {} Kio : envoyez les écoles en plusieurs fois.",
            MAX_ANSWER_BODY / 1024
        )));
    }
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    let now = Now::system();
    let mut refused = standard_webhooks::Refused::Signature;
    // Each editor's key, and during a rotation the one it replaces.
    let editeur = editeurs.iter().find(|e| {
        e.answer_secret
            .iter()
            .chain(e.answer_secret_precedent.as_ref())
            .any(|key| {
                match standard_webhooks::verify(
                    key.key(),
                    header("webhook-id"),
                    header("webhook-timestamp"),
                    header("webhook-signature"),
                    body,
                    now.seconds(),
                ) {
                    Ok(()) => true,
                    Err(r) => {
                        refused = r;
                        false
                    }
                }
            })
    });
    let Some(editeur) = editeur else {
        return Err(ApiError::Signature(refused.detail()));
    };
    let value = json_body_unbounded(req)?;
    let today = paris(now.utc()).date_naive();
    let answers = parse_answer(&value, today).map_err(ApiError::Validation)?;

    // The accepted dossiers holding each school (usually one).
    let filter = ListFilter {
        statuts: vec![Statut::Accepte],
        chronologique: true,
        ..ListFilter::default()
    };
    // The editor answers for the schools handed over to it only.
    let accepted: Vec<DossierRecord> = app
        .dossiers
        .all_deposited(&filter)
        .await?
        .into_iter()
        .filter(|r| app.editeur(r).is_some_and(|e| e.id == editeur.id))
        .collect();
    let mut holders: HashMap<&str, Vec<usize>> = HashMap::new();
    for (k, r) in accepted.iter().enumerate() {
        for e in r.depot.iter().flat_map(|d| &d.ecoles) {
            let list = holders.entry(e.uai.as_str()).or_default();
            if list.last() != Some(&k) {
                list.push(k);
            }
        }
    }
    let mut errors = Vec::new();
    let mut per_dossier: HashMap<usize, Vec<ReponseEcole>> = HashMap::new();
    for a in &answers {
        match holders.get(a.uai.as_str()) {
            None => errors.push(FieldError::new(
                format!("ecoles[{}].uai", a.index),
                format!(
                    "L’école {} ne figure dans aucune convention acceptée dont l’académie vous a confié les écoles.",
                    a.uai
                ),
            )),
            Some(ks) => {
                for k in ks {
                    per_dossier.entry(*k).or_default().push(a.clone());
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(capped(errors)));
    }
    let mut order: Vec<usize> = per_dossier.keys().copied().collect();
    order.sort_unstable();
    for k in order {
        record(app, accepted[k].clone(), &per_dossier[&k], editeur).await?;
    }
    Ok(json(200, &json!({ "enregistrees": answers.len() })))
}

/// The step on one dossier, written; read again and decided again when the dossier changed
/// meanwhile (another answer, a decision).
async fn record(
    app: &App,
    mut r: DossierRecord,
    answers: &[ReponseEcole],
    editeur: &Editeur,
) -> Result<(), ApiError> {
    // The audit trail names which editor answered.
    let actor = Actor::Editeur {
        par: format!("éditeur ENT : {}", editeur.nom),
    };
    for _ in 0..3 {
        let Some(change) = steps::record_editor_answer(&r, answers, &actor, &Now::system())? else {
            return Ok(());
        };
        match app.dossiers.record_editor_answer(&r, &change).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict) => match app.dossiers.get(&r.id).await? {
                Some(fresh) => r = fresh,
                None => return Ok(()),
            },
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(format!(
        "Le dossier {} a changé pendant l’enregistrement : renvoyez la même réponse.",
        r.numero
    )))
}
