//! notify-editor: tells the ENT editor's webhook that a dossier was accepted, so that GAR access
//! gets switched on. Signed the Standard Webhooks way (`standard_webhooks`), every
//! attempt recorded on the dossier; a failed attempt fails the stream record, so Lambda retries
//! it with its backoff, then sends it to the dead-letter queue; `POST
//! /api/instructeur/dossiers/{id}/webhook` schedules a delivery again (replay).

use super::{standard_webhooks, JobError, Outcome};
use crate::domain::dossier::{DossierRecord, WebhookEtat, WebhookTentative};
use crate::domain::steps;
use crate::domain::time::Now;
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

/// The event of an accepted convention, Standard Webhooks shaped: `type`, `timestamp`, `data`.
pub fn payload(r: &DossierRecord, timestamp: &str) -> Value {
    let d = r.depot.as_ref();
    let ecoles: Vec<Value> = d
        .map(|d| {
            d.ecoles
                .iter()
                .map(|e| json!({"uai": e.uai, "nom": e.nom, "commune": e.commune, "code_insee": e.code_insee}))
                .collect()
        })
        .unwrap_or_default();
    let dossier = json!({"id": r.id, "numero": r.numero, "statut": r.statut, "depose_le": r.depose_le,
                         "accepte_le": r.accepte_le()});
    let collectivite = d.map(|d| json!({"siret": d.collectivite.siret, "siren": d.collectivite.siren, "nom": d.collectivite.nom}));
    let convention = r.convention.as_ref().map(|c| {
        json!({
            "sha256": c.sha256,
            "code_verification": c.code_verification,
            "version_texte": d.map(|d| d.signature.version_texte.clone()),
        })
    });
    json!({
        "type": "convention.acceptee",
        "timestamp": timestamp,
        "data": {
            "dossier": dossier,
            "numero": r.numero,
            "collectivite": collectivite,
            "ecoles": ecoles,
            "convention": convention,
        },
        // The body of the older integration, beside the new one for one release (README
        // « Webhook to the ENT editor »).
        "evenement": "dossier.accepte",
        "dossier": dossier,
        "collectivite": collectivite,
        "ecoles": ecoles,
        "convention": convention,
    })
}

/// The message's id: the same for every retry of one delivery (the editor deduplicates on
/// it); a later acceptance (after a reopening), or a replay the académie asks for, is another
/// message.
pub fn event_id(r: &DossierRecord) -> String {
    let count = |action: &str| r.historique.iter().filter(|e| e.action == action).count();
    let acceptances = count(crate::domain::dossier::Decision::Accepter.label());
    let replays = count(crate::domain::steps::WEBHOOK_REPLAYED);
    format!("msg_{}_acceptee_{acceptances}_{replays}", r.id)
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
    let Some(url) = app.config.webhook_url.clone() else {
        return Ok(Outcome::Skipped);
    };
    let Some(record) = app.dossiers.get(&from_stream.id).await? else {
        return Ok(Outcome::Skipped);
    };
    if let Err(pass) = steps::webhook_due(&record) {
        return Ok(pass.into());
    }
    let now = Now::system();
    let ts = now.seconds();
    let body = payload(&record, &now.stamp()).to_string();
    let id = event_id(&record);
    let standard = standard_webhooks::signature(
        &standard_webhooks::key(&app.config.webhook_secret),
        &id,
        ts,
        &body,
    );
    let sig = signature(app.config.webhook_secret.as_bytes(), ts, &body);
    let attempt_no = record.webhook_tentatives.len() + 1;
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
            Err(e) => (0, Some(e.to_string())),
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
    };
    if let Ok(change) = steps::record_webhook_attempt(&record, attempt) {
        app.dossiers
            .record_webhook_attempt(&record.id, &change)
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
