//! Every step of a dossier's life, one function each: (current record, input, actor, clock) →
//! the [`Change`] to write, or why not. Handlers and jobs call these and write what they
//! return; the life table and its rules are in `domain::life`. A new step goes here, with its
//! row in [`Step`] and in [`next`](super::life::next). Files: `applicant` (the collectivité's
//! draft, its deposit and its deposit again after a correction), `access` (the académie
//! renews a dossier's access), `signataire` (the code that confirms the signatory's address), `instruction` (decisions,
//! messages, webhook replay), `editor` (the ENT editor's answer on GAR access), `pipeline` (the
//! stream consumers' steps), `term` (termination, term reminders, draft-expiry warnings: the
//! daily function's steps and the termination asked by either party); `compact_journal` is
//! `domain::journal::compact` (the migration of journals stored whole in the item).

mod access;
mod applicant;
mod editor;
mod instruction;
mod pipeline;
mod signataire;
mod term;
#[cfg(test)]
pub(crate) mod tests;

/// `compact_journal` lives with the journals it bounds.
pub use super::journal::compact as compact_journal;
pub use access::{lost_link, renew_access, ACCESS_RENEWED};
pub use applicant::{
    autosave, create, delete_draft, deposit, open_avenant, perimeter_change, renew, DEPOSITED_AGAIN,
};
pub use editor::{record_editor_answer, EDITOR_ANSWERED};
pub use instruction::{
    apply_avenant, countersignature_follows, decide, message, request_webhook, WEBHOOK_REPLAYED,
};
pub use pipeline::{
    claim_acceptance_email, claim_acknowledgement, convention_due, countersignature_due,
    lease_until, record_acceptance_email, record_acknowledgement, record_convention,
    record_countersignature, record_webhook_attempt, release_acceptance_email,
    release_acknowledgement, webhook_due, Countersignature, COUNTERSIGNED, LEASE_SECONDS,
};
pub use signataire::{
    confirm_code, confirm_new_signataire, propose_signataire, send_code, CodeChecked,
    SIGNATORY_CHANGED,
};
pub use term::{
    apply_termination, flag_closed_schools, release_reminder, remind_term, terminate,
    warn_draft_expiry, TERMINATED,
};

use super::change::Update;
use super::dossier::{DossierRecord, Evenement};
use super::life::{next, Actor, Blocked, Pass, Phase, Refusal, Step};
use super::time::{french_datetime_str, Now};

/// Drafts untouched for 90 days are deleted by the table's TTL.
pub const DRAFT_LIFETIME_DAYS: i64 = 90;

/// The audit wording of the deposit (the collectivité's signature).
pub(super) const DEPOSITED: &str = "dossier déposé, convention signée";

pub(super) fn draft_expiry(now: &Now) -> i64 {
    now.seconds() + DRAFT_LIFETIME_DAYS * 86_400
}

pub(super) fn event(now: &Now, actor: &Actor, action: &str, detail: Option<String>) -> Update {
    Update::AppendEvent(Evenement {
        le: now.stamp(),
        par: actor.signature().to_string(),
        nom: actor.nom().map(str::to_string),
        sub: actor.sub().map(str::to_string),
        action: action.to_string(),
        detail,
    })
}

/// Whether `actor` may take `step` on `r` now; the refusal says why, in the dossier's terms.
pub fn allowed(step: Step, r: &DossierRecord, actor: &Actor) -> Result<(), Refusal> {
    next(step, Phase::of(r), actor.who())
        .map(|_| ())
        .map_err(|b| refusal(b, r))
}

pub(super) fn refusal(blocked: Blocked, r: &DossierRecord) -> Refusal {
    Refusal::Conflict(match blocked {
        Blocked::NotForWho => "Cette action n’est pas ouverte à votre rôle sur ce dossier.".into(),
        Blocked::DraftOnly => {
            let quand = r
                .depose_le
                .as_deref()
                .map(french_datetime_str)
                .unwrap_or_default();
            format!("Ce dossier a déjà été déposé le {quand} : il ne peut plus être modifié.")
        }
        Blocked::DepositedOnly => {
            "Le dossier n’est pas encore déposé : la messagerie et le suivi du dossier s’ouvrent \
             une fois le dossier déposé."
                .into()
        }
        Blocked::Move(to) => format!(
            "Action impossible : le dossier est « {} » et ne peut pas devenir « {} ».",
            r.statut.as_str(),
            to.as_str()
        ),
        Blocked::AcceptedOnly => "Seul un dossier accepté est transmis à l’éditeur ENT.".into(),
        Blocked::InForceOnly => match r.statut {
            crate::domain::dossier::Statut::Resilie => {
                "Cette convention est déjà résiliée.".to_string()
            }
            _ => "Cette action n’est ouverte que sur une convention acceptée par l’académie, donc \
                  en vigueur."
                .into(),
        },
    })
}

pub(super) fn service(step: Step, r: &DossierRecord) -> Result<(), Pass> {
    next(step, Phase::of(r), Actor::Service.who())
        .map(|_| ())
        .map_err(|_| Pass::NotHere)
}
