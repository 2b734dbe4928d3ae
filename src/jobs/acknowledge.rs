//! send-acknowledgement: the recorded convention → one SES email to the signatory, with
//! stable links to the dossier and to the convention; the académie's countersigned convention
//! recorded → one email telling the collectivité its convention was accepted, with the link to
//! that version.

use super::stream::{dossier_at, process_selected, scheduled_now};
use super::{JobError, Outcome};
use crate::domain::change::Notice;
use crate::domain::dossier::{AccuseRecord, AvisEtat, DossierRecord, Etape};
use crate::domain::ids::link_jeton;
use crate::domain::steps;
use crate::domain::time::{french_datetime_str, Now};
use crate::links;
use crate::ports::{OutgoingEmail, StoreError};
use crate::render::email::{accuse, AccuseData};
use crate::App;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use std::borrow::Borrow;

/// What a stream record asks of send-acknowledgement.
pub enum Work {
    /// The deposit's convention was recorded: the acknowledgement is due.
    Acknowledge(DossierRecord),
    /// The countersigned convention was recorded: the acceptance email is due.
    AnnounceAcceptance(DossierRecord),
}

impl Borrow<DossierRecord> for Work {
    fn borrow(&self) -> &DossierRecord {
        match self {
            Work::Acknowledge(d) | Work::AnnounceAcceptance(d) => d,
        }
    }
}

/// The records the template's FilterCriteria lets through, told apart the same way.
pub fn work_of(record: &EventRecord) -> Option<Work> {
    dossier_at(record, Etape::ConventionEnregistree)
        .map(Work::Acknowledge)
        .or_else(|| {
            scheduled_now(record, "avis_acceptation", AvisEtat::AEnvoyer.as_str())
                .map(Work::AnnounceAcceptance)
        })
}

/// The whole send-acknowledgement handler, in record order.
pub async fn handle(app: &App, event: &Event) -> DynamoDbEventResponse {
    process_selected(event, work_of, |work| async move {
        match work {
            Work::Acknowledge(d) => acknowledge(app, d).await,
            Work::AnnounceAcceptance(d) => announce_acceptance(app, d).await,
        }
    })
    .await
}

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
    let jeton = link_jeton(
        app.config.link_secret.as_bytes(),
        &record.id,
        record.acces_generation,
    );
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
    crate::mail::to_collectivite(app, record, rendered)
        .ok_or_else(|| incoherent("pas de signataire"))
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
    match app.dossiers.claim_acknowledgement(&record, &claim).await {
        Err(StoreError::Conflict) => return Ok(Outcome::AlreadyDone),
        r => r?,
    }
    // The next writes are decided on the dossier as the claim left it (its revision).
    let record = crate::ports::written(&record, &claim);
    let message_id = match app.mailer.send(&email).await {
        Ok(m) => m,
        Err(e) => {
            // Give the lease back so that the retry of this record can send at once.
            if let Ok(release) = steps::release_acknowledgement(&record) {
                if let Err(err) = app
                    .dossiers
                    .release_acknowledgement(&record, &release)
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
    match app.dossiers.record_acknowledgement(&record, &done).await {
        // Recorded by an earlier delivery whose answer was lost: the email is on record.
        Err(StoreError::Conflict) => Ok(Outcome::AlreadyDone),
        r => r.map(|_| Outcome::Done).map_err(JobError::from),
    }
}

/// The acceptance email, once the countersigned convention is recorded: the same lease, send,
/// record as the acknowledgement, so that a replayed or concurrent delivery sends nothing
/// more and a failed send is retried.
pub async fn announce_acceptance(
    app: &App,
    from_stream: DossierRecord,
) -> Result<Outcome, JobError> {
    let Some(record) = app.dossiers.get(&from_stream.id).await? else {
        return Ok(Outcome::Skipped);
    };
    let now = Now::system();
    let until = steps::lease_until(&now, rand::random::<u16>());
    let claim = match steps::claim_acceptance_email(&record, &now, until) {
        Ok(c) => c,
        Err(pass) => return Ok(pass.into()),
    };
    let incoherent = || JobError::Incoherent(record.id.to_string(), "personne à qui écrire".into());
    let notice: &Notice = claim.notices.first().ok_or_else(incoherent)?;
    let email = crate::mail::email_of(app, &record, notice)?.ok_or_else(incoherent)?;
    match app.dossiers.claim_acceptance_email(&record, &claim).await {
        Err(StoreError::Conflict) => return Ok(Outcome::AlreadyDone),
        r => r?,
    }
    let record = crate::ports::written(&record, &claim);
    let message_id = match app.mailer.send(&email).await {
        Ok(m) => m,
        Err(e) => {
            if let Ok(release) = steps::release_acceptance_email(&record) {
                if let Err(err) = app
                    .dossiers
                    .release_acceptance_email(&record, &release)
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
    let envoi = AccuseRecord {
        envoye_le: Now::system().stamp(),
        message_id,
        destinataires,
    };
    let Ok(done) = steps::record_acceptance_email(&record, envoi) else {
        return Ok(Outcome::Skipped);
    };
    match app.dossiers.record_acceptance_email(&record, &done).await {
        Err(StoreError::Conflict) => Ok(Outcome::AlreadyDone),
        r => r.map(|_| Outcome::Done).map_err(JobError::from),
    }
}
