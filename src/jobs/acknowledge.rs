//! send-acknowledgement: the recorded convention → one SES email to the signatory (référent
//! in copy), with stable links to the dossier and to the convention.

use super::{JobError, Outcome};
use crate::domain::dossier::{AccuseRecord, DossierRecord, Etape};
use crate::domain::ids::{link_jeton, DossierId};
use crate::http::dossiers::{now, private_url};
use crate::ports::OutgoingEmail;
use crate::render::email::{accuse, AccuseData};
use crate::render::time::french_datetime_str;
use crate::App;

/// How long a send may take before another delivery of the record may try again.
const LEASE_SECONDS: i64 = 120;

pub fn build_email(app: &App, record: &DossierRecord) -> Result<OutgoingEmail, JobError> {
    let incoherent = |what: &str| JobError::Incoherent(record.id.clone(), what.to_string());
    let depot = record
        .depot
        .as_ref()
        .ok_or_else(|| incoherent("pas de contenu de dépôt"))?;
    let convention = record
        .convention
        .as_ref()
        .ok_or_else(|| incoherent("pas de convention enregistrée"))?;
    let id = DossierId::parse(&record.id).ok_or_else(|| incoherent("identifiant mal formé"))?;
    let jeton = link_jeton(app.config.link_secret.as_bytes(), &id);
    let base = &app.config.public_base_url;
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
        lien_convention: format!("{base}/api/dossiers/{}/convention?jeton={jeton}", record.id),
        lien_dossier: private_url(app, &record.id, &jeton),
        code_verification: &convention.code_verification,
        academie: &app.config.academie.nom,
    })?;
    Ok(OutgoingEmail {
        from: app.config.sender_email.clone(),
        to: vec![depot.signataire.email.clone()],
        cc: depot.referent.iter().map(|r| r.email.clone()).collect(),
        reply_to: app.config.contact_email.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    })
}

pub async fn acknowledge(app: &App, from_stream: DossierRecord) -> Result<Outcome, JobError> {
    let Some(record) = app.dossiers.get(&from_stream.id).await? else {
        return Ok(Outcome::Skipped);
    };
    if record.accuse.is_some() {
        return Ok(Outcome::AlreadyDone);
    }
    if record.etape != Etape::ConventionEnregistree {
        return Ok(Outcome::Skipped);
    }
    let email = build_email(app, &record)?;
    // Epoch milliseconds with random low digits: each attempt's lease value is its own, so
    // that a retried claim recognises its own write (see the store).
    let t = chrono::Utc::now().timestamp_millis();
    let until = t + LEASE_SECONDS * 1000 + i64::from(rand::random::<u16>() % 1000);
    // The lease makes a concurrent or replayed delivery skip while this one sends.
    if !app
        .dossiers
        .claim_acknowledgement(&record.id, t, until)
        .await?
    {
        return Ok(Outcome::AlreadyDone);
    }
    let message_id = match app.mailer.send(&email).await {
        Ok(m) => m,
        Err(e) => {
            // Give the lease back so that the retry of this record can send at once.
            if let Err(release) = app.dossiers.release_acknowledgement(&record.id).await {
                tracing::warn!(dossier = %record.id, error = %release, "lease not released, it will expire");
            }
            return Err(e.into());
        }
    };
    let mut destinataires = email.to.clone();
    destinataires.extend(email.cc.iter().cloned());
    app.dossiers
        .record_acknowledgement(
            &record.id,
            &AccuseRecord {
                envoye_le: now(),
                message_id,
                destinataires,
            },
        )
        .await?;
    Ok(Outcome::Done)
}
