//! The steps of instruction: an instructeur's decision, the messagerie (both sides), the
//! webhook replay.

use super::{allowed, event, refusal};
use crate::domain::change::{Change, Condition, Notice, Update};
use crate::domain::dossier::{
    retention_expiry, Auteur, CorrectionDemandee, Decision, DossierRecord, Message, Statut,
    WebhookEtat,
};
use crate::domain::life::{Actor, Blocked, Policy, Refusal, Step};
use crate::domain::text::LongText;
use crate::domain::time::Now;

/// The audit wording of a webhook delivery the académie asks for again.
pub const WEBHOOK_REPLAYED: &str = "webhook de l’éditeur ENT reprogrammé";

/// An instructeur's decision: the move, its audit line, the TTL the retention sets, the
/// webhook scheduled on acceptance, and the email to the collectivité (for a first
/// acceptance, sent with the countersigned convention instead).
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
    // Sent back for correction: the collectivité edits and signs again, so the confirmation
    // of its signatory's address is asked again (a new signature) and any pending code voided.
    if decision == Decision::RepasserEnConstruction {
        updates.extend([
            Update::Correction(Some(CorrectionDemandee {
                le: now.stamp(),
                motif: motif.clone().unwrap_or_default(),
            })),
            Update::ConfirmationSignataire(None),
            Update::CodeSignataire(None),
            // A change of signatory still waiting for its code is dropped: the corrected
            // dossier names its signatory, who signs again.
            Update::NouveauSignataire(None),
            // The dossier's hourly code quota starts again with the new signature (the
            // request is the académie's, not something a third party can repeat).
            Update::CodesEnvoyes(Vec::new()),
        ]);
    } else if r.correction_demandee.is_some() {
        // Taken back before the collectivité deposited again: its unsent edits stay in its
        // draft, the deposited dossier is what is instructed.
        updates.push(Update::Correction(None));
    }
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
    if decision == Decision::RepasserEnConstruction {
        paragraphes.push(
            "Ouvrez le dossier par le lien ci-dessous, corrigez-le, puis déposez-le à nouveau : \
             le signataire confirme son adresse par un code comme au premier dépôt, et une \
             nouvelle version de la convention est éditée (la précédente reste disponible)."
                .into(),
        );
    }
    // A first acceptance is told once the académie's countersigned convention exists, with
    // the link to it (send-acknowledgement, after `record_countersignature`): one email for
    // one acceptance. Once countersigned, a later acceptance (after a reopening) is told here.
    let mut notices = Vec::new();
    if !countersignature_follows(r, decision) {
        notices.push(Notice::Collectivite {
            sujet: format!("Dossier n° {} : {}", r.numero, decision.label()),
            paragraphes,
        });
    }
    // The référent's address was typed by the applicant and confirmed by nobody: it hears of
    // the dossier once, when the académie accepts the convention.
    if let (Decision::Accepter, Some(d)) = (decision, &r.depot) {
        if d.referent.is_some() && !r.once_accepted() {
            notices.push(Notice::Referent {
                sujet: format!(
                    "Convention ENT école / GAR n° {} acceptée — vous êtes le référent de {}",
                    r.numero,
                    d.collectivite.display_name()
                ),
                paragraphes: vec![
                    format!(
                        "{} {}, {}, vous a désigné comme référent ENT de {} dans la convention \
                         ENT école / GAR n° {}, que l’académie vient d’accepter.",
                        d.signataire.prenom,
                        d.signataire.nom,
                        d.signataire.qualite,
                        d.collectivite.display_name(),
                        r.numero
                    ),
                    "Le référent est l’interlocuteur de l’académie et de l’éditeur de l’ENT pour \
                     les écoles de la collectivité : il reçoit les informations de déploiement et \
                     signale les ouvertures, fermetures et fusions d’écoles."
                        .into(),
                    format!(
                        "Écoles concernées : {}.",
                        d.ecoles
                            .iter()
                            .map(|e| format!("{} ({})", e.nom, e.uai))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ],
            });
        }
    }
    Ok(Change {
        step,
        // A decision on a dossier under correction must still find it so (not deposited
        // again meanwhile: that deposit would be instructed unseen).
        condition: match r.correction_demandee {
            Some(_) => Condition::CorrectionPending,
            None => Condition::Statut(r.statut),
        },
        updates,
        notices,
    })
}

/// The avenant `a`, accepted now, on the convention `r` it amends: `r` takes its perimeter and
/// records it among its avenants (written with the avenant's acceptance, in one transaction).
pub fn apply_avenant(
    r: &DossierRecord,
    a: &DossierRecord,
    actor: &Actor,
    now: &Now,
) -> Result<Change, Refusal> {
    allowed(crate::domain::life::Step::ApplyAvenant, r, actor).map_err(|_| {
        Refusal::Conflict(format!(
            "La convention n° {} n’est plus en vigueur : cet avenant ne peut pas être accepté.",
            r.numero
        ))
    })?;
    let (Some(depot), Some(de)) = (&a.depot, &a.avenant) else {
        return Err(Refusal::Conflict(
            "Ce dossier n’est pas un avenant déposé.".into(),
        ));
    };
    // Another avenant accepted since this one was opened changed the perimeter it amends: its
    // schools would undo that one's.
    let same = |a: &[crate::domain::deposit::EcoleDeposee],
                b: &[crate::domain::deposit::EcoleDeposee]| {
        a.iter().map(|e| &e.uai).eq(b.iter().map(|e| &e.uai))
    };
    if !same(&de.perimetre, r.current_perimeter()) {
        return Err(Refusal::Conflict(format!(
            "La convention n° {} a été modifiée par un autre avenant depuis l’ouverture de celui-ci : \
             la collectivité ouvre un nouvel avenant à partir des écoles actuelles.",
            r.numero
        )));
    }
    if r.depot
        .as_ref()
        .is_some_and(|d| d.collectivite.siret != depot.collectivite.siret)
    {
        return Err(Refusal::Conflict(
            "Cet avenant est déposé pour un autre SIRET que celui de la convention.".into(),
        ));
    }
    let (ajouts, retraits) = super::perimeter_change(r.current_perimeter(), &depot.ecoles);
    let mut avenants: Vec<_> = r
        .avenants
        .iter()
        .filter(|x| x.id != a.id)
        .cloned()
        .collect();
    avenants.push(crate::domain::dossier::AvenantAccepte {
        id: a.id.clone(),
        numero: a.numero.clone(),
        rang: de.rang,
        accepte_le: now.stamp(),
        ajouts: ajouts.clone(),
        retraits: retraits.clone(),
    });
    Ok(Change {
        step: crate::domain::life::Step::ApplyAvenant,
        // A re-acceptance replaces its own entry; a concurrent avenant changes the count.
        condition: Condition::AvenantsAt(r.avenants.len()),
        updates: vec![
            Update::Perimetre(depot.ecoles.clone()),
            Update::Avenants(avenants),
            // Closed schools the avenant withdrew are no longer flagged.
            Update::EcolesFermees(
                r.ecoles_fermees
                    .iter()
                    .filter(|e| depot.ecoles.iter().any(|k| k.uai == e.uai))
                    .cloned()
                    .collect(),
            ),
            Update::ModifieLe(now.stamp()),
            event(
                now,
                actor,
                "avenant accepté, périmètre modifié",
                Some(format!(
                    "avenant n° {} ({}) : {} école(s) ajoutée(s), {} retirée(s)",
                    de.rang,
                    a.numero,
                    ajouts.len(),
                    retraits.len()
                )),
            ),
        ],
        notices: Vec::new(),
    })
}

/// Whether `decision` on `r` is a first acceptance, which the académie's countersigned
/// convention follows (generate-convention) and whose email goes with it.
pub fn countersignature_follows(r: &DossierRecord, decision: Decision) -> bool {
    decision == Decision::Accepter && !r.countersigned()
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
        Actor::Instructeur { email, .. } => (
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
        return Err(Refusal::Conflict(
            "Aucun webhook d’éditeur ENT n’est configuré pour ce dossier : ses écoles se remettent à l’éditeur par l’export.".into(),
        ));
    }
    allowed(Step::RequestWebhook, r, actor)?;
    if r.webhook_etat == Some(WebhookEtat::AEnvoyer) {
        return Err(Refusal::Conflict(
            "Une transmission est déjà en cours pour ce dossier.".into(),
        ));
    }
    Ok(Change {
        step: Step::RequestWebhook,
        condition: Condition::Statut(Statut::Accepte),
        updates: vec![
            Update::WebhookEtat(WebhookEtat::AEnvoyer),
            event(now, actor, WEBHOOK_REPLAYED, None),
        ],
        notices: Vec::new(),
    })
}
