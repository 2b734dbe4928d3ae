//! The steps against the state machine, and what they write.

use super::*;
use crate::domain::change::{Condition, Notice, Update};
use crate::domain::dossier::CorrectionDemandee;
use crate::domain::dossier::{Decision, Statut, WebhookEtat};
use crate::domain::draft::Draft;
use crate::domain::ids::DossierId;
use crate::domain::life::{After, Phase, Policy, Who};
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

/// A deposit of two schools of Baulon (35), for the steps' and the row's tests.
pub(crate) fn two_schools_depot() -> crate::domain::deposit::Depot {
    serde_json::from_value(serde_json::json!({
        "collectivite": {"siret": "21350016800025", "siren": "213500168"},
        "signataire": {"prenom": "Camille", "nom": "Martin", "qualite": "Maire", "email": "m@exemple.fr"},
        "ecoles": [
            {"uai": "0350122T", "nom": "École A", "commune": "Baulon", "code_insee": "35016"},
            {"uai": "0351234W", "nom": "École B", "commune": "Baulon", "code_insee": "35016"},
        ],
        "signature": {"horodatage": "t", "ip": "i", "user_agent": "u", "version_texte": "2026-12", "sha256": "0"},
    }))
    .unwrap()
}

fn instructeur() -> Actor {
    Actor::Instructeur {
        sub: "a1b2".into(),
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
    for from in Phase::ALL {
        r.statut = from.statut();
        r.correction_demandee = (from == Phase::Correction).then(|| CorrectionDemandee {
            le: "2026-12-01T09:00:00Z".into(),
            motif: "SIRET".into(),
        });
        for who in Who::ALL {
            let actor = match who {
                Who::Collectivite => Actor::Collectivite,
                Who::Instructeur => instructeur(),
                Who::Service => Actor::Service,
                Who::Editeur => Actor::Editeur {
                    par: "éditeur ENT".into(),
                },
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
        gar: None,
    };
    let mut ecoles = vec![ecole("75111"), ecole("75056"), ecole("92012")];
    flag_outside_territory(&mut ecoles, &["75056".to_string()], &[]);
    let flags: Vec<bool> = ecoles.iter().map(|e| e.hors_territoire).collect();
    assert_eq!(flags, [false, false, true]);
}

fn pdf(code: &str) -> crate::domain::dossier::ConventionRecord {
    crate::domain::dossier::ConventionRecord {
        version: 0,
        nature: crate::domain::dossier::NatureConvention::Depot,
        cle: format!("conventions/x/{code}.pdf"),
        sha256: "ab".repeat(32),
        genere_le: "2026-11-28T20:14:01.000Z".into(),
        code_verification: code.into(),
        taille: 8_000,
    }
}

/// A dossier deposited, its convention recorded, then accepted by `actor`.
fn accepted_by(actor: &Actor) -> DossierRecord {
    let mut r = draft_record();
    r.statut = Statut::EnInstruction;
    r.etape = crate::domain::dossier::Etape::Depose;
    record_convention(&r, pdf("AAAA-AAAA-AAAA"))
        .unwrap()
        .apply(&mut r);
    let now = Now::at(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap());
    decide(
        &r,
        Decision::Accepter,
        None,
        actor,
        &now,
        &Policy::default(),
    )
    .unwrap()
    .apply(&mut r);
    r
}

#[test]
fn the_deposit_convention_is_version_one_and_the_acceptance_makes_version_two_countersigned() {
    use crate::domain::dossier::NatureConvention;
    let r = accepted_by(&instructeur());
    assert_eq!(r.versions().len(), 1);
    assert_eq!(
        (r.versions()[0].version, r.versions()[0].nature),
        (1, NatureConvention::Depot)
    );
    let due = countersignature_due(&r).unwrap();
    assert_eq!(
        due,
        Countersignature {
            version: 2,
            instructeur: "Sophie LEROY".into(),
            le: "2027-01-15T08:00:00.000Z".into(),
        },
        "who and when are the acceptance's"
    );
    let now = Now::system();
    let change = record_countersignature(&r, pdf("BBBB-BBBB-BBBB"), &now).unwrap();
    assert_eq!(change.condition, Condition::CurrentVersion(1));
    assert!(
        change.notices.is_empty(),
        "the email goes once the version is recorded"
    );
    let mut after = r.clone();
    change.apply(&mut after);
    let versions: Vec<(u32, NatureConvention, &str)> = after
        .versions()
        .iter()
        .map(|c| (c.version, c.nature, c.code_verification.as_str()))
        .collect();
    assert_eq!(
        versions,
        [
            (1, NatureConvention::Depot, "AAAA-AAAA-AAAA"),
            (2, NatureConvention::Contresignature, "BBBB-BBBB-BBBB")
        ]
    );
    assert_eq!(after.convention.as_ref().unwrap().version, 2, "current");
    assert_eq!(after.code_verification.as_deref(), Some("BBBB-BBBB-BBBB"));
    assert_eq!(
        after.replaced(&after.versions()[0]).map(|c| c.version),
        Some(2)
    );
    assert!(after.replaced(&after.versions()[1]).is_none());
    assert_eq!(
        after.avis_acceptation.as_ref().map(|a| (a.etat, a.version)),
        Some((crate::domain::dossier::AvisEtat::AEnvoyer, 2))
    );
    assert_eq!(after.historique.last().unwrap().action, COUNTERSIGNED);
    // A replay: nothing more to render, and the write's condition no longer holds.
    assert_eq!(countersignature_due(&after), Err(Pass::AlreadyDone));
    assert!(!change.condition.holds(&after));
}

#[test]
fn without_a_name_in_the_token_the_countersignature_names_the_instructeur_by_email() {
    let r = accepted_by(&Actor::Instructeur {
        sub: String::new(),
        email: "instructrice@ac-test.fr".into(),
        nom: None,
    });
    assert_eq!(
        countersignature_due(&r).unwrap().instructeur,
        "instructrice@ac-test.fr"
    );
}

#[test]
fn no_countersignature_before_acceptance_nor_before_the_deposit_convention() {
    let mut r = accepted_by(&instructeur());
    let accepted = r.clone();
    for s in [
        Statut::EnInstruction,
        Statut::Refuse,
        Statut::EnConstruction,
    ] {
        r.statut = s;
        assert_eq!(countersignature_due(&r), Err(Pass::NotHere), "{s:?}");
    }
    let mut no_pdf = accepted.clone();
    no_pdf.convention = None;
    no_pdf.conventions.clear();
    assert_eq!(countersignature_due(&no_pdf), Err(Pass::NotHere));
    assert!(record_countersignature(&no_pdf, pdf("B"), &Now::system()).is_err());
}

#[test]
fn a_dossier_stored_before_versions_reads_its_convention_as_version_one() {
    // Stored before this change: `convention` only, without version nor nature.
    let mut r = accepted_by(&instructeur());
    let mut item = serde_json::to_value(&r).unwrap();
    item.as_object_mut().unwrap().remove("conventions");
    let c = item["convention"].as_object_mut().unwrap();
    c.remove("version");
    c.remove("nature");
    r = serde_json::from_value(item).unwrap();
    assert!(r.conventions.is_empty());
    assert_eq!(r.versions().len(), 1);
    assert_eq!(r.version(1).unwrap().code_verification, "AAAA-AAAA-AAAA");
    assert!(Condition::CurrentVersion(1).holds(&r));
    let change = record_countersignature(&r, pdf("BBBB-BBBB-BBBB"), &Now::system()).unwrap();
    let mut after = r.clone();
    change.apply(&mut after);
    assert_eq!(
        after
            .versions()
            .iter()
            .map(|c| c.version)
            .collect::<Vec<_>>(),
        [1, 2]
    );
}

#[test]
fn a_first_acceptance_is_told_with_the_countersigned_convention_a_later_one_at_once() {
    let mut r = draft_record();
    r.statut = Statut::EnInstruction;
    let now = Now::system();
    let first = decide(
        &r,
        Decision::Accepter,
        None,
        &instructeur(),
        &now,
        &Policy::default(),
    )
    .unwrap();
    assert!(
        !first
            .notices
            .iter()
            .any(|n| matches!(n, Notice::Collectivite { .. })),
        "one email for one acceptance: the countersigned convention's"
    );
    // Countersigned, reopened, accepted again: no new version, so the decision tells it.
    let mut r = accepted_by(&instructeur());
    record_countersignature(&r, pdf("BBBB-BBBB-BBBB"), &now)
        .unwrap()
        .apply(&mut r);
    for d in [Decision::RepasserEnInstruction, Decision::Accepter] {
        let c = decide(&r, d, None, &instructeur(), &now, &Policy::default()).unwrap();
        assert!(
            matches!(&c.notices[..], [Notice::Collectivite { .. }]),
            "{d:?}: {:?}",
            c.notices
        );
        c.apply(&mut r);
    }
    assert_eq!(countersignature_due(&r), Err(Pass::AlreadyDone));
}

#[test]
fn the_acceptance_email_is_leased_sent_once_and_released_on_failure() {
    let now = Now::at(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap());
    let mut r = accepted_by(&instructeur());
    assert_eq!(
        claim_acceptance_email(&r, &now, 1).unwrap_err(),
        Pass::NotHere
    );
    record_countersignature(&r, pdf("BBBB-BBBB-BBBB"), &now)
        .unwrap()
        .apply(&mut r);
    let until = lease_until(&now, 7);
    let claim = claim_acceptance_email(&r, &now, until).unwrap();
    assert!(
        matches!(&claim.notices[..], [Notice::Contresignature { version: 2, sujet, .. }] if sujet.contains("contresignée")),
        "{:?}",
        claim.notices
    );
    assert!(claim.condition.holds(&r));
    let mut leased = r.clone();
    claim.apply(&mut leased);
    assert!(
        !claim.condition.holds(&leased),
        "a concurrent delivery waits"
    );
    let later =
        Now::at(chrono::DateTime::from_timestamp(1_800_000_000 + LEASE_SECONDS + 1, 0).unwrap());
    assert!(
        claim_acceptance_email(&leased, &later, lease_until(&later, 8))
            .unwrap()
            .condition
            .holds(&leased),
        "an expired lease is taken again"
    );
    let mut released = leased.clone();
    release_acceptance_email(&leased)
        .unwrap()
        .apply(&mut released);
    assert!(
        claim.condition.holds(&released),
        "released: the retry sends at once"
    );
    let sent = crate::domain::dossier::AccuseRecord {
        envoye_le: now.stamp(),
        message_id: "m".into(),
        destinataires: vec!["mairie@exemple.fr".into()],
    };
    let done = record_acceptance_email(&leased, sent).unwrap();
    let mut after = leased.clone();
    done.apply(&mut after);
    assert_eq!(
        claim_acceptance_email(&after, &later, 9).unwrap_err(),
        Pass::AlreadyDone
    );
    assert!(!done.condition.holds(&after), "recorded once");
}
