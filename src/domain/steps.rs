//! Every step of a dossier's life, one function each: (current record, input, actor, clock) →
//! the [`Change`] to write, or why not. Handlers and jobs call these and write what they
//! return; the life table and its rules are in `domain::life`. A new step goes here, with its
//! row in [`Step`] and in [`next`](super::life::next).

use super::deposit::Depot;
use super::dossier::{
    retention_expiry, AccuseRecord, Auteur, ConventionRecord, Decision, DossierRecord, Etape,
    Evenement, Message, Statut, WebhookEtat, WebhookTentative,
};
use super::draft::Draft;
use super::ids::{numero, DossierId};
use super::life::{
    next, Actor, Blocked, Change, Condition, Notice, Pass, Policy, Refusal, Step, Update,
};
use super::text::LongText;
use super::time::{french_datetime_str, Now};

/// Drafts untouched for 90 days are deleted by the table's TTL.
pub const DRAFT_LIFETIME_DAYS: i64 = 90;

/// How long an acknowledgement send may take before another delivery may try again.
pub const LEASE_SECONDS: i64 = 120;

/// The audit wording of the deposit (the collectivité's signature).
const DEPOSITED: &str = "dossier déposé, convention signée";

fn draft_expiry(now: &Now) -> i64 {
    now.seconds() + DRAFT_LIFETIME_DAYS * 86_400
}

fn event(now: &Now, actor: &Actor, action: &str, detail: Option<String>) -> Update {
    Update::AppendEvent(Evenement {
        le: now.stamp(),
        par: actor.signature().to_string(),
        action: action.to_string(),
        detail,
    })
}

/// Whether `actor` may take `step` on `r` now; the refusal says why, in the dossier's terms.
pub fn allowed(step: Step, r: &DossierRecord, actor: &Actor) -> Result<(), Refusal> {
    next(step, r.statut, actor.who())
        .map(|_| ())
        .map_err(|b| refusal(b, r))
}

fn refusal(blocked: Blocked, r: &DossierRecord) -> Refusal {
    Refusal(match blocked {
        Blocked::NotForWho => "Cette action n’est pas ouverte à votre rôle sur ce dossier.".into(),
        Blocked::DraftOnly => {
            let quand = r
                .depose_le
                .as_deref()
                .map(french_datetime_str)
                .unwrap_or_default();
            format!("Ce dossier a déjà été déposé le {quand} : il ne peut plus être modifié.")
        }
        Blocked::DepositedOnly => "La messagerie s’ouvre une fois le dossier déposé.".into(),
        Blocked::Move(to) => format!(
            "Action impossible : le dossier est « {} » et ne peut pas devenir « {} ».",
            r.statut.as_str(),
            to.as_str()
        ),
        Blocked::AcceptedOnly => "Seul un dossier accepté est transmis à l’éditeur ENT.".into(),
    })
}

/// A new draft: number, jeton hash and what the first request filled.
pub fn create(
    id: DossierId,
    n: u64,
    jeton_sha256: String,
    brouillon: Draft,
    now: &Now,
) -> DossierRecord {
    DossierRecord {
        id,
        numero: numero(n),
        jeton_sha256,
        statut: Statut::Brouillon,
        etape: Etape::Brouillon,
        cree_le: now.stamp(),
        modifie_le: now.stamp(),
        depose_le: None,
        brouillon,
        depot: None,
        convention: None,
        code_verification: None,
        accuse: None,
        accuse_bail: None,
        historique: Vec::new(),
        messages: Vec::new(),
        webhook_etat: None,
        webhook_tentatives: Vec::new(),
        expire_le: Some(draft_expiry(now)),
    }
}

/// The applicant's autosave: the patch merged into the draft, its expiry pushed back.
pub fn autosave(
    r: &DossierRecord,
    patch: Draft,
    actor: &Actor,
    now: &Now,
) -> Result<Change, Refusal> {
    allowed(Step::Autosave, r, actor)?;
    let mut brouillon = r.brouillon.clone();
    brouillon.merge(patch);
    Ok(Change {
        step: Step::Autosave,
        condition: Condition::Statut(Statut::Brouillon),
        updates: vec![
            Update::Brouillon(brouillon),
            Update::ModifieLe(now.stamp()),
            Update::ExpireLe(Some(draft_expiry(now))),
        ],
        notices: Vec::new(),
    })
}

/// The deposit of a validated dossier (`deposit::validate`, then identified): the
/// collectivité's signature. The dossier is kept from then on (no TTL).
pub fn deposit(
    r: &DossierRecord,
    brouillon: Draft,
    depot: Depot,
    actor: &Actor,
    now: &Now,
) -> Result<Change, Refusal> {
    allowed(Step::Deposit, r, actor)?;
    let detail = format!("{} école(s)", depot.ecoles.len());
    Ok(Change {
        step: Step::Deposit,
        condition: Condition::Statut(Statut::Brouillon),
        updates: vec![
            Update::Brouillon(brouillon),
            Update::Depot(Box::new(depot)),
            Update::Statut(Statut::EnConstruction),
            Update::Etape(Etape::Depose),
            Update::DeposeLe(now.stamp()),
            Update::ModifieLe(now.stamp()),
            Update::ExpireLe(None),
            event(now, actor, DEPOSITED, Some(detail)),
        ],
        notices: Vec::new(),
    })
}

/// The applicant drops a draft (the store deletes the item).
pub fn delete_draft(r: &DossierRecord, actor: &Actor) -> Result<Change, Refusal> {
    allowed(Step::DeleteDraft, r, actor)?;
    Ok(Change {
        step: Step::DeleteDraft,
        condition: Condition::Statut(Statut::Brouillon),
        updates: Vec::new(),
        notices: Vec::new(),
    })
}

fn service(step: Step, r: &DossierRecord) -> Result<(), Pass> {
    next(step, r.statut, Actor::Service.who())
        .map(|_| ())
        .map_err(|_| Pass::NotHere)
}

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

/// An instructeur's decision: the move, its audit line, the TTL the retention sets, the
/// webhook scheduled on acceptance, and the email to the collectivité.
pub fn decide(
    r: &DossierRecord,
    decision: Decision,
    motif: Option<LongText>,
    actor: &Actor,
    now: &Now,
    policy: &Policy,
) -> Result<Change, Refusal> {
    let step = Step::Decide(decision);
    allowed(step, r, actor)?;
    let to = decision.target();
    let motif = motif.map(LongText::into_string);
    let expire_le = retention_expiry(to, r.once_accepted(), now.seconds(), policy.retention_days);
    let mut updates = vec![
        Update::Statut(to),
        Update::ModifieLe(now.stamp()),
        Update::ExpireLe(expire_le),
        event(now, actor, decision.label(), motif.clone()),
    ];
    if decision == Decision::Accepter && policy.webhook {
        updates.push(Update::WebhookEtat(WebhookEtat::AEnvoyer));
        updates.push(event(
            now,
            actor,
            "webhook de l’éditeur ENT programmé",
            None,
        ));
    }
    let mut paragraphes = vec![format!(
        "Votre dossier n° {} de conventionnement ENT école / GAR : {}.",
        r.numero,
        decision.label()
    )];
    if let Some(m) = &motif {
        paragraphes.push(format!("Motif : {m}"));
    }
    Ok(Change {
        step,
        condition: Condition::Statut(r.statut),
        updates,
        notices: vec![Notice::Collectivite {
            sujet: format!("Dossier n° {} : {}", r.numero, decision.label()),
            paragraphes,
        }],
    })
}

/// A message of the messagerie, from either side; the other side is told by email.
pub fn message(
    r: &DossierRecord,
    texte: LongText,
    actor: &Actor,
    now: &Now,
) -> Result<Change, Refusal> {
    allowed(Step::Message, r, actor)?;
    let depot = r
        .depot
        .as_ref()
        .ok_or_else(|| refusal(Blocked::DepositedOnly, r))?;
    let texte = texte.into_string();
    let (auteur, nom, action, notice) = match actor {
        Actor::Instructeur { email } => (
            Auteur::Instructeur,
            email.clone(),
            "message envoyé à la collectivité",
            Notice::Collectivite {
                sujet: format!("Dossier n° {} : nouveau message de l’académie", r.numero),
                paragraphes: vec![
                    "L’académie vous a écrit au sujet de votre dossier :".into(),
                    texte.clone(),
                ],
            },
        ),
        _ => {
            let nom = format!("{} {}", depot.signataire.prenom, depot.signataire.nom);
            let notice = Notice::Academie {
                sujet: format!(
                    "Dossier n° {} : nouveau message de la collectivité",
                    r.numero
                ),
                paragraphes: vec![
                    format!(
                        "{nom} ({}) a écrit au sujet du dossier n° {} :",
                        depot.collectivite.display_name(),
                        r.numero
                    ),
                    texte.clone(),
                ],
            };
            (
                Auteur::Collectivite,
                nom,
                "message envoyé à l’académie",
                notice,
            )
        }
    };
    let m = Message {
        le: now.stamp(),
        auteur,
        nom,
        texte,
    };
    Ok(Change {
        step: Step::Message,
        condition: Condition::Exists,
        updates: vec![Update::AppendMessage(m), event(now, actor, action, None)],
        notices: vec![notice],
    })
}

/// An instructeur asks for the webhook again (after an outage of the editor, or on its
/// request).
pub fn request_webhook(
    r: &DossierRecord,
    actor: &Actor,
    now: &Now,
    policy: &Policy,
) -> Result<Change, Refusal> {
    if !policy.webhook {
        return Err(Refusal(
            "Aucun webhook d’éditeur ENT n’est configuré.".into(),
        ));
    }
    allowed(Step::RequestWebhook, r, actor)?;
    if r.webhook_etat == Some(WebhookEtat::AEnvoyer) {
        return Err(Refusal(
            "Une transmission est déjà en cours pour ce dossier.".into(),
        ));
    }
    Ok(Change {
        step: Step::RequestWebhook,
        condition: Condition::Statut(Statut::Accepte),
        updates: vec![
            Update::WebhookEtat(WebhookEtat::AEnvoyer),
            event(now, actor, "webhook de l’éditeur ENT reprogrammé", None),
        ],
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::life::{After, Who};

    pub(crate) fn draft_record() -> DossierRecord {
        let now = Now::at(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        create(
            DossierId::generate(),
            42,
            "0".repeat(64),
            Draft::default(),
            &now,
        )
    }

    fn instructeur() -> Actor {
        Actor::Instructeur {
            email: "instructrice@ac-test.fr".into(),
        }
    }

    #[test]
    fn an_instructeur_decision_on_a_draft_is_refused() {
        let r = draft_record();
        let now = Now::system();
        for d in [
            Decision::RepasserEnConstruction,
            Decision::PasserEnInstruction,
            Decision::Accepter,
        ] {
            let refused = decide(&r, d, None, &instructeur(), &now, &Policy::default());
            assert!(
                refused.as_ref().is_err_and(|e| e.0.contains("brouillon")),
                "{d:?}: {refused:?}"
            );
        }
    }

    #[test]
    fn every_step_function_agrees_with_the_state_machine() {
        // For every statut and actor, the decision step succeeds exactly when `next` says so.
        let mut r = draft_record();
        r.depot = None;
        for from in Statut::DEPOSITED.into_iter().chain([Statut::Brouillon]) {
            r.statut = from;
            for who in Who::ALL {
                let actor = match who {
                    Who::Collectivite => Actor::Collectivite,
                    Who::Instructeur => instructeur(),
                    Who::Service => Actor::Service,
                };
                let now = Now::system();
                for d in [Decision::Accepter, Decision::RepasserEnConstruction] {
                    let by_table = next(Step::Decide(d), from, who);
                    let by_step = decide(&r, d, None, &actor, &now, &Policy::default());
                    assert_eq!(by_table.is_ok(), by_step.is_ok(), "{d:?} {from:?} {who:?}");
                    if let (Ok(After::Statut(to)), Ok(change)) = (by_table, by_step) {
                        let mut after = r.clone();
                        change.apply(&mut after);
                        assert_eq!(after.statut, to);
                    }
                }
                let by_table = next(Step::Autosave, from, who);
                let by_step = autosave(&r, Draft::default(), &actor, &now);
                assert_eq!(
                    by_table.is_ok(),
                    by_step.is_ok(),
                    "autosave {from:?} {who:?}"
                );
            }
        }
    }

    #[test]
    fn acceptance_schedules_the_webhook_in_the_same_write_when_one_is_configured() {
        let mut r = draft_record();
        r.statut = Statut::EnInstruction;
        let policy = Policy {
            retention_days: 30,
            webhook: true,
        };
        let now = Now::system();
        let c = decide(&r, Decision::Accepter, None, &instructeur(), &now, &policy).unwrap();
        let mut after = r.clone();
        c.apply(&mut after);
        assert_eq!(after.statut, Statut::Accepte);
        assert_eq!(after.webhook_etat, Some(WebhookEtat::AEnvoyer));
        assert_eq!(after.historique.len(), 2);
        assert_eq!(after.expire_le, None, "an accepted dossier is kept");
        assert_eq!(c.condition, Condition::Statut(Statut::EnInstruction));
        let refused = request_webhook(&after, &instructeur(), &now, &policy).unwrap_err();
        assert!(refused.0.contains("déjà en cours"), "{refused:?}");
    }

    #[test]
    fn a_refusal_sets_the_retention_and_a_draft_keeps_ninety_days() {
        let mut r = draft_record();
        assert_eq!(
            r.expire_le,
            Some(1_800_000_000 + DRAFT_LIFETIME_DAYS * 86_400)
        );
        r.statut = Statut::EnInstruction;
        let now = Now::at(chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap());
        let policy = Policy {
            retention_days: 10,
            webhook: false,
        };
        let motif = LongText::parse("hors périmètre").ok();
        let c = decide(&r, Decision::Refuser, motif, &instructeur(), &now, &policy).unwrap();
        assert!(c
            .updates
            .contains(&Update::ExpireLe(Some(1_900_000_000 + 864_000))));
        assert!(
            matches!(&c.notices[..], [Notice::Collectivite { paragraphes, .. }] if paragraphes[1] == "Motif : hors périmètre")
        );
    }
}
