//! The stream consumers' steps: the convention recorded, the acknowledgement's lease and send,
//! the académie's countersignature and the email announcing it, the webhook's delivery
//! attempts. A record with nothing to do is a [`Pass`].

use super::{event, service};
use crate::domain::change::{Change, Condition, Notice, Update};
use crate::domain::dossier::{
    AccuseRecord, AvisAcceptation, AvisEtat, ConventionRecord, DossierRecord, Etape,
    NatureConvention, WebhookEtat, WebhookTentative,
};
use crate::domain::life::{Actor, Pass, Step};
use crate::domain::time::Now;

/// How long an acknowledgement send may take before another delivery may try again.
pub const LEASE_SECONDS: i64 = 120;

/// A convention version due at deposit: version 1 at the first deposit, the next one (nature
/// `correction`) when the collectivité deposits again after a correction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConventionDue {
    pub version: u32,
    pub nature: NatureConvention,
}

/// Whether a convention is still to be generated for the dossier's (latest) deposit.
pub fn convention_due(r: &DossierRecord) -> Result<ConventionDue, Pass> {
    service(Step::RecordConvention, r)?;
    if r.etape != Etape::Depose {
        return Err(if r.convention.is_some() {
            Pass::AlreadyDone
        } else {
            Pass::NotHere
        });
    }
    Ok(match &r.convention {
        None => ConventionDue {
            version: 1,
            nature: NatureConvention::Depot,
        },
        Some(c) => ConventionDue {
            version: c.version + 1,
            nature: NatureConvention::Correction,
        },
    })
}

/// The generated convention recorded on a deposited dossier, as the version its deposit is
/// due (earlier versions kept).
pub fn record_convention(r: &DossierRecord, convention: ConventionRecord) -> Result<Change, Pass> {
    let due = convention_due(r)?;
    let mut all = r.versions().to_vec();
    all.push(ConventionRecord {
        version: due.version,
        nature: due.nature,
        ..convention
    });
    Ok(Change {
        step: Step::RecordConvention,
        condition: Condition::ConventionDue {
            current: r.convention.as_ref().map(|c| c.version),
        },
        updates: vec![
            Update::Conventions(all),
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

/// The audit wording of the académie's countersignature.
pub const COUNTERSIGNED: &str = "convention contresignée par l’académie";

/// The académie's countersignature of an accepted dossier: the version it makes and what it
/// prints beside the collectivité's signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Countersignature {
    /// The version number of the countersigned convention.
    pub version: u32,
    /// The instructeur who accepted, by delegation of the IA-DASEN: the name their sign-in
    /// gave, else their email (the audit trail holds nothing else).
    pub instructeur: String,
    /// When the académie accepted (RFC 3339): the time the countersignature states.
    pub le: String,
}

/// Whether the académie's countersignature is due: the dossier is accepted and its current
/// convention is still the collectivité's (the deposit's, or a correction's). Who and when come from the acceptance as the audit
/// trail holds it, so that every attempt (a replay, a retry) renders the same document.
pub fn countersignature_due(r: &DossierRecord) -> Result<Countersignature, Pass> {
    service(Step::RecordCountersignature, r)?;
    // The deposit's convention comes first (generated on the deposit's record, which the
    // stream delivers before the acceptance's).
    let current = r.convention.as_ref().ok_or(Pass::NotHere)?;
    if current.nature == NatureConvention::Contresignature {
        return Err(Pass::AlreadyDone);
    }
    let acceptance = r.acceptance().ok_or(Pass::NotHere)?;
    Ok(Countersignature {
        version: current.version + 1,
        instructeur: acceptance
            .nom
            .clone()
            .unwrap_or_else(|| acceptance.par.clone()),
        le: acceptance.le.clone(),
    })
}

/// The countersigned convention recorded as the new current version, if the current one is
/// still the collectivité's (a replay or a concurrent delivery finds it recorded: Conflict), and
/// the email announcing it scheduled in the same write.
pub fn record_countersignature(
    r: &DossierRecord,
    pdf: ConventionRecord,
    now: &Now,
) -> Result<Change, Pass> {
    let due = countersignature_due(r)?;
    let mut all = r.versions().to_vec();
    all.push(ConventionRecord {
        version: due.version,
        nature: NatureConvention::Contresignature,
        ..pdf
    });
    Ok(Change {
        step: Step::RecordCountersignature,
        condition: Condition::CurrentVersion(due.version - 1),
        updates: vec![
            Update::Conventions(all),
            Update::AvisAcceptation(AvisAcceptation {
                etat: AvisEtat::AEnvoyer,
                version: due.version,
                bail: None,
                envoi: None,
            }),
            event(
                now,
                &Actor::Service,
                COUNTERSIGNED,
                Some(format!(
                    "version {} ; par délégation : {}",
                    due.version, due.instructeur
                )),
            ),
        ],
        notices: Vec::new(),
    })
}

/// The acceptance email's lease, until `until` (see [`lease_until`]), and the email itself:
/// the convention accepted, with the link to the countersigned version.
pub fn claim_acceptance_email(r: &DossierRecord, now: &Now, until: i64) -> Result<Change, Pass> {
    service(Step::ClaimAcceptanceEmail, r)?;
    let avis = r.avis_acceptation.as_ref().ok_or(Pass::NotHere)?;
    if avis.etat == AvisEtat::Envoye {
        return Err(Pass::AlreadyDone);
    }
    Ok(Change {
        step: Step::ClaimAcceptanceEmail,
        condition: Condition::AcceptanceEmailFree {
            now_ms: now.millis(),
        },
        updates: vec![Update::AvisBail(Some(until))],
        notices: vec![Notice::Contresignature {
            sujet: format!(
                "Dossier n° {} : convention acceptée et contresignée par l’académie",
                r.numero
            ),
            paragraphes: vec![
                format!(
                    "L’académie a accepté votre dossier n° {} de conventionnement ENT école / GAR : \
                     la convention est contresignée pour l’académie.",
                    r.numero
                ),
                format!(
                    "La convention contresignée (version {}) se télécharge par le lien ci-dessous ; \
                     la version signée au dépôt reste disponible sur la page du dossier.",
                    avis.version
                ),
            ],
            version: avis.version,
        }],
    })
}

/// The acceptance email sent: recorded, lease dropped.
pub fn record_acceptance_email(r: &DossierRecord, envoi: AccuseRecord) -> Result<Change, Pass> {
    service(Step::RecordAcceptanceEmail, r)?;
    let avis = r.avis_acceptation.as_ref().ok_or(Pass::NotHere)?;
    Ok(Change {
        step: Step::RecordAcceptanceEmail,
        condition: Condition::AcceptanceEmailDue,
        updates: vec![Update::AvisAcceptation(AvisAcceptation {
            etat: AvisEtat::Envoye,
            version: avis.version,
            bail: None,
            envoi: Some(envoi),
        })],
        notices: Vec::new(),
    })
}

/// The acceptance email's send failed: the lease is given back so that the retry sends at once.
pub fn release_acceptance_email(r: &DossierRecord) -> Result<Change, Pass> {
    service(Step::ReleaseAcceptanceEmail, r)?;
    r.avis_acceptation.as_ref().ok_or(Pass::NotHere)?;
    Ok(Change {
        step: Step::ReleaseAcceptanceEmail,
        condition: Condition::AcceptanceEmailDue,
        updates: vec![Update::AvisBail(None)],
        notices: Vec::new(),
    })
}
