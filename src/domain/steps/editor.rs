//! The ENT editor's steps: its answer on the GAR access of an accepted convention's schools.

use super::{allowed, event};
use crate::domain::change::{gar_ouvertes, Change, Condition, Update};
use crate::domain::dossier::DossierRecord;
use crate::domain::gar::{EtatGar, ReponseEcole};
use crate::domain::life::{Actor, Refusal, Step};
use crate::domain::time::Now;

/// The audit wording of an editor's answer.
pub const EDITOR_ANSWERED: &str = "réponse de l’éditeur ENT sur l’accès GAR";

/// The editor's answer recorded on `r`, for the schools of `answers` that are in its
/// perimeter (the others belong to other dossiers: the caller checked each belongs to one).
/// `Ok(None)`: every one of them already stands as answered (the same answer again changes
/// nothing, not even the audit trail). The latest answer on a school replaces the earlier one.
pub fn record_editor_answer(
    r: &DossierRecord,
    answers: &[ReponseEcole],
    actor: &Actor,
    now: &Now,
) -> Result<Option<Change>, Refusal> {
    allowed(Step::RecordEditorAnswer, r, actor)?;
    let Some(d) = &r.depot else {
        return Ok(None);
    };
    let mut ecoles = Vec::new();
    let mut after = d.clone();
    for a in answers {
        for (i, e) in d.ecoles.iter().enumerate() {
            if e.uai == a.uai.as_str() && e.gar.as_ref() != Some(&a.acces) {
                ecoles.push((i, a.acces.clone()));
                after.ecoles[i].gar = Some(a.acces.clone());
            }
        }
    }
    if ecoles.is_empty() {
        return Ok(None);
    }
    let detail = ecoles
        .iter()
        .map(|(i, g)| {
            let uai = &d.ecoles[*i].uai;
            match g.etat {
                EtatGar::Ouverte => format!("{uai} ouverte le {}", g.le),
                EtatGar::Rejetee => format!(
                    "{uai} refusée le {} : {}",
                    g.le,
                    g.motif.as_deref().unwrap_or("")
                ),
            }
        })
        .collect::<Vec<_>>()
        .join(" ; ");
    let condition = Condition::GarPerimeter {
        ecoles: ecoles
            .iter()
            .map(|(i, _)| (*i, d.ecoles[*i].uai.clone()))
            .collect(),
        ouvertes: gar_ouvertes(d),
    };
    Ok(Some(Change {
        step: Step::RecordEditorAnswer,
        condition,
        updates: vec![
            Update::Gar {
                ecoles,
                ouvertes: gar_ouvertes(&after),
            },
            event(now, actor, EDITOR_ANSWERED, Some(detail)),
        ],
        notices: Vec::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::dossier::Statut;
    use crate::domain::gar::AccesGar;
    use crate::domain::uai::Uai;

    fn editeur() -> Actor {
        Actor::Editeur {
            par: "éditeur ENT Armor".into(),
        }
    }

    fn answer(uai: &str, etat: EtatGar) -> ReponseEcole {
        ReponseEcole {
            index: 0,
            uai: Uai::parse(uai).unwrap(),
            acces: AccesGar {
                etat,
                le: "2026-12-01".into(),
                motif: (etat == EtatGar::Rejetee).then(|| "inconnue de l’AAF".into()),
            },
        }
    }

    #[test]
    fn the_editor_answers_on_an_accepted_convention_once() {
        let mut r = crate::domain::steps::tests::draft_record();
        r.statut = Statut::EnInstruction;
        r.depot = Some(crate::domain::steps::tests::two_schools_depot());
        let uais: Vec<String> = r
            .depot
            .as_ref()
            .unwrap()
            .ecoles
            .iter()
            .map(|e| e.uai.clone())
            .collect();
        let now = Now::system();
        let answers = [
            answer(&uais[0], EtatGar::Ouverte),
            answer("0350165P", EtatGar::Ouverte),
        ];
        assert!(
            record_editor_answer(&r, &answers, &editeur(), &now).is_err(),
            "not accepted yet"
        );
        r.statut = Statut::Accepte;
        assert!(record_editor_answer(&r, &answers, &Actor::Service, &now).is_err());
        let change = record_editor_answer(&r, &answers, &editeur(), &now)
            .unwrap()
            .expect("something to record");
        assert!(change.condition.holds(&r));
        change.apply(&mut r);
        assert_eq!(
            r.depot.as_ref().unwrap().ecoles[0]
                .gar
                .as_ref()
                .unwrap()
                .etat,
            EtatGar::Ouverte
        );
        assert!(
            !change.condition.holds(&r),
            "a second write of it conflicts"
        );
        assert_eq!(
            record_editor_answer(&r, &answers, &editeur(), &now).unwrap(),
            None,
            "the same answer again changes nothing"
        );
        let refused = [answer(&uais[0], EtatGar::Rejetee)];
        let change = record_editor_answer(&r, &refused, &editeur(), &now)
            .unwrap()
            .unwrap();
        assert!(matches!(
            &change.updates[0],
            Update::Gar { ouvertes: 0, .. }
        ));
    }
}
