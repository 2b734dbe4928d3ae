//! What one step changes ([`Change`]): the condition the stored dossier must still meet, the
//! fields written, and the emails asked for. Made by `domain::steps`, written by the stores.

use super::deposit::Depot;
use super::dossier::{
    AccuseRecord, AvisAcceptation, AvisEtat, ConventionRecord, CorrectionDemandee, DossierRecord,
    Etape, Evenement, Message, Statut, WebhookEtat, WebhookTentative,
};
use super::draft::Draft;
use super::gar::{AccesGar, EtatGar};
use super::life::Step;
use super::signataire::{CodeEnvoye, Confirmation};

/// What the stored dossier must still be for a change to apply: the store checks it in the
/// same write (DynamoDB's condition expression), so a concurrent step makes it a conflict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Still in this statut (every person's step: what was decided on has not moved).
    Statut(Statut),
    /// At `depose` and the current convention still this version (none: no convention yet):
    /// a replay finds the new one recorded.
    ConventionDue { current: Option<u32> },
    /// Sent back for correction and not deposited again.
    CorrectionPending,
    /// At `convention_enregistree`, not acknowledged, and no lease alive at `now_ms`.
    LeaseFree { now_ms: i64 },
    /// Not acknowledged yet.
    NotAcknowledged,
    /// The dossier exists (appends).
    Exists,
    /// Still edited by the collectivité (a draft, or sent back for correction) or waiting for a
    /// new signatory's code, with this pending code at this count of wrong tries: concurrent tries cannot both count as the
    /// same one.
    PendingCode { code_sha256: String, essais: u8 },
    /// Still edited by the collectivité, and the last code sent is still this one (none: no
    /// code yet).
    CodeUnchanged { envoye_le: Option<String> },
    /// Deposited (not under correction), and the last code sent is still this one.
    DepositedCodeUnchanged { envoye_le: Option<String> },
    /// The dossier's access is still at this generation (a concurrent renewal: conflict).
    AccessGeneration(u32),
    /// Accepted, with this many accepted avenants (a concurrent avenant: conflict).
    AvenantsAt(usize),
    /// Accepted, and no termination asked for yet (two requests cannot both be the first).
    NotTerminated,
    /// Accepted, with a termination asked for (the daily function applies it).
    Terminated,
    /// Accepted, with exactly these closed schools flagged (a concurrent run: conflict).
    ClosedSchools(Vec<String>),
    /// Accepted, with exactly these term reminders sent (a concurrent run: conflict).
    Reminders(Vec<u32>),
    /// Still a draft expiring at this time (epoch seconds) whose signatory was not warned of it.
    DraftExpiring { expire_le: i64 },
    /// The current convention is still this version (a convention recorded before versions
    /// existed is version 1): a replay finds the next one recorded.
    CurrentVersion(u32),
    /// The acceptance email is due and no lease on it is alive at `now_ms`.
    AcceptanceEmailFree { now_ms: i64 },
    /// The acceptance email is still due (not recorded as sent).
    AcceptanceEmailDue,
    /// Still accepted, each of these schools still at its index of the perimeter (index, UAI),
    /// and `ouvertes` of its schools open, as when the editor's answer was decided on: a
    /// concurrent answer or change of the dossier makes it a conflict.
    GarPerimeter {
        ecoles: Vec<(usize, String)>,
        ouvertes: u32,
    },
}

impl Condition {
    pub fn holds(&self, r: &DossierRecord) -> bool {
        match self {
            Condition::Statut(s) => r.statut == *s,
            Condition::ConventionDue { current } => {
                r.etape == Etape::Depose && r.convention.as_ref().map(|c| c.version) == *current
            }
            Condition::CorrectionPending => {
                r.statut == Statut::EnConstruction && r.correction_demandee.is_some()
            }
            Condition::AccessGeneration(g) => r.acces_generation == *g,
            Condition::DepositedCodeUnchanged { envoye_le } => {
                r.depot.is_some()
                    && r.correction_demandee.is_none()
                    && r.code_signataire.as_ref().map(|c| &c.envoye_le) == envoye_le.as_ref()
            }
            Condition::NotTerminated => r.statut == Statut::Accepte && r.resiliation.is_none(),
            Condition::AvenantsAt(n) => r.statut == Statut::Accepte && r.avenants.len() == *n,
            Condition::Terminated => r.statut == Statut::Accepte && r.resiliation.is_some(),
            Condition::Reminders(v) => r.statut == Statut::Accepte && &r.rappels_echeance == v,
            Condition::ClosedSchools(v) => {
                r.statut == Statut::Accepte && r.ecoles_fermees.iter().map(|e| &e.uai).eq(v.iter())
            }
            Condition::DraftExpiring { expire_le } => {
                r.statut == Statut::Brouillon
                    && r.expire_le == Some(*expire_le)
                    && r.avertissement_expiration != Some(*expire_le)
            }
            Condition::LeaseFree { now_ms } => {
                r.etape == Etape::ConventionEnregistree
                    && r.accuse.is_none()
                    && r.accuse_bail.is_none_or(|b| b < *now_ms)
            }
            Condition::NotAcknowledged => r.accuse.is_none(),
            Condition::Exists => true,
            Condition::CodeUnchanged { envoye_le } => {
                editable(r)
                    && r.code_signataire.as_ref().map(|c| &c.envoye_le) == envoye_le.as_ref()
            }
            Condition::PendingCode {
                code_sha256,
                essais,
            } => {
                (editable(r) || r.nouveau_signataire.is_some())
                    && r.code_signataire
                        .as_ref()
                        .is_some_and(|c| &c.code_sha256 == code_sha256 && c.essais == *essais)
            }
            Condition::CurrentVersion(v) => r.convention.as_ref().map(|c| c.version) == Some(*v),
            Condition::AcceptanceEmailFree { now_ms } => {
                r.avis_acceptation.as_ref().is_some_and(|a| {
                    a.etat == AvisEtat::AEnvoyer && a.bail.is_none_or(|b| b < *now_ms)
                })
            }
            Condition::AcceptanceEmailDue => r
                .avis_acceptation
                .as_ref()
                .is_some_and(|a| a.etat == AvisEtat::AEnvoyer),
            Condition::GarPerimeter { ecoles, ouvertes } => {
                r.statut == Statut::Accepte
                    && r.depot.as_ref().is_some_and(|d| {
                        ecoles
                            .iter()
                            .all(|(i, uai)| d.ecoles.get(*i).is_some_and(|e| &e.uai == uai))
                            && gar_ouvertes(d) == *ouvertes
                    })
            }
        }
    }
}

/// Edited by the collectivité: a draft, or a dossier sent back for correction (the stores'
/// conditions read the same two attributes).
fn editable(r: &DossierRecord) -> bool {
    r.statut == Statut::Brouillon || r.correction_demandee.is_some()
}

/// One field a step writes.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    Statut(Statut),
    Etape(Etape),
    Brouillon(Draft),
    Depot(Box<Depot>),
    ModifieLe(String),
    DeposeLe(String),
    /// The TTL (epoch seconds), or none: the dossier is kept.
    ExpireLe(Option<i64>),
    /// Every version of the convention, oldest first: the last one becomes `convention` (the
    /// current one) and its code the top-level `code_verification` the verification index
    /// reads; the stores keep the codes of the others findable.
    Conventions(Vec<ConventionRecord>),
    Accuse(AccuseRecord),
    /// The acknowledgement forgotten: a dossier deposited again is acknowledged again (the
    /// audit trail keeps the first deposit).
    ClearAccuse,
    /// The correction asked for, or none: deposited again (or taken back into instruction).
    Correction(Option<CorrectionDemandee>),
    /// The hash of the applicant's jeton ("" opens nothing: the access was renewed).
    JetonSha256(String),
    /// The access generation email links carry.
    AccesGeneration(u32),
    Resiliation(crate::domain::term::Resiliation),
    /// The convention's perimeter after an accepted avenant, and its accepted avenants.
    Perimetre(Vec<crate::domain::deposit::EcoleDeposee>),
    Avenants(Vec<crate::domain::dossier::AvenantAccepte>),
    EcolesFermees(Vec<crate::domain::dossier::EcoleFermee>),
    /// The change of signatory waiting for its code, or none.
    NouveauSignataire(Option<crate::domain::dossier::NouveauSignataire>),
    /// The signatory in office after a change.
    SignataireActuel(crate::domain::dossier::NouveauSignataire),
    Echeance(crate::domain::term::Echeance),
    RappelsEcheance(Vec<u32>),
    /// The draft expiry its signatory was warned of.
    AvertissementExpiration(i64),
    /// The acknowledgement lease (epoch ms), or none: released.
    Lease(Option<i64>),
    WebhookEtat(WebhookEtat),
    AppendEvent(Evenement),
    AppendMessage(Message),
    AppendWebhookAttempt(WebhookTentative),
    /// Oldest journal entries moved to pages of their own (`journal::bound`), before the
    /// change's appends; with its own condition ([`Change::holds`]).
    Archive(Box<super::journal::Move>),
    CodeSignataire(Option<CodeEnvoye>),
    ConfirmationSignataire(Option<Confirmation>),
    CodesEnvoyes(Vec<i64>),
    AvisAcceptation(AvisAcceptation),
    /// The acceptance email's lease (epoch ms), or none: released.
    AvisBail(Option<i64>),
    /// The editor's answer on schools of the perimeter (index in `depot.ecoles`, access), and
    /// how many of its schools are open afterwards (a top-level copy the list's filter « en
    /// attente de l’éditeur » reads).
    Gar {
        ecoles: Vec<(usize, AccesGar)>,
        ouvertes: u32,
    },
    /// The deposit's schools, whole, as [`Update::Gar`] leaves them: stores keep school lists
    /// packed (`domain::packed`), so an answer on one school rewrites the list. Added by
    /// [`whole_lists`], on the record the change is written on.
    DepotEcoles(Vec<crate::domain::deposit::EcoleDeposee>),
    /// The dossier's revision as the change was decided on it (checked by the store in the
    /// same write; [`Change::holds`]), moved on by one (`listing::stamp`).
    Revision(u64),
    /// The list's row after the change (`listing::stamp`).
    Ligne(Box<super::listing::Ligne>),
}

/// `change` as a store writes it on `base`: an [`Update::Gar`] (schools by index) followed by
/// the deposit's schools it leaves, whole ([`Update::DepotEcoles`]). Decided on `base`, so
/// written under `base`'s revision (`listing::stamp`).
pub fn whole_lists(base: &DossierRecord, mut change: Change) -> Change {
    if change
        .updates
        .iter()
        .any(|u| matches!(u, Update::Gar { .. }))
    {
        let mut after = base.clone();
        change.apply(&mut after);
        if let Some(d) = after.depot {
            change.updates.push(Update::DepotEcoles(d.ecoles));
        }
    }
    change
}

/// How many schools of the perimeter the editor reported open.
pub fn gar_ouvertes(d: &Depot) -> u32 {
    d.ecoles
        .iter()
        .filter(|e| e.gar.as_ref().is_some_and(|g| g.etat == EtatGar::Ouverte))
        .count() as u32
}

impl Update {
    pub fn apply(&self, r: &mut DossierRecord) {
        match self {
            Update::Statut(s) => r.statut = *s,
            Update::Etape(e) => r.etape = *e,
            Update::Brouillon(d) => r.brouillon = d.clone(),
            Update::Depot(d) => r.depot = Some((**d).clone()),
            Update::ModifieLe(t) => r.modifie_le = t.clone(),
            Update::DeposeLe(t) => r.depose_le = Some(t.clone()),
            Update::ExpireLe(t) => r.expire_le = *t,
            Update::Conventions(all) => {
                r.code_verification = all.last().map(|c| c.code_verification.clone());
                r.convention = all.last().cloned();
                r.conventions = all.clone();
            }
            Update::Accuse(a) => r.accuse = Some(a.clone()),
            Update::ClearAccuse => r.accuse = None,
            Update::Correction(c) => r.correction_demandee = c.clone(),
            Update::JetonSha256(h) => r.jeton_sha256 = h.clone(),
            Update::AccesGeneration(g) => r.acces_generation = *g,
            Update::Resiliation(t) => r.resiliation = Some(t.clone()),
            Update::Perimetre(p) => r.perimetre = Some(p.clone()),
            Update::Avenants(a) => r.avenants = a.clone(),
            Update::EcolesFermees(e) => r.ecoles_fermees = e.clone(),
            Update::NouveauSignataire(n) => r.nouveau_signataire = n.clone(),
            Update::SignataireActuel(s) => r.signataire_actuel = Some(s.clone()),
            Update::Echeance(e) => r.echeance = Some(e.clone()),
            Update::RappelsEcheance(v) => r.rappels_echeance = v.clone(),
            Update::AvertissementExpiration(t) => r.avertissement_expiration = Some(*t),
            Update::Lease(l) => r.accuse_bail = *l,
            Update::WebhookEtat(e) => r.webhook_etat = Some(*e),
            Update::AppendEvent(e) => r.historique.push(e.clone()),
            Update::AppendMessage(m) => r.messages.push(m.clone()),
            Update::AppendWebhookAttempt(a) => r.webhook_tentatives.push(a.clone()),
            Update::Archive(m) => m.apply(r),
            Update::CodeSignataire(c) => r.code_signataire = c.clone(),
            Update::ConfirmationSignataire(c) => r.confirmation_signataire = c.clone(),
            Update::CodesEnvoyes(t) => r.codes_envoyes = t.clone(),
            Update::AvisAcceptation(a) => r.avis_acceptation = Some(a.clone()),
            Update::AvisBail(b) => {
                if let Some(a) = r.avis_acceptation.as_mut() {
                    a.bail = *b;
                }
            }
            Update::Gar { ecoles, .. } => {
                if let Some(d) = r.depot.as_mut() {
                    for (i, g) in ecoles {
                        if let Some(e) = d.ecoles.get_mut(*i) {
                            e.gar = Some(g.clone());
                        }
                    }
                }
            }
            Update::DepotEcoles(e) => {
                if let Some(d) = r.depot.as_mut() {
                    d.ecoles = e.clone();
                }
            }
            Update::Revision(v) => r.revision = v + 1,
            Update::Ligne(l) => r.ligne = Some((**l).clone()),
        }
    }
}

/// An email a step asks for; `mail` addresses and renders it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// To the collectivité's signatory (référent in copy), with a link to the private page.
    Collectivite {
        sujet: String,
        paragraphes: Vec<String>,
    },
    /// To the académie's contact address, with a link to the instructeur's page.
    Academie {
        sujet: String,
        paragraphes: Vec<String>,
    },
    /// The one-time code, to the address typed for the signatory (the only email sent to an
    /// address nobody confirmed: bounded by the quotas of `domain::signataire`).
    Code {
        to: String,
        sujet: String,
        paragraphes: Vec<String>,
    },
    /// To one address, with no link into the dossier: the former signatory told of a change of
    /// signatory (who can then warn the académie).
    Adresse {
        to: String,
        sujet: String,
        paragraphes: Vec<String>,
    },
    /// To the address confirmed for a draft's signatory (no deposit yet), with the link to the
    /// draft.
    Brouillon {
        to: String,
        sujet: String,
        paragraphes: Vec<String>,
    },
    /// To the référent, once the convention is accepted: the convention and the role.
    Referent {
        sujet: String,
        paragraphes: Vec<String>,
    },
    /// To the collectivité's signatory: its convention accepted, with the link to the
    /// countersigned `version` (and to the private page).
    Contresignature {
        sujet: String,
        paragraphes: Vec<String>,
        version: u32,
    },
}

/// What one step changes: applied in one conditional write.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub step: Step,
    pub condition: Condition,
    pub updates: Vec<Update>,
    pub notices: Vec<Notice>,
}

impl Change {
    /// Whether the stored dossier lets the change be written: its condition, its moves'
    /// (`journal::Move::holds`) and its revision, checked by the stores in the same write.
    pub fn holds(&self, r: &DossierRecord) -> bool {
        self.condition.holds(r)
            && self.moved().is_none_or(|m| m.holds(r))
            && self.revision().is_none_or(|v| r.revision == v)
    }

    /// The revision this change was decided on, if stamped (`listing::stamp`).
    pub fn revision(&self) -> Option<u64> {
        self.updates.iter().find_map(|u| match u {
            Update::Revision(v) => Some(*v),
            _ => None,
        })
    }

    /// The journal move this change makes, if any (`journal::bound` adds one at most).
    pub fn moved(&self) -> Option<&super::journal::Move> {
        self.updates.iter().find_map(|u| match u {
            Update::Archive(m) => Some(&**m),
            _ => None,
        })
    }

    /// The pages this change writes.
    pub fn pages(&self) -> impl Iterator<Item = &super::journal::Page> {
        self.moved()
            .into_iter()
            .flat_map(|m| m.journals.iter().flat_map(|j| &j.pages))
    }

    /// The record as the store holds it after the write (the in-memory store; the answer's
    /// view).
    pub fn apply(&self, r: &mut DossierRecord) {
        for u in &self.updates {
            u.apply(r);
        }
    }

    /// The message this change appends, if any.
    pub fn message(&self) -> Option<&Message> {
        self.updates.iter().find_map(|u| match u {
            Update::AppendMessage(m) => Some(m),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_read_the_record_as_the_store_checks_it() {
        let mut r = crate::domain::steps::tests::draft_record();
        assert!(Condition::Statut(Statut::Brouillon).holds(&r));
        assert!(!Condition::ConventionDue { current: None }.holds(&r));
        assert!(!Condition::CorrectionPending.holds(&r));
        r.etape = Etape::ConventionEnregistree;
        r.accuse_bail = Some(1_000);
        assert!(!Condition::LeaseFree { now_ms: 999 }.holds(&r));
        assert!(Condition::LeaseFree { now_ms: 1_001 }.holds(&r));
    }
}
