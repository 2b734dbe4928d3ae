//! notify-editor: tells the ENT editor's webhook that a dossier was accepted, so that GAR access
//! gets switched on. Signed the Standard Webhooks way (`standard_webhooks`), every
//! attempt recorded on the dossier; a failed attempt fails the stream record, so Lambda retries
//! it with its backoff, then sends it to the dead-letter queue; `POST
//! /api/instructeur/dossiers/{id}/webhook` schedules a delivery again (replay).

use super::{standard_webhooks, JobError, Outcome};
use crate::domain::dossier::{DossierRecord, WebhookEtat, WebhookTentative};
use crate::domain::school::SchoolDirectory;
use crate::domain::steps;
use crate::domain::time::Now;
use crate::domain::uai::Uai;
use crate::App;
use aws_lambda_events::event::dynamodb::EventRecord;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The record's dossier when this change scheduled a delivery (webhook_etat became
/// [`WebhookEtat::AEnvoyer`]); the same test as the template's FilterCriteria.
pub fn scheduled(record: &EventRecord) -> Option<DossierRecord> {
    let state = |image: &serde_dynamo::Item| -> Option<WebhookEtat> {
        image
            .get("webhook_etat")
            .and_then(|v| serde_dynamo::from_attribute_value(v.clone()).ok())
    };
    if state(&record.change.new_image) != Some(WebhookEtat::AEnvoyer)
        || state(&record.change.old_image) == Some(WebhookEtat::AEnvoyer)
    {
        return None;
    }
    serde_dynamo::from_item(record.change.new_image.clone()).ok()
}

/// The event type of an acceptance.
pub const ACCEPTEE: &str = "convention.acceptee";
/// The event type of an avenant's acceptance: `data.ecoles` is the resulting perimeter,
/// `data.avenant` says the schools to open (`ajouts`) and to withdraw (`retraits`).
pub const AVENANT_ACCEPTEE: &str = "convention.avenant_acceptee";
/// The event type of a termination that took effect: `data.ecoles` are the schools to withdraw.
pub const RESILIEE: &str = "convention.resiliee";

/// The event a delivery carries: the termination once the dossier is `resilie`, else the
/// acceptance.
fn kind(r: &DossierRecord) -> &'static str {
    if r.statut == crate::domain::dossier::Statut::Resilie {
        RESILIEE
    } else if r.avenant.is_some() {
        AVENANT_ACCEPTEE
    } else {
        ACCEPTEE
    }
}

/// How many times the dossier was accepted: the event's `version` (1, then 2 after a
/// reopening and a new acceptance…).
fn acceptances(r: &DossierRecord) -> usize {
    r.count_action(crate::domain::dossier::Decision::Accepter.label())
}

/// The event's own id, the same for every delivery of it, retries and replays alike
/// (`data.evenement_id`): an editor deduplicates events on it. `webhook-id` identifies the
/// message ([`event_id`]).
pub fn evenement_id(r: &DossierRecord) -> String {
    format!("evt_{}_{}_{}", r.id, kind(r), acceptances(r))
}

/// `contrat` of a school for the editor: `public` or `prive`, as the directory says today
/// (null when it no longer lists the school).
fn contrat(directory: &dyn SchoolDirectory, uai: &str) -> Value {
    let statut = Uai::parse(uai)
        .ok()
        .and_then(|u| directory.ecole(&u).map(|k| k.statut.to_lowercase()));
    match statut.as_deref() {
        Some(s) if s.starts_with("pub") => json!("public"),
        Some(s) if s.starts_with("priv") => json!("prive"),
        _ => Value::Null,
    }
}

/// The event of an accepted convention, Standard Webhooks shaped: `type`, `timestamp`, `data`.
///
/// It names the convention by its `numero` and the accepted perimeter (the schools), not by a
/// PDF version: notify-editor runs on the acceptance while generate-convention countersigns it
/// (version 2) in parallel, so whichever version is current at send time would race. Version
/// specific fields (`sha256`, `code_verification`) stay in the older top-level `convention`
/// only, for one release.
pub fn payload(r: &DossierRecord, timestamp: &str, directory: &dyn SchoolDirectory) -> Value {
    let d = r.depot.as_ref();
    let school = |e: &crate::domain::deposit::EcoleDeposee| json!({"uai": e.uai, "nom": e.nom, "commune": e.commune, "code_insee": e.code_insee});
    // The convention's schools now (after its avenants): those to open, or on a termination
    // those to withdraw.
    let ecoles: Vec<Value> = r
        .current_perimeter()
        .iter()
        .map(|e| {
            let mut v = school(e);
            v["contrat"] = contrat(directory, &e.uai);
            v
        })
        .collect();
    let older_ecoles: Vec<Value> = r.current_perimeter().iter().map(school).collect();
    let dossier = json!({"id": r.id, "numero": r.numero, "statut": r.statut, "depose_le": r.depose_le,
                         "accepte_le": r.accepte_le()});
    let collectivite = d.map(|d| json!({"siret": d.collectivite.siret, "siren": d.collectivite.siren, "nom": d.collectivite.nom}));
    let older_convention = r.convention.as_ref().map(|c| {
        json!({
            "sha256": c.sha256,
            "code_verification": c.code_verification,
            "version_texte": d.map(|d| d.signature.version_texte.clone()),
        })
    });
    json!({
        "type": kind(r),
        "timestamp": timestamp,
        "data": {
            // For `convention.resiliee`: who asked, why, and the day access ends.
            "resiliation": r.resiliation,
            // For `convention.avenant_acceptee`: the convention it amends and what changes.
            "avenant": avenant_change(r),
            "evenement_id": evenement_id(r),
            "numero": r.numero,
            "version": acceptances(r),
            "accepte_le": r.accepte_le(),
            "dossier": dossier,
            "collectivite": collectivite,
            "ecoles": ecoles,
            "convention": {
                "version_texte": d.map(|d| d.signature.version_texte.clone()),
                "depose_le": r.depose_le,
            },
        },
        // The body of the older integration, beside the new one for one release (README
        // « Webhook to the ENT editor »).
        "evenement": if kind(r) == RESILIEE { "dossier.resilie" } else { "dossier.accepte" },
        "dossier": dossier,
        "collectivite": collectivite,
        "ecoles": older_ecoles,
        "convention": older_convention,
    })
}

/// An avenant's number, its convention, and the schools it adds and withdraws (UAI, name).
fn avenant_change(r: &DossierRecord) -> Value {
    let (Some(a), Some(initiale), Some(d)) = (&r.avenant, &r.convention_initiale, &r.depot) else {
        return Value::Null;
    };
    let (ajouts, retraits) = crate::domain::steps::perimeter_change(&a.perimetre, &d.ecoles);
    let list = |l: &[crate::domain::deposit::EcoleDeposee]| {
        l.iter()
            .map(|e| json!({"uai": e.uai, "nom": e.nom, "commune": e.commune, "code_insee": e.code_insee}))
            .collect::<Vec<_>>()
    };
    json!({"rang": a.rang, "convention_initiale": initiale.numero, "ajouts": list(&ajouts), "retraits": list(&retraits)})
}

/// The message's id (`webhook-id`): the same for every retry of one delivery; a later
/// acceptance (after a reopening), or a replay the académie asks for (`POST …/webhook`), is
/// another message, so that an editor that lost what it received processes the replay. The
/// event keeps its id through replays: `data.evenement_id` ([`evenement_id`]).
pub fn event_id(r: &DossierRecord) -> String {
    let replays = r.count_action(crate::domain::steps::WEBHOOK_REPLAYED);
    let what = kind(r).trim_start_matches("convention.");
    format!("msg_{}_{what}_{}_{replays}", r.id, acceptances(r))
}

/// Until the editors move to Standard Webhooks: `sha256=<hex>` of HMAC-SHA256(secret,
/// "<timestamp>.<body>"), sent as `x-conventions-signature` beside the standard headers (for one
/// release, README « Remise à l’éditeur »).
pub fn signature(secret: &[u8], timestamp: i64, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub async fn deliver(app: &App, from_stream: DossierRecord) -> Result<Outcome, JobError> {
    let Some(record) = app.dossiers.get(&from_stream.id).await? else {
        return Ok(Outcome::Skipped);
    };
    // The editor of the dossier's territory, as configured now.
    let Some((editeur, url)) = app
        .editeur(&record)
        .and_then(|e| e.webhook_url.clone().map(|u| (e, u)))
    else {
        return Ok(Outcome::Skipped);
    };
    if let Err(pass) = steps::webhook_due(&record) {
        return Ok(pass.into());
    }
    app.refresh_reference().await;
    let now = Now::system();
    let ts = now.seconds();
    let body = payload(&record, &now.stamp(), app.directory().as_ref()).to_string();
    let id = event_id(&record);
    // During a rotation, one signature per secret (space-separated, as Standard Webhooks
    // allows): an editor verifying with either accepts the call.
    let standard = std::iter::once(&editeur.webhook_secret)
        .chain(editeur.webhook_secret_precedent.as_ref())
        .map(|s| standard_webhooks::signature(&standard_webhooks::key(s), &id, ts, &body))
        .collect::<Vec<_>>()
        .join(" ");
    let sig = signature(editeur.webhook_secret.as_bytes(), ts, &body);
    let attempt_no = record.nb_webhook_attempts() + 1;
    let delivery = format!("{}-{attempt_no}", record.id);
    let started = Instant::now();
    // (HTTP status or 0, error) — mapped inside the closure: ureq's error is large.
    let (statut_http, erreur) = tokio::task::spawn_blocking(move || {
        let answer = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(5))
            .build()
            .post(&url)
            .set("content-type", "application/json")
            .set("webhook-id", &id)
            .set("webhook-timestamp", &ts.to_string())
            .set("webhook-signature", &standard)
            .set("x-conventions-timestamp", &ts.to_string())
            .set("x-conventions-signature", &sig)
            .set("x-conventions-livraison", &delivery)
            .send_string(&body);
        match answer {
            Ok(resp) => (resp.status(), None),
            Err(ureq::Error::Status(code, _)) => (code, Some(format!("HTTP {code}"))),
            // The kind only: ureq's message carries the URL, which may hold the editor's token.
            Err(ureq::Error::Transport(t)) => (0, Some(t.kind().to_string())),
        }
    })
    .await
    .map_err(|e| JobError::Incoherent(from_stream.id.to_string(), e.to_string()))?;
    let delivered = (200..300).contains(&statut_http);
    let attempt = WebhookTentative {
        le: Now::system().stamp(),
        statut_http,
        erreur: erreur.clone(),
        duree_ms: started.elapsed().as_millis() as u64,
        editeur: Some(editeur.id.clone()),
    };
    if let Ok(change) = steps::record_webhook_attempt(&record, attempt) {
        app.dossiers
            .record_webhook_attempt(&record, &change)
            .await?;
    }
    if delivered {
        Ok(Outcome::Done)
    } else {
        Err(JobError::Incoherent(
            record.id.to_string(),
            format!("webhook : {}", erreur.unwrap_or_default()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_over_timestamp_and_body() {
        let a = signature(b"k", 1, "{}");
        assert!(a.starts_with("sha256=") && a.len() == 7 + 64);
        assert_ne!(a, signature(b"k", 2, "{}"));
        assert_ne!(a, signature(b"k", 1, "{ }"));
        assert_ne!(a, signature(b"autre", 1, "{}"));
    }
}
