//! An instructeur's decision on a dossier, and the webhook replay.

use super::auth::Instructeur;
use super::list::summary;
use super::load;
use crate::domain::dossier::Decision;
use crate::domain::draft::FieldError;
use crate::domain::life::Actor;
use crate::domain::steps;
use crate::domain::time::Now;
use crate::http::problem::ApiError;
use crate::http::request::{json_body, long_text};
use crate::http::response::{json, ApiResult};
use crate::ports::StoreError;
use crate::App;
use lambda_http::Request;
use serde_json::{json, Value};

pub(super) fn actor(who: &Instructeur) -> Actor {
    Actor::Instructeur {
        sub: who.sub.clone(),
        email: who.email.clone(),
        nom: who.nom.clone(),
    }
}

pub(super) async fn decide(app: &App, req: &Request, who: &Instructeur, id: &str) -> ApiResult {
    let body = json_body(req)?;
    // The académie's termination is asked here too (`resilier`), though it moves no statut
    // now: it takes effect after the notice.
    if body.get("action").and_then(Value::as_str) == Some("resilier") {
        return terminate(app, &body, who, id).await;
    }
    let mut errs = Vec::new();
    let decision = match body
        .get("action")
        .and_then(Value::as_str)
        .map(Decision::parse)
    {
        Some(Some(d)) => Some(d),
        _ => {
            errs.push(FieldError::new(
                "action",
                "Action attendue : passer_en_instruction, accepter, refuser, classer_sans_suite, repasser_en_instruction, repasser_en_construction ou resilier.",
            ));
            None
        }
    };
    let required = decision.is_some_and(Decision::needs_motif);
    let motif = long_text(&body, "motif", required, "Ce champ est obligatoire.")
        .map_err(|e| errs.push(e))
        .ok()
        .flatten();
    if let Some(o) = body.as_object() {
        for k in o
            .keys()
            .filter(|k| !["action", "motif"].contains(&k.as_str()))
        {
            errs.push(FieldError::new(
                k.chars().take(60).collect::<String>(),
                "Champ inconnu : les champs acceptés sont action et motif.",
            ));
        }
    }
    let Some(decision) = decision.filter(|_| errs.is_empty()) else {
        return Err(ApiError::Validation(errs));
    };
    let r = load(app, who, id).await?;
    let change = steps::decide(
        &r,
        decision,
        motif,
        &actor(who),
        &Now::system(),
        &app.policy(&r),
    )?;
    // An avenant accepted: its convention takes its perimeter in the same transaction.
    let written = match (&r.convention_initiale, r.avenant.is_some(), decision) {
        (Some(initiale), true, Decision::Accepter) => {
            let convention = load(app, who, initiale.id.as_str()).await?;
            let mut accepted = r.clone();
            change.apply(&mut accepted);
            let apply = steps::apply_avenant(&convention, &accepted, &actor(who), &Now::system())?;
            app.dossiers
                .accept_avenant((&r, &change), (&convention, &apply))
                .await
        }
        _ => app.dossiers.decide(&r, &change).await,
    };
    match written {
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict(
                "Le dossier a changé d’état entre-temps : rechargez-le.".into(),
            ))
        }
        other => other?,
    }
    let email_envoye = crate::mail::send_notices(app, &r, &change.notices).await;
    let updated = load(app, who, id).await?;
    let mut v = summary(&updated);
    v["email_envoye"] = json!(email_envoye);
    // A first acceptance is mailed with the countersigned convention, being rendered now.
    v["contresignature_en_cours"] = json!(steps::countersignature_follows(&r, decision));
    Ok(json(200, &v))
}

/// `{"action": "resilier", "motif"}`: the académie terminates an accepted convention.
async fn terminate(app: &App, body: &Value, who: &Instructeur, id: &str) -> ApiResult {
    let mut errs = Vec::new();
    let motif = long_text(
        body,
        "motif",
        true,
        "Indiquez le motif de la résiliation : il est envoyé à la collectivité.",
    )
    .map_err(|e| errs.push(e))
    .ok()
    .flatten();
    if let Some(o) = body.as_object() {
        for k in o
            .keys()
            .filter(|k| !["action", "motif"].contains(&k.as_str()))
        {
            errs.push(FieldError::new(
                k.chars().take(60).collect::<String>(),
                "Champ inconnu : les champs acceptés sont action et motif.",
            ));
        }
    }
    let Some(motif) = motif.filter(|_| errs.is_empty()) else {
        return Err(ApiError::Validation(errs));
    };
    let r = load(app, who, id).await?;
    let change = steps::terminate(&r, motif, &actor(who), &Now::system())?;
    match app.dossiers.terminate(&r, &change).await {
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict(
                "Le dossier a changé entre-temps : rechargez-le.".into(),
            ))
        }
        other => other?,
    }
    let mut after = r.clone();
    change.apply(&mut after);
    let email_envoye = crate::mail::send_notices(app, &after, &change.notices).await;
    let mut v = summary(&after);
    v["email_envoye"] = json!(email_envoye);
    v["resiliation"] = json!(after.resiliation);
    v["contresignature_en_cours"] = json!(false);
    Ok(json(200, &v))
}

/// Sends the webhook again (after an outage of the editor, or on its request).
pub(super) async fn replay_webhook(app: &App, who: &Instructeur, id: &str) -> ApiResult {
    let r = load(app, who, id).await?;
    let change = steps::request_webhook(&r, &actor(who), &Now::system(), &app.policy(&r))?;
    match app.dossiers.request_webhook(&r, &change).await {
        Err(StoreError::Conflict) => Err(ApiError::Conflict(
            "Seul un dossier accepté est transmis à l’éditeur ENT.".into(),
        )),
        r => r.map_err(ApiError::from),
    }?;
    let mut after = r.clone();
    change.apply(&mut after);
    Ok(json(
        202,
        &json!({"webhook_etat": after.webhook_etat, "tentatives": r.nb_webhook_attempts()}),
    ))
}
