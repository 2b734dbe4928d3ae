//! send-acknowledgement: the recorded convention → one SES email to the signatory (référent
//! in copy), with stable links to the dossier and to the convention.

use super::{JobError, Outcome};
use crate::domain::dossier::{AccuseRecord, DossierRecord};
use crate::domain::ids::link_jeton;
use crate::domain::steps;
use crate::domain::time::{french_datetime_str, Now};
use crate::links;
use crate::ports::{OutgoingEmail, StoreError};
use crate::render::email::{accuse, AccuseData};
use crate::App;

pub fn build_email(app: &App, record: &DossierRecord) -> Result<OutgoingEmail, JobError> {
    let incoherent = |what: &str| JobError::Incoherent(record.id.to_string(), what.to_string());
    let depot = record
        .depot
        .as_ref()
        .ok_or_else(|| incoherent("pas de contenu de dépôt"))?;
    let convention = record
        .convention
        .as_ref()
        .ok_or_else(|| incoherent("pas de convention enregistrée"))?;
    let jeton = link_jeton(app.config.link_secret.as_bytes(), &record.id);
    let c = &depot.collectivite;
    let rendered = accuse(&AccuseData {
        numero: &record.numero,
        collectivite: c
            .nom
            .clone()
            .unwrap_or_else(|| format!("la collectivité (SIRET {})", c.siret)),
        signataire: &depot.signataire,
        ecoles: &depot.ecoles,
        depose_le: french_datetime_str(record.depose_le.as_deref().unwrap_or_default()),
        lien_convention: links::convention_with_jeton(&app.config, &record.id, &jeton),
        lien_dossier: links::private_page(&app.config, &record.id, &jeton),
        code_verification: &convention.code_verification,
        academie: &app.config.academie.nom,
    })?;
    Ok(crate::mail::to_collectivite(app, depot, rendered))
}

pub async fn acknowledge(app: &App, from_stream: DossierRecord) -> Result<Outcome, JobError> {
    let Some(record) = app.dossiers.get(&from_stream.id).await? else {
        return Ok(Outcome::Skipped);
    };
    let now = Now::system();
    let until = steps::lease_until(&now, rand::random::<u16>());
    let claim = match steps::claim_acknowledgement(&record, &now, until) {
        Ok(c) => c,
        Err(pass) => return Ok(pass.into()),
    };
    let email = build_email(app, &record)?;
    // The lease makes a concurrent or replayed delivery skip while this one sends.
    match app.dossiers.claim_acknowledgement(&record.id, &claim).await {
        Err(StoreError::Conflict) => return Ok(Outcome::AlreadyDone),
        r => r?,
    }
    let message_id = match app.mailer.send(&email).await {
        Ok(m) => m,
        Err(e) => {
            // Give the lease back so that the retry of this record can send at once.
            if let Ok(release) = steps::release_acknowledgement(&record) {
                if let Err(err) = app
                    .dossiers
                    .release_acknowledgement(&record.id, &release)
                    .await
                {
                    tracing::warn!(dossier = %record.id, error = %err, "lease not released, it will expire");
                }
            }
            return Err(e.into());
        }
    };
    let mut destinataires = email.to.clone();
    destinataires.extend(email.cc.iter().cloned());
    let accuse = AccuseRecord {
        envoye_le: Now::system().stamp(),
        message_id,
        destinataires,
    };
    let Ok(done) = steps::record_acknowledgement(&record, accuse) else {
        return Ok(Outcome::Skipped);
    };
    match app.dossiers.record_acknowledgement(&record.id, &done).await {
        // Recorded by an earlier delivery whose answer was lost: the email is on record.
        Err(StoreError::Conflict) => Ok(Outcome::AlreadyDone),
        r => r.map(|_| Outcome::Done).map_err(JobError::from),
    }
}
