//! The dossier's life: who may take which step from which statut, and what a step changes.
//!
//! Every step of a dossier is a function of `domain::steps` taking the current record, the
//! step's input, the [`Actor`] and the clock, and returning a `domain::change::Change`: the
//! condition the stored dossier must still meet, the updates, and the emails to send. Stores
//! only translate a `Change` into their own conditional write (`adapters::dynamo`) or apply it
//! as it is (`adapters::memory`); nothing else decides a step.
//!
//! Which step is open to whom from which statut is [`next`], the one state machine. The table
//! below is generated from it ([`life_table`]); a test checks that this comment and the README
//! show it as generated.
//!
//! <!-- life-table:start -->
//! | step (`domain::steps`) | who | from | statut after |
//! |---|---|---|---|
//! | `create` | collectivité | — | brouillon |
//! | `autosave` | collectivité | brouillon | brouillon |
//! | `autosave` | collectivité | en_construction (correction demandée) | (unchanged) |
//! | `send_code` | collectivité | brouillon | brouillon |
//! | `send_code` | collectivité | en_construction (correction demandée) | (unchanged) |
//! | `confirm_code` | collectivité | brouillon | brouillon |
//! | `confirm_code` | collectivité | en_construction (correction demandée) | (unchanged) |
//! | `deposit` | collectivité | brouillon | en_construction |
//! | `deposit` | collectivité | en_construction (correction demandée) | (unchanged) |
//! | `delete_draft` | collectivité | brouillon | (deleted) |
//! | `record_convention` | service | en_construction, en_construction (correction demandée), en_instruction, accepte, refuse, sans_suite, resilie | (unchanged) |
//! | `claim_acknowledgement` | service | en_construction, en_construction (correction demandée), en_instruction, accepte, refuse, sans_suite, resilie | (unchanged) |
//! | `record_acknowledgement` | service | en_construction, en_construction (correction demandée), en_instruction, accepte, refuse, sans_suite, resilie | (unchanged) |
//! | `release_acknowledgement` | service | en_construction, en_construction (correction demandée), en_instruction, accepte, refuse, sans_suite, resilie | (unchanged) |
//! | `decide` passer_en_instruction | instructeur | en_construction, en_construction (correction demandée), accepte, refuse, sans_suite | en_instruction |
//! | `decide` accepter | instructeur | en_instruction | accepte |
//! | `decide` refuser | instructeur | en_instruction | refuse |
//! | `decide` classer_sans_suite | instructeur | en_instruction | sans_suite |
//! | `decide` repasser_en_instruction | instructeur | en_construction, en_construction (correction demandée), accepte, refuse, sans_suite | en_instruction |
//! | `decide` repasser_en_construction | instructeur | en_instruction | en_construction |
//! | `message` | collectivité | en_construction, en_construction (correction demandée), en_instruction, accepte, refuse, sans_suite, resilie | (unchanged) |
//! | `message` | instructeur | en_construction, en_construction (correction demandée), en_instruction, accepte, refuse, sans_suite, resilie | (unchanged) |
//! | `request_webhook` | instructeur | accepte | (unchanged) |
//! | `record_webhook_attempt` | service | en_construction, en_construction (correction demandée), en_instruction, accepte, refuse, sans_suite, resilie | (unchanged) |
//! | `record_countersignature` | service | accepte | (unchanged) |
//! | `claim_acceptance_email` | service | en_construction, en_construction (correction demandée), en_instruction, accepte, refuse, sans_suite, resilie | (unchanged) |
//! | `record_acceptance_email` | service | en_construction, en_construction (correction demandée), en_instruction, accepte, refuse, sans_suite, resilie | (unchanged) |
//! | `release_acceptance_email` | service | en_construction, en_construction (correction demandée), en_instruction, accepte, refuse, sans_suite, resilie | (unchanged) |
//! | `record_editor_answer` | éditeur ENT | accepte | (unchanged) |
//! | `renew_access` | instructeur | en_construction, en_construction (correction demandée), en_instruction, accepte, refuse, sans_suite, resilie | (unchanged) |
//! | `terminate` | collectivité | accepte | (unchanged) |
//! | `terminate` | instructeur | accepte | (unchanged) |
//! | `apply_termination` | service | accepte | resilie |
//! | `remind_term` | service | accepte | (unchanged) |
//! | `warn_draft_expiry` | service | brouillon | brouillon |
//! | `propose_signataire` | collectivité | en_construction, en_instruction, accepte, refuse, sans_suite | (unchanged) |
//! | `confirm_new_signataire` | collectivité | en_construction, en_instruction, accepte, refuse, sans_suite | (unchanged) |
//! | `renew` | collectivité | accepte, resilie | (unchanged) |
//! | `open_avenant` | collectivité | accepte | (unchanged) |
//! | `apply_avenant` | instructeur | accepte | (unchanged) |
//! | `flag_closed_schools` | service | accepte | (unchanged) |
//! | `compact_journal` | service | brouillon | brouillon |
//! | `compact_journal` | service | en_construction, en_construction (correction demandée), en_instruction, accepte, refuse, sans_suite, resilie | (unchanged) |
//! <!-- life-table:end -->
//!
//! The deposit pipeline (`etape`) runs beside the statut: `deposit` sets `depose`,
//! `record_convention` `convention_enregistree`, `record_acknowledgement` `accuse_envoye`; the
//! stream consumers are filtered on it. On acceptance, `record_countersignature` adds the
//! académie's version of the convention and schedules the email announcing it
//! (`avis_acceptation`), which the acceptance-email steps send once.

use super::dossier::{Decision, DossierRecord, Statut};
use super::draft::FieldError;

/// Where a dossier stands for [`next`]: its statut, or `en_construction` with a correction the
/// académie asked for (`correction_demandee`), where the collectivité edits and deposits again
/// as it did its draft.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Statut(Statut),
    Correction,
}

impl Phase {
    /// Every phase, in the order of the procedure (the life table's columns).
    pub const ALL: [Phase; 8] = [
        Phase::Statut(Statut::Brouillon),
        Phase::Statut(Statut::EnConstruction),
        Phase::Correction,
        Phase::Statut(Statut::EnInstruction),
        Phase::Statut(Statut::Accepte),
        Phase::Statut(Statut::Refuse),
        Phase::Statut(Statut::SansSuite),
        Phase::Statut(Statut::Resilie),
    ];

    pub fn of(r: &DossierRecord) -> Phase {
        match (r.statut, &r.correction_demandee) {
            (Statut::EnConstruction, Some(_)) => Phase::Correction,
            (s, _) => Phase::Statut(s),
        }
    }

    /// The statut the API shows in this phase.
    pub fn statut(self) -> Statut {
        match self {
            Phase::Statut(s) => s,
            Phase::Correction => Statut::EnConstruction,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Phase::Statut(s) => s.as_str(),
            Phase::Correction => "en_construction (correction demandée)",
        }
    }

    /// Edited by the collectivité: its draft, or its dossier sent back for correction.
    pub fn editable(self) -> bool {
        matches!(self, Phase::Statut(Statut::Brouillon) | Phase::Correction)
    }
}

/// Who takes a step: the collectivité (holder of the dossier's jeton), an instructeur of the
/// académie (signed in), or the service itself (stream consumers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Collectivite,
    /// `nom`: the name the sign-in gives (the token's `name` claim), when it gives one.
    Instructeur {
        /// The token's `sub`: the account, whatever its email becomes.
        sub: String,
        email: String,
        nom: Option<String>,
    },
    Service,
    /// The ENT editor, authenticated by its Standard Webhooks signature (its answer on GAR
    /// access); `par`: how the audit trail names it (« éditeur ENT Armor »).
    Editeur {
        par: String,
    },
}

/// The kind of an [`Actor`], as the life table names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Collectivite,
    Instructeur,
    Service,
    Editeur,
}

impl Who {
    pub const ALL: [Who; 4] = [
        Who::Collectivite,
        Who::Instructeur,
        Who::Service,
        Who::Editeur,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Who::Collectivite => "collectivité",
            Who::Instructeur => "instructeur",
            Who::Service => "service",
            Who::Editeur => "éditeur ENT",
        }
    }
}

impl Actor {
    pub fn who(&self) -> Who {
        match self {
            Actor::Collectivite => Who::Collectivite,
            Actor::Instructeur { .. } => Who::Instructeur,
            Actor::Service => Who::Service,
            Actor::Editeur { .. } => Who::Editeur,
        }
    }

    /// As written in the audit trail (`par`): "collectivité", the instructeur's email.
    pub fn signature(&self) -> &str {
        match self {
            Actor::Collectivite => "collectivité",
            Actor::Instructeur { email, .. } => email,
            Actor::Service => "service",
            Actor::Editeur { par } => par,
        }
    }

    /// The instructeur's account (`sub`), recorded beside `par`.
    pub fn sub(&self) -> Option<&str> {
        match self {
            Actor::Instructeur { sub, .. } if !sub.is_empty() => Some(sub),
            _ => None,
        }
    }

    /// The instructeur's name when the sign-in gives one (recorded beside `par`).
    pub fn nom(&self) -> Option<&str> {
        match self {
            Actor::Instructeur { nom, .. } => nom.as_deref(),
            _ => None,
        }
    }
}

/// The steps of a dossier's life, one function each in `domain::steps`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Create,
    Autosave,
    SendCode,
    ConfirmCode,
    Deposit,
    DeleteDraft,
    RecordConvention,
    ClaimAcknowledgement,
    RecordAcknowledgement,
    ReleaseAcknowledgement,
    Decide(Decision),
    Message,
    RequestWebhook,
    RecordWebhookAttempt,
    RecordCountersignature,
    ClaimAcceptanceEmail,
    RecordAcceptanceEmail,
    ReleaseAcceptanceEmail,
    RecordEditorAnswer,
    RenewAccess,
    Terminate,
    ApplyTermination,
    RemindTerm,
    WarnDraftExpiry,
    ProposeSignataire,
    ConfirmNewSignataire,
    Renew,
    OpenAvenant,
    ApplyAvenant,
    FlagClosedSchools,
    CompactJournal,
}

impl Step {
    /// Every step, in the order of the life table.
    pub const ALL: [Step; 36] = [
        Step::Create,
        Step::Autosave,
        Step::SendCode,
        Step::ConfirmCode,
        Step::Deposit,
        Step::DeleteDraft,
        Step::RecordConvention,
        Step::ClaimAcknowledgement,
        Step::RecordAcknowledgement,
        Step::ReleaseAcknowledgement,
        Step::Decide(Decision::PasserEnInstruction),
        Step::Decide(Decision::Accepter),
        Step::Decide(Decision::Refuser),
        Step::Decide(Decision::ClasserSansSuite),
        Step::Decide(Decision::RepasserEnInstruction),
        Step::Decide(Decision::RepasserEnConstruction),
        Step::Message,
        Step::RequestWebhook,
        Step::RecordWebhookAttempt,
        Step::RecordCountersignature,
        Step::ClaimAcceptanceEmail,
        Step::RecordAcceptanceEmail,
        Step::ReleaseAcceptanceEmail,
        Step::RecordEditorAnswer,
        Step::RenewAccess,
        Step::Terminate,
        Step::ApplyTermination,
        Step::RemindTerm,
        Step::WarnDraftExpiry,
        Step::ProposeSignataire,
        Step::ConfirmNewSignataire,
        Step::Renew,
        Step::OpenAvenant,
        Step::ApplyAvenant,
        Step::FlagClosedSchools,
        Step::CompactJournal,
    ];

    /// The step's function in `domain::steps`, with the decision for `decide`.
    pub fn name(self) -> String {
        let f = match self {
            Step::Create => "create",
            Step::Autosave => "autosave",
            Step::SendCode => "send_code",
            Step::ConfirmCode => "confirm_code",
            Step::Deposit => "deposit",
            Step::DeleteDraft => "delete_draft",
            Step::RecordConvention => "record_convention",
            Step::ClaimAcknowledgement => "claim_acknowledgement",
            Step::RecordAcknowledgement => "record_acknowledgement",
            Step::ReleaseAcknowledgement => "release_acknowledgement",
            Step::Decide(d) => return format!("`decide` {}", d.wire_name()),
            Step::Message => "message",
            Step::RequestWebhook => "request_webhook",
            Step::RecordWebhookAttempt => "record_webhook_attempt",
            Step::RecordCountersignature => "record_countersignature",
            Step::ClaimAcceptanceEmail => "claim_acceptance_email",
            Step::RecordAcceptanceEmail => "record_acceptance_email",
            Step::ReleaseAcceptanceEmail => "release_acceptance_email",
            Step::RecordEditorAnswer => "record_editor_answer",
            Step::RenewAccess => "renew_access",
            Step::Terminate => "terminate",
            Step::ApplyTermination => "apply_termination",
            Step::RemindTerm => "remind_term",
            Step::WarnDraftExpiry => "warn_draft_expiry",
            Step::ProposeSignataire => "propose_signataire",
            Step::ConfirmNewSignataire => "confirm_new_signataire",
            Step::Renew => "renew",
            Step::OpenAvenant => "open_avenant",
            Step::ApplyAvenant => "apply_avenant",
            Step::FlagClosedSchools => "flag_closed_schools",
            Step::CompactJournal => "compact_journal",
        };
        format!("`{f}`")
    }
}

/// The statut a step leaves the dossier in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    Statut(Statut),
    /// The dossier is deleted (a draft its applicant drops).
    Deleted,
}

/// Why [`next`] refuses a step; the step functions turn it into a [`Refusal`] that names the
/// dossier's situation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// The step belongs to someone else (an instructeur cannot edit a draft, …).
    NotForWho,
    /// A draft's step on a deposited dossier.
    DraftOnly,
    /// A deposited dossier's step on a draft.
    DepositedOnly,
    /// A decision the statut graph does not allow from here.
    Move(Statut),
    /// Only an accepted dossier is handed to the ENT editor.
    AcceptedOnly,
    /// Only a convention in force (accepted) is terminated, or reminded of its term.
    InForceOnly,
}

/// The state machine: whether `who` may take `step` on a dossier in `from`, and the statut it
/// leaves. [`Step::Create`] has no `from` (see `steps::create`) and is refused here.
pub fn next(step: Step, from: Phase, who: Who) -> Result<After, Blocked> {
    use Statut::*;
    let owner = match step {
        Step::Create
        | Step::Autosave
        | Step::SendCode
        | Step::ConfirmCode
        | Step::Deposit
        | Step::DeleteDraft
        | Step::ProposeSignataire
        | Step::ConfirmNewSignataire
        | Step::Renew
        | Step::OpenAvenant => Who::Collectivite,
        Step::Decide(_) | Step::RequestWebhook | Step::RenewAccess | Step::ApplyAvenant => {
            Who::Instructeur
        }
        // Both sides of the messagerie; either party terminates.
        Step::Message => who,
        Step::Terminate if matches!(who, Who::Collectivite | Who::Instructeur) => who,
        Step::Terminate => Who::Collectivite,
        Step::RecordConvention
        | Step::ClaimAcknowledgement
        | Step::RecordAcknowledgement
        | Step::ReleaseAcknowledgement
        | Step::RecordWebhookAttempt
        | Step::RecordCountersignature
        | Step::ClaimAcceptanceEmail
        | Step::RecordAcceptanceEmail
        | Step::ReleaseAcceptanceEmail
        | Step::ApplyTermination
        | Step::RemindTerm
        | Step::WarnDraftExpiry
        | Step::FlagClosedSchools
        | Step::CompactJournal => Who::Service,
        Step::RecordEditorAnswer => Who::Editeur,
    };
    if who != owner || (step == Step::Message && matches!(who, Who::Service | Who::Editeur)) {
        return Err(Blocked::NotForWho);
    }
    let draft = from == Phase::Statut(Brouillon);
    // The collectivité edits, confirms its signatory and deposits its draft, or its dossier
    // sent back for correction (a new signature, a new version of the convention).
    let editing_step = matches!(
        step,
        Step::Autosave | Step::SendCode | Step::ConfirmCode | Step::Deposit
    );
    let draft_only = matches!(step, Step::DeleteDraft | Step::WarnDraftExpiry);
    if (editing_step && !from.editable()) || (draft_only && !draft) {
        return Err(Blocked::DraftOnly);
    }
    // Moving a journal's old entries out of the item changes nothing a person sees.
    let any_phase = matches!(step, Step::Decide(_) | Step::Create | Step::CompactJournal);
    if draft && !editing_step && !draft_only && !any_phase {
        return Err(Blocked::DepositedOnly);
    }
    let statut = from.statut();
    Ok(match step {
        Step::Create => return Err(Blocked::NotForWho),
        Step::Autosave
        | Step::SendCode
        | Step::ConfirmCode
        | Step::WarnDraftExpiry
        | Step::CompactJournal => After::Statut(statut),
        Step::Deposit => After::Statut(EnConstruction),
        Step::DeleteDraft => After::Deleted,
        // A draft is the applicant's until deposited: no decision moves it (the statut graph
        // has Brouillon → EnConstruction for the deposit only).
        Step::Decide(d) if !draft && statut.can_become(d.target()) => After::Statut(d.target()),
        Step::Decide(d) => return Err(Blocked::Move(d.target())),
        Step::RequestWebhook if statut != Accepte => return Err(Blocked::AcceptedOnly),
        // The académie countersigns what it accepted.
        Step::RecordCountersignature if statut != Accepte => return Err(Blocked::AcceptedOnly),
        // The editor answers on the schools of an accepted convention only.
        Step::RecordEditorAnswer if statut != Accepte => return Err(Blocked::AcceptedOnly),
        // A convention in force is terminated, reminded of its term, and ends on the day its
        // termination takes effect (the daily function).
        Step::Terminate | Step::RemindTerm | Step::ApplyTermination | Step::FlagClosedSchools
            if statut != Accepte =>
        {
            return Err(Blocked::InForceOnly)
        }
        Step::ApplyTermination => After::Statut(Resilie),
        // A convention that was in force is renewed (a new dossier; this one is unchanged).
        Step::Renew if !matches!(statut, Accepte | Resilie) => return Err(Blocked::InForceOnly),
        // An avenant amends a convention in force, which takes its perimeter on acceptance.
        Step::OpenAvenant | Step::ApplyAvenant if statut != Accepte => {
            return Err(Blocked::InForceOnly)
        }
        // The signatory of a dossier under correction is the draft's (it signs again); a
        // terminated convention has nobody left to sign for.
        Step::ProposeSignataire | Step::ConfirmNewSignataire
            if from == Phase::Correction || statut == Resilie =>
        {
            return Err(Blocked::InForceOnly)
        }
        _ => After::Statut(statut),
    })
}

/// The life table as Markdown, generated from [`next`] (and from `steps::create` for the first
/// row): the README and this module's comment show it; a test keeps them equal.
pub fn life_table() -> String {
    let mut out =
        String::from("| step (`domain::steps`) | who | from | statut after |\n|---|---|---|---|\n");
    out.push_str("| `create` | collectivité | — | brouillon |\n");
    for step in Step::ALL.into_iter().skip(1) {
        for who in Who::ALL {
            // Rows by resulting statut ("unchanged" when the step keeps it).
            let mut rows: Vec<(String, Vec<&str>)> = Vec::new();
            for from in Phase::ALL {
                let Ok(after) = next(step, from, who) else {
                    continue;
                };
                let to = match after {
                    After::Statut(s) if s == from.statut() && s != Statut::Brouillon => {
                        "(unchanged)".to_string()
                    }
                    After::Statut(s) => s.as_str().to_string(),
                    After::Deleted => "(deleted)".to_string(),
                };
                match rows.iter_mut().find(|(t, _)| *t == to) {
                    Some((_, froms)) => froms.push(from.label()),
                    None => rows.push((to, vec![from.label()])),
                }
            }
            for (to, froms) in rows {
                out.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    step.name(),
                    who.label(),
                    froms.join(", "),
                    to
                ));
            }
        }
    }
    out
}

/// A step refused to a person, in French: a conflict with the dossier's state (409), a field
/// to correct (422), or a quota reached (429, with when to try again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Conflict(String),
    Field(FieldError),
    TooMany { detail: String, retry_after: i64 },
}

impl Refusal {
    /// What the person reads.
    pub fn detail(&self) -> &str {
        match self {
            Refusal::Conflict(d) | Refusal::TooMany { detail: d, .. } => d,
            Refusal::Field(f) => &f.message,
        }
    }
}

/// A service step with nothing to do for this record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// An earlier delivery of the record did it.
    AlreadyDone,
    /// The record is not at this step.
    NotHere,
}

/// Settings of the académie that steps obey.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// `DOSSIER_RETENTION_DAYS`: refused or closed dossiers are deleted after it (0 = kept).
    pub retention_days: u32,
    /// An ENT editor's webhook is configured: acceptance schedules its delivery.
    pub webhook: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn between(doc: &str) -> String {
        let start = doc.find("<!-- life-table:start -->").expect("start marker");
        let end = doc.find("<!-- life-table:end -->").expect("end marker");
        doc[start..end]
            .lines()
            .skip(1)
            .map(|l| l.trim_start_matches("//!").trim())
            .filter(|l| !l.is_empty())
            .map(|l| format!("{l}\n"))
            .collect()
    }

    #[test]
    fn the_life_table_in_this_comment_and_in_the_readme_is_the_generated_one() {
        let table = life_table();
        let here = between(include_str!("life.rs"));
        assert_eq!(
            here, table,
            "regenerate the table of src/domain/life.rs:\n{table}"
        );
        let readme = between(include_str!("../../README.md"));
        assert_eq!(readme, table, "regenerate the table of README.md:\n{table}");
    }

    #[test]
    fn no_one_but_the_applicant_moves_a_draft() {
        for d in Step::ALL.iter().filter(|s| matches!(s, Step::Decide(_))) {
            for who in Who::ALL {
                assert!(
                    next(*d, Phase::Statut(Statut::Brouillon), who).is_err(),
                    "{d:?} by {who:?}"
                );
            }
        }
        assert_eq!(
            next(
                Step::Deposit,
                Phase::Statut(Statut::Brouillon),
                Who::Collectivite
            ),
            Ok(After::Statut(Statut::EnConstruction))
        );
        assert_eq!(
            next(
                Step::Deposit,
                Phase::Statut(Statut::Brouillon),
                Who::Instructeur
            ),
            Err(Blocked::NotForWho)
        );
        assert_eq!(
            next(
                Step::Autosave,
                Phase::Statut(Statut::EnInstruction),
                Who::Collectivite
            ),
            Err(Blocked::DraftOnly)
        );
        // Sent back for correction, the dossier is edited and deposited again; never deleted.
        for step in [Step::Autosave, Step::SendCode, Step::ConfirmCode] {
            assert_eq!(
                next(step, Phase::Correction, Who::Collectivite),
                Ok(After::Statut(Statut::EnConstruction))
            );
        }
        assert_eq!(
            next(Step::Deposit, Phase::Correction, Who::Collectivite),
            Ok(After::Statut(Statut::EnConstruction))
        );
        assert_eq!(
            next(Step::DeleteDraft, Phase::Correction, Who::Collectivite),
            Err(Blocked::DraftOnly)
        );
    }
}
