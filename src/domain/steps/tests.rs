//! The steps against the state machine, and what they write.

use super::*;
use crate::domain::change::{Condition, Notice, Update};
use crate::domain::dossier::{Decision, Statut, WebhookEtat};
use crate::domain::draft::Draft;
use crate::domain::ids::DossierId;
use crate::domain::life::{After, Policy, Who};
use crate::domain::text::LongText;

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
        nom: Some("Sophie LEROY".into()),
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
            refused
                .as_ref()
                .is_err_and(|e| e.detail().contains("brouillon")),
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
    assert!(refused.detail().contains("déjà en cours"), "{refused:?}");
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

#[test]
fn schools_of_an_arrondissement_are_in_their_commune() {
    use crate::domain::deposit::{flag_outside_territory, EcoleDeposee};
    let ecole = |code: &str| EcoleDeposee {
        uai: format!("U{code}"),
        nom: "École".into(),
        commune: "Paris".into(),
        code_insee: code.into(),
        hors_territoire: false,
    };
    let mut ecoles = vec![ecole("75111"), ecole("75056"), ecole("92012")];
    flag_outside_territory(&mut ecoles, &["75056".to_string()], &[]);
    let flags: Vec<bool> = ecoles.iter().map(|e| e.hors_territoire).collect();
    assert_eq!(flags, [false, false, true]);
}
