//! The stream consumers' steps: the convention recorded, the acknowledgement's lease and send,
//! the webhook's delivery attempts. A record with nothing to do is a [`Pass`].

use super::service;
use crate::domain::change::{Change, Condition, Update};
use crate::domain::dossier::{
    AccuseRecord, ConventionRecord, DossierRecord, Etape, WebhookEtat, WebhookTentative,
};
use crate::domain::life::{Pass, Step};
use crate::domain::time::Now;

/// How long an acknowledgement send may take before another delivery may try again.
pub const LEASE_SECONDS: i64 = 120;

/// Whether the dossier's convention is still to be generated.
pub fn convention_due(r: &DossierRecord) -> Result<(), Pass> {
    service(Step::RecordConvention, r)?;
    if r.convention.is_some() {
        return Err(Pass::AlreadyDone);
    }
    if r.etape != Etape::Depose {
        return Err(Pass::NotHere);
    }
    Ok(())
}

/// The generated convention recorded on a deposited dossier.
pub fn record_convention(r: &DossierRecord, convention: ConventionRecord) -> Result<Change, Pass> {
    convention_due(r)?;
    Ok(Change {
        step: Step::RecordConvention,
        condition: Condition::ConventionDue,
        updates: vec![
            Update::Convention(convention),
            Update::Etape(Etape::ConventionEnregistree),
        ],
        notices: Vec::new(),
    })
}

/// The acknowledgement's lease, until `until` (epoch ms, unique per attempt: see
/// [`lease_until`]): a replayed or concurrent delivery then skips while this one sends.
pub fn claim_acknowledgement(r: &DossierRecord, now: &Now, until: i64) -> Result<Change, Pass> {
    service(Step::ClaimAcknowledgement, r)?;
    if r.accuse.is_some() {
        return Err(Pass::AlreadyDone);
    }
    if r.etape != Etape::ConventionEnregistree {
        return Err(Pass::NotHere);
    }
    Ok(Change {
        step: Step::ClaimAcknowledgement,
        condition: Condition::LeaseFree {
            now_ms: now.millis(),
        },
        updates: vec![Update::Lease(Some(until))],
        notices: Vec::new(),
    })
}

/// The lease's end: [`LEASE_SECONDS`] from now, with `jitter` (random, below 1 000) in the low
/// digits so that each attempt's value is its own and a retried claim recognises its write.
pub fn lease_until(now: &Now, jitter: u16) -> i64 {
    now.millis() + LEASE_SECONDS * 1000 + i64::from(jitter % 1000)
}

/// The acknowledgement sent: recorded, lease dropped.
pub fn record_acknowledgement(r: &DossierRecord, accuse: AccuseRecord) -> Result<Change, Pass> {
    service(Step::RecordAcknowledgement, r)?;
    Ok(Change {
        step: Step::RecordAcknowledgement,
        condition: Condition::NotAcknowledged,
        updates: vec![
            Update::Accuse(accuse),
            Update::Etape(Etape::AccuseEnvoye),
            Update::Lease(None),
        ],
        notices: Vec::new(),
    })
}

/// The send failed: the lease is given back so that the retry can send at once.
pub fn release_acknowledgement(r: &DossierRecord) -> Result<Change, Pass> {
    service(Step::ReleaseAcknowledgement, r)?;
    Ok(Change {
        step: Step::ReleaseAcknowledgement,
        condition: Condition::Exists,
        updates: vec![Update::Lease(None)],
        notices: Vec::new(),
    })
}

/// Whether a webhook delivery is due for this dossier.
pub fn webhook_due(r: &DossierRecord) -> Result<(), Pass> {
    match r.webhook_etat {
        Some(WebhookEtat::AEnvoyer) => Ok(()),
        _ => Err(Pass::AlreadyDone),
    }
}

/// One delivery attempt recorded; a 2xx marks the webhook delivered.
pub fn record_webhook_attempt(
    r: &DossierRecord,
    attempt: WebhookTentative,
) -> Result<Change, Pass> {
    service(Step::RecordWebhookAttempt, r)?;
    let delivered = (200..300).contains(&attempt.statut_http);
    let mut updates = vec![Update::AppendWebhookAttempt(attempt)];
    if delivered {
        updates.push(Update::WebhookEtat(WebhookEtat::Livre));
    }
    Ok(Change {
        step: Step::RecordWebhookAttempt,
        condition: Condition::Exists,
        updates,
        notices: Vec::new(),
    })
}
