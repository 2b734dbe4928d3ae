//! Every sample event of events/ goes through its handler: the fixtures stay true.

use crate::helpers::*;
use aws_lambda_events::event::dynamodb::Event;
use conventions_ent::domain::dossier::Etape;
use conventions_ent::jobs::stream::{dossier_at, expired_dossier};

fn load(name: &str) -> String {
    std::fs::read_to_string(format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[tokio::test]
async fn http_events_answer_as_documented() {
    let t = TestApp::spawn().await;
    let cases = [
        ("submit-dossier/creer.json", 201),
        ("submit-dossier/creer-json-invalide.json", 400),
        ("submit-dossier/creer-champ-inconnu.json", 422),
        ("submit-dossier/creer-mauvais-type-de-contenu.json", 415),
        ("submit-dossier/lire-dossier-inconnu.json", 404),
        ("submit-dossier/depot-sans-jeton.json", 404),
        ("submit-dossier/verification-code-inconnu.json", 404),
        ("submit-dossier/methode-non-autorisee.json", 405),
        ("school-lookup/ecole.json", 200),
        ("school-lookup/ecole-uai-invalide.json", 400),
        ("school-lookup/ecole-inconnue.json", 404),
        ("school-lookup/communes.json", 200),
        ("school-lookup/ecoles-commune.json", 200),
        ("school-lookup/collectivite.json", 200),
        ("school-lookup/collectivite-siret-invalide.json", 400),
        ("instructeur-api/liste.json", 200),
        ("instructeur-api/liste-sans-authentification.json", 401),
        ("instructeur-api/liste-autre-groupe.json", 403),
        ("instructeur-api/decision-action-inconnue.json", 422),
        // The export is a job: the request asks for it (202, its status link).
        ("instructeur-api/export-csv.json", 202),
    ];
    for (file, status) in cases {
        let req =
            lambda_http::request::from_str(&load(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let resp = if file.starts_with("school-lookup") {
            conventions_ent::http::lookup::handle(&t.app, req).await
        } else if file.starts_with("instructeur-api") {
            conventions_ent::http::instructeur::handle(&t.app, req).await
        } else {
            conventions_ent::http::handle(&t.app, req).await
        }
        .unwrap();
        assert_eq!(resp.status().as_u16(), status, "{file}: {:?}", resp.body());
        if status == 405 {
            assert_eq!(
                resp.headers()["allow"],
                "POST",
                "{file}: 405 says what is allowed"
            );
        }
        if status >= 400 {
            let ct = resp.headers()["content-type"].to_str().unwrap();
            assert!(ct.starts_with("application/problem+json"), "{file}: {ct}");
        }
    }
}

#[tokio::test]
async fn stream_events_select_their_records_and_run() {
    let depot: Event = serde_json::from_str(&load("generate-convention/depot.json")).unwrap();
    let enregistree: Event =
        serde_json::from_str(&load("send-acknowledgement/convention-enregistree.json")).unwrap();
    let brouillon: Event =
        serde_json::from_str(&load("send-acknowledgement/brouillon-cree.json")).unwrap();
    assert!(dossier_at(&depot.records[0], Etape::Depose).is_some());
    assert!(dossier_at(&depot.records[0], Etape::ConventionEnregistree).is_none());
    assert!(dossier_at(&enregistree.records[0], Etape::ConventionEnregistree).is_some());
    assert!(dossier_at(&brouillon.records[0], Etape::Depose).is_none());
    assert!(dossier_at(&brouillon.records[0], Etape::ConventionEnregistree).is_none());

    // The deposit fixture, stored as it was, generates its convention.
    let t = TestApp::spawn().await;
    let image = depot.records[0].change.new_image.clone();
    let item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
        image.into();
    t.put_raw(item).await.unwrap();
    assert!(t.run_generate(&depot).await.batch_item_failures.is_empty());
    let id = dossier_at(&depot.records[0], Etape::Depose).unwrap().id;
    assert!(t.stored(id.as_str()).await.unwrap().convention.is_some());
    assert_eq!(t.objects().await.len(), 1);

    // A removal by the TTL asks for the erasure of the convention; the same record without
    // the TTL's identity (a person's deletion) asks for nothing.
    let mut ttl: Event =
        serde_json::from_str(&load("generate-convention/suppression-ttl.json")).unwrap();
    let expired = expired_dossier(&ttl.records[0]).expect("TTL removal selected");
    assert_eq!(expired.statut.as_str(), "refuse");
    assert!(expired.convention.is_some());
    assert!(dossier_at(&ttl.records[0], Etape::Depose).is_none());
    assert!(expired_dossier(&depot.records[0]).is_none());
    ttl.records[0].user_identity = None;
    assert!(expired_dossier(&ttl.records[0]).is_none());
}

/// count-statistics on its fixtures: the deposit counted once however often it is delivered;
/// the same dossier removed (a later record) leaves the figures; a removal of a dossier never
/// counted changes nothing.
#[tokio::test]
async fn count_events_move_the_figures_once() {
    use conventions_ent::domain::dossier::Statut;
    use conventions_ent::jobs::count::handle;
    let t = TestApp::spawn().await;
    let counters = t.app.counters.as_ref();
    let depot: Event = serde_json::from_str(&load("count-statistics/depot.json")).unwrap();
    for _ in 0..2 {
        assert!(handle(counters, &depot)
            .await
            .batch_item_failures
            .is_empty());
    }
    let f = counters.figures(None).await.unwrap();
    assert_eq!(f.par_statut.get(&Statut::EnConstruction), Some(&1), "{f:?}");
    let ttl: Event = serde_json::from_str(&load("count-statistics/suppression-ttl.json")).unwrap();
    assert!(handle(counters, &ttl).await.batch_item_failures.is_empty());
    assert_eq!(counters.figures(None).await.unwrap(), f);

    let mut removed = depot.clone();
    let r = &mut removed.records[0];
    r.event_name = "REMOVE".into();
    r.change.old_image = std::mem::take(&mut r.change.new_image);
    r.change.sequence_number = Some("1100000000017454423099".into());
    assert!(handle(counters, &removed)
        .await
        .batch_item_failures
        .is_empty());
    let f = counters.figures(None).await.unwrap();
    assert_eq!(f.par_statut.values().sum::<u64>(), 0, "{f:?}");
}

/// export-schools on its fixture: the job it names, unknown to the table, is skipped; stored,
/// its file is written (a header only: no accepted dossier); its own later writes (en cours,
/// prêt) ask for nothing.
#[tokio::test]
async fn export_events_write_the_job_they_name() {
    use conventions_ent::jobs::export::{handle, requested};
    let t = TestApp::spawn().await;
    let event: Event = serde_json::from_str(&load("export-schools/export-demande.json")).unwrap();
    let job = requested(&event.records[0]).expect("a requested job");
    assert_eq!(job.id, "5d1f0c2a9e8b47f6a3c2d1e0f9a8b7c6");
    assert!(handle(&t.app, &event).await.batch_item_failures.is_empty());
    assert!(t.app.exports.export_job(&job.id).await.unwrap().is_none());
    t.app.exports.put_export_job(&job, None).await.unwrap();
    assert!(handle(&t.app, &event).await.batch_item_failures.is_empty());
    let done = t.app.exports.export_job(&job.id).await.unwrap().unwrap();
    assert_eq!(
        done.export_etat,
        conventions_ent::domain::export::EtatExport::Pret
    );
    let file = t
        .app
        .documents
        .get(done.cle.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8(file)
        .unwrap()
        .starts_with("\u{feff}uai;nom_ecole;"));
    let mut later = event.clone();
    later.records[0].change.new_image.insert(
        "export_etat".into(),
        serde_dynamo::AttributeValue::S("pret".into()),
    );
    assert!(requested(&later.records[0]).is_none());
}

/// The acceptance's record asks generate-convention for the countersignature (and nothing
/// else does); the countersignature's record asks send-acknowledgement for the acceptance
/// email.
#[test]
fn acceptance_events_select_the_countersignature_then_its_email() {
    use conventions_ent::jobs::{acknowledge, generate};
    let accepted: Event =
        serde_json::from_str(&load("generate-convention/dossier-accepte.json")).unwrap();
    let countersigned: Event =
        serde_json::from_str(&load("send-acknowledgement/convention-contresignee.json")).unwrap();
    assert!(matches!(
        generate::work_of(&accepted.records[0]),
        Some(generate::Work::Countersign(_))
    ));
    assert!(acknowledge::work_of(&accepted.records[0]).is_none());
    assert!(matches!(
        acknowledge::work_of(&countersigned.records[0]),
        Some(acknowledge::Work::AnnounceAcceptance(_))
    ));
    assert!(
        generate::work_of(&countersigned.records[0]).is_none(),
        "recording the countersignature does not countersign again"
    );
    // The other fixtures ask for neither.
    for other in [
        "generate-convention/depot.json",
        "notify-editor/dossier-accepte.json",
        "notify-editor/tentative-enregistree.json",
    ] {
        let e: Event = serde_json::from_str(&load(other)).unwrap();
        assert!(
            !matches!(
                generate::work_of(&e.records[0]),
                Some(generate::Work::Countersign(_))
            ),
            "{other}"
        );
        assert!(
            !matches!(
                acknowledge::work_of(&e.records[0]),
                Some(acknowledge::Work::AnnounceAcceptance(_))
            ),
            "{other}"
        );
    }
}

#[test]
fn webhook_events_fire_on_the_transition_only() {
    use conventions_ent::jobs::webhook::scheduled;
    let accepted: Event =
        serde_json::from_str(&load("notify-editor/dossier-accepte.json")).unwrap();
    let attempt: Event =
        serde_json::from_str(&load("notify-editor/tentative-enregistree.json")).unwrap();
    assert!(scheduled(&accepted.records[0]).is_some());
    assert!(
        scheduled(&attempt.records[0]).is_none(),
        "recording an attempt does not send again"
    );
}

#[tokio::test]
async fn daily_events_run_as_of_their_day() {
    use conventions_ent::jobs::daily::{run, DailyEvent};
    let t = TestApp::spawn().await;
    for (file, day) in [
        ("daily/aujourdhui.json", None),
        ("daily/date.json", Some("2031-09-03")),
    ] {
        let event: DailyEvent = serde_json::from_str(&load(file)).unwrap();
        let now = event.now().unwrap();
        let report = run(&t.app, &now).await.unwrap();
        if let Some(day) = day {
            assert_eq!(report.date, day, "{file}");
        }
        assert_eq!(
            (report.resiliations, report.rappels_echeance),
            (0, 0),
            "{file}: nothing to do in an empty table"
        );
    }
    let bad: DailyEvent = serde_json::from_str(r#"{"date": "03/09/2031"}"#).unwrap();
    assert!(bad.now().unwrap_err().contains("AAAA-MM-JJ"));
}
