//! What the instructeurs' list shows of a dossier: its row ([`Ligne`]), kept in the dossier's
//! item so that the list index copies the row and the attributes its filters read, never the
//! whole item (a dossier's item is up to its documented maximum; its row is a few hundred
//! bytes). Each write that changes the row writes it again ([`stamp`]).
//!
//! A row is derived from the whole dossier (a message counted, a school opened), so a write
//! is decided on the record it was read as: every stamped write carries the dossier's
//! `revision` as read and moves it on (`Update::Revision`, checked by the store in the same
//! write). A concurrent write makes it a conflict, which `DossierStore::write_bounded` reads
//! again and writes anew, as it does for the journals' moves.

use super::change::{Change, Update};
use super::dossier::{CorrectionDemandee, DossierRecord, Statut, WebhookEtat};
use super::gar::EtatGar;
use super::ids::DossierId;
use serde::{Deserialize, Serialize};

/// One row of the list (`GET /api/instructeur/dossiers`): its JSON is the API's, field for
/// field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ligne {
    pub id: DossierId,
    pub numero: String,
    pub statut: Statut,
    pub depose_le: Option<String>,
    pub modifie_le: String,
    /// The dossier's own département (`DossierRecord::departement`): the instructeurs' scope.
    pub departement: Option<String>,
    pub collectivite: Option<LigneCollectivite>,
    /// Schools of the deposit.
    pub ecoles: usize,
    /// Their communes, consecutive repeats folded.
    pub communes: Vec<String>,
    pub convention: Option<LigneConvention>,
    pub accuse_envoye: bool,
    pub messages: usize,
    pub webhook: Option<LigneWebhook>,
    /// The ENT editor's answers, counted, while accepted.
    pub gar: Option<LigneGar>,
    pub correction_demandee: Option<CorrectionDemandee>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LigneCollectivite {
    pub siret: String,
    pub nom: Option<String>,
    pub verifie: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LigneConvention {
    pub genere_le: String,
    pub code_verification: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LigneWebhook {
    pub etat: WebhookEtat,
    pub tentatives: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LigneGar {
    pub ouvertes: usize,
    pub rejetees: usize,
    pub en_attente: usize,
    pub accepte_le: Option<String>,
}

impl Ligne {
    /// The row of `r` as it is now.
    pub fn of(r: &DossierRecord) -> Ligne {
        let d = r.depot.as_ref();
        let mut communes: Vec<String> = d
            .map(|d| d.ecoles.iter().map(|e| e.commune.clone()).collect())
            .unwrap_or_default();
        communes.dedup();
        Ligne {
            id: r.id.clone(),
            numero: r.numero.clone(),
            statut: r.statut,
            depose_le: r.depose_le.clone(),
            modifie_le: r.modifie_le.clone(),
            departement: r.departement(),
            collectivite: d.map(|d| LigneCollectivite {
                siret: d.collectivite.siret.clone(),
                nom: d.collectivite.nom.clone(),
                verifie: d.collectivite.verifie,
            }),
            ecoles: d.map(|d| d.ecoles.len()).unwrap_or(0),
            communes,
            convention: r.convention.as_ref().map(|c| LigneConvention {
                genere_le: c.genere_le.clone(),
                code_verification: c.code_verification.clone(),
            }),
            accuse_envoye: r.accuse.is_some(),
            messages: r.nb_messages(),
            webhook: r.webhook_etat.map(|etat| LigneWebhook {
                etat,
                tentatives: r.nb_webhook_attempts(),
            }),
            gar: gar(r),
            correction_demandee: r.correction_demandee.clone(),
        }
    }
}

/// The ENT editor's answers on an accepted dossier's schools, counted (none otherwise).
fn gar(r: &DossierRecord) -> Option<LigneGar> {
    let d = r.depot.as_ref().filter(|_| r.statut == Statut::Accepte)?;
    let count = |etat: Option<EtatGar>| {
        d.ecoles
            .iter()
            .filter(|e| e.gar.as_ref().map(|g| g.etat) == etat)
            .count()
    };
    Some(LigneGar {
        ouvertes: count(Some(EtatGar::Ouverte)),
        rejetees: count(Some(EtatGar::Rejetee)),
        en_attente: count(None),
        accepte_le: r.accepte_le().map(str::to_string),
    })
}

/// `change`, decided on `base`, with the dossier's revision as read (the store checks it)
/// and, when the dossier has a deposit and its row is not the one stored, the row after the
/// change. A dossier stored before rows existed gets its row at its next write (or from the
/// migration `admin compacter-journaux`).
pub fn stamp(base: &DossierRecord, change: Change) -> Change {
    let mut after = base.clone();
    change.apply(&mut after);
    stamp_on(base, &after, change)
}

/// [`stamp`], `after` being `change` applied to `base` (for a caller that has it already).
pub fn stamp_on(base: &DossierRecord, after: &DossierRecord, mut change: Change) -> Change {
    change.updates.push(Update::Revision(base.revision));
    if after.depot.is_some() {
        let row = Ligne::of(after);
        if base.ligne.as_ref() != Some(&row) {
            change.updates.push(Update::Ligne(Box::new(row)));
        }
    }
    change
}

/// Whether the migration has a row to write on `r`: deposited, and its stored row missing or
/// not its own.
pub fn due(r: &DossierRecord) -> bool {
    r.depot.is_some() && r.ligne.as_ref() != Some(&Ligne::of(r))
}

/// The migration's change on a dossier [`due`] a row: nothing but the row ([`stamp`] adds it),
/// written as the journals' migration (`Step::CompactJournal`).
pub fn row_only() -> Change {
    Change {
        step: super::life::Step::CompactJournal,
        condition: super::change::Condition::Exists,
        updates: Vec::new(),
        notices: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::change::Condition;
    use crate::domain::dossier::Message;
    use crate::domain::life::Step;

    fn deposited() -> DossierRecord {
        let mut r = crate::domain::steps::tests::draft_record();
        r.statut = Statut::Accepte;
        r.depose_le = Some("2026-12-01T09:00:00Z".into());
        r.depot = Some(crate::domain::steps::tests::two_schools_depot());
        r
    }

    fn append(text: &str) -> Change {
        Change {
            step: Step::Message,
            condition: Condition::Exists,
            updates: vec![Update::AppendMessage(Message {
                le: "2026-12-02T10:00:00Z".into(),
                auteur: crate::domain::dossier::Auteur::Instructeur,
                nom: "instructrice@ac-test.fr".into(),
                texte: text.into(),
            })],
            notices: Vec::new(),
        }
    }

    #[test]
    fn a_write_that_moves_the_row_carries_it_and_the_revision_it_was_decided_on() {
        let mut r = deposited();
        let first = stamp(&r, append("Bonjour"));
        assert!(first.updates.contains(&Update::Revision(0)));
        first.apply(&mut r);
        assert_eq!(r.revision, 1);
        assert_eq!(r.ligne.as_ref().map(|l| l.messages), Some(1));
        assert_eq!(r.ligne, Some(Ligne::of(&r)));
        // The next write was decided on revision 1: the store refuses it on revision 0.
        let second = stamp(&r, append("Encore"));
        assert!(second.holds(&r));
        assert!(!second.holds(&deposited()));
    }

    #[test]
    fn a_write_that_leaves_the_row_as_stored_does_not_write_it_again() {
        let mut r = deposited();
        r.ligne = Some(Ligne::of(&r));
        let change = stamp(
            &r,
            Change {
                step: Step::Message,
                condition: Condition::Exists,
                updates: vec![Update::Lease(Some(5))],
                notices: Vec::new(),
            },
        );
        assert!(!change.updates.iter().any(|u| matches!(u, Update::Ligne(_))));
        assert!(!due(&r));
    }

    #[test]
    fn a_draft_has_no_row_and_a_dossier_stored_before_rows_is_due_one() {
        let draft = crate::domain::steps::tests::draft_record();
        assert!(!stamp(&draft, append("x"))
            .updates
            .iter()
            .any(|u| matches!(u, Update::Ligne(_))));
        assert!(!due(&draft));
        let legacy = deposited();
        assert!(legacy.ligne.is_none() && due(&legacy));
    }

    #[test]
    fn the_row_counts_the_editors_answers_while_accepted() {
        let r = deposited();
        let row = Ligne::of(&r);
        let gar = row.gar.expect("accepted");
        assert_eq!((gar.en_attente, row.ecoles), (2, 2));
        assert_eq!(row.communes, ["Baulon"]);
        assert_eq!((gar.ouvertes, gar.rejetees), (0, 0));
        assert_eq!(row.departement, r.departement());
    }
}
