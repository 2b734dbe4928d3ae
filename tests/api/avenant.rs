//! The avenant (issue 14): « Modifier les écoles de la convention » opens a pre-filled draft of
//! nature `avenant`, signed and deposited with its own PDF (« Avenant n° 1 à la convention
//! n° … »: schools added, withdrawn, the resulting perimeter), instructed as a convention; once
//! accepted, the convention's perimeter is the avenant's (one transaction) and the export lists
//! it.

use crate::helpers::*;
use serde_json::{json, Value};

async fn decide(t: &TestApp, id: &str, action: &str) {
    let r = t
        .as_instructeur(
            "POST",
            &format!("/api/instructeur/dossiers/{id}/decision"),
            Some(&json!({ "action": action })),
        )
        .await;
    assert_eq!(r.status, 200, "{action}: {}", r.body);
}

async fn generate(t: &TestApp) {
    let ev = t.stream_event().await;
    assert!(t.run_generate(&ev).await.batch_item_failures.is_empty());
}

#[tokio::test]
async fn an_avenant_withdraws_a_school_and_its_acceptance_changes_the_convention() {
    let t = TestApp::spawn().await;
    let (pending, pending_jeton) = t.deposit_new(&full_dossier()).await;
    let r = t
        .post_json(
            &format!("/api/dossiers/{pending}/avenant"),
            &json!({}),
            Some(&pending_jeton),
        )
        .await;
    assert_eq!(r.status, 409, "not in force: {}", r.body);

    let (id, jeton) = t.deposit_new(&full_dossier()).await;
    generate(&t).await;
    decide(&t, &id, "passer_en_instruction").await;
    decide(&t, &id, "accepter").await;
    let convention = t
        .get(&format!("/api/dossiers/{id}"), Some(&jeton))
        .await
        .json();

    // « Modifier les écoles de la convention »: a draft pre-filled with the current perimeter.
    let r = t
        .post_json(
            &format!("/api/dossiers/{id}/avenant"),
            &json!({}),
            Some(&jeton),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let av_id = r.json()["id"].as_str().unwrap().to_string();
    let av_jeton = r.json()["jeton"].as_str().unwrap().to_string();
    let page = format!("/api/dossiers/{av_id}");
    let v = t.get(&page, Some(&av_jeton)).await.json();
    assert_eq!(v["nature"], "avenant");
    assert_eq!(v["convention_initiale"], convention["numero"]);
    assert_eq!(v["avenant"]["rang"], 1);
    assert_eq!(
        v["avenant"]["perimetre_initial"],
        json!([UAI_BAULON, UAI_CARDROC])
    );
    assert_eq!(v["signataire"]["email_confirme_le"], Value::Null);

    // The same schools: nothing to amend.
    t.confirm_signataire(&av_id, &av_jeton).await;
    let habilitation = full_dossier()["signataire"]["habilitation"].clone();
    let same = t
        .post_json(
            &format!("{page}/depot"),
            &json!({"approbation": true, "signataire": {"habilitation": habilitation}}),
            Some(&av_jeton),
        )
        .await;
    assert_eq!(same.status, 422, "{}", same.body);
    assert!(same
        .error_on("ecoles")
        .unwrap()
        .contains("ajoutez ou retirez"));
    // Cardroc withdrawn: deposited, its own PDF.
    let r = t
        .post_json(
            &format!("{page}/depot"),
            &json!({"approbation": true, "ecoles": [{"uai": UAI_BAULON}],
                    "signataire": {"habilitation": habilitation}}),
            Some(&av_jeton),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    generate(&t).await;
    let r = t.get(&format!("{page}/convention"), Some(&av_jeton)).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let (_, _, pdf) = http_get(r.header("location").to_string()).await;
    let text = pdf_text(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let numero = convention["numero"].as_str().unwrap();
    for needle in [
        format!("Avenant n° 1 à la convention n° {numero}"),
        "Article 2 — Écoles ajoutées Aucune école n’est ajoutée.".to_string(),
        format!("(UAI {UAI_CARDROC})"),
        "Annexe — Écoles du périmètre de la collectivité après l’avenant".to_string(),
        "1 école concernée".to_string(),
    ] {
        assert!(
            text.contains(&needle),
            "the avenant lacks {needle:?}:\n{text}"
        );
    }
    // An archival, accessible PDF like the convention's.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("avenant.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let (ok, report) = check_pdf(&[path]);
    assert!(ok, "{report}");

    // Accepted: the convention's perimeter is the avenant's, in the same write.
    let before = t.stored(&id).await.unwrap();
    assert_eq!(before.current_perimeter().len(), 2);
    decide(&t, &av_id, "passer_en_instruction").await;
    decide(&t, &av_id, "accepter").await;
    let after = t.stored(&id).await.unwrap();
    let uais: Vec<&str> = after
        .current_perimeter()
        .iter()
        .map(|e| e.uai.as_str())
        .collect();
    assert_eq!(uais, [UAI_BAULON]);
    assert_eq!(after.avenants.len(), 1);
    assert_eq!(after.avenants[0].id.as_str(), av_id);
    // Stored packed (`domain::packed`), the perimeter and the avenant's withdrawals alike.
    let raw = t.get_raw(&id).await;
    let is_packed =
        |v: &aws_sdk_dynamodb::types::AttributeValue| v.as_s().is_ok_and(|s| s.starts_with("z1:"));
    assert!(is_packed(&raw["perimetre"]), "{:?}", raw["perimetre"]);
    assert!(is_packed(
        &raw["avenants"].as_l().unwrap()[0].as_m().unwrap()["retraits"]
    ));
    let v = t
        .get(&format!("/api/dossiers/{id}"), Some(&jeton))
        .await
        .json();
    assert_eq!(v["perimetre_actuel"][0]["uai"], UAI_BAULON);
    assert_eq!(v["perimetre_actuel"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["ecoles"].as_array().unwrap().len(),
        2,
        "the signed convention's schools"
    );
    // The export lists the convention's current perimeter once (not the avenant besides).
    let rows = t.export("/api/instructeur/export/ecoles.json").await.json();
    let exported: Vec<(&str, &str)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["uai"].as_str().unwrap(),
                r["numero_dossier"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(exported, [(UAI_BAULON, numero)]);
    // `depuis=` tells additions and withdrawals apart. Today, the convention itself is new:
    // its current perimeter is an addition. For a convention deposited and accepted last year
    // (its dates set so in the store, as an older dossier has them), only the avenant's change.
    let since = |rows: Value| -> Vec<(String, String)> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["uai"].as_str().unwrap().to_string(),
                    r["action"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let path = format!("/api/instructeur/export/ecoles.json?depuis={today}");
    let new = since(t.export(&path).await.json());
    assert_eq!(new, [(UAI_BAULON.to_string(), "ajout".to_string())]);
    let older = conventions_ent::domain::change::Change {
        step: conventions_ent::domain::life::Step::Autosave,
        condition: conventions_ent::domain::change::Condition::Exists,
        updates: vec![
            conventions_ent::domain::change::Update::DeposeLe("2025-09-01T08:00:00.000Z".into()),
            // Its acceptance too (the latest acceptance in the audit trail is the one in force).
            conventions_ent::domain::change::Update::AppendEvent(
                conventions_ent::domain::dossier::Evenement {
                    le: "2025-09-02T08:00:00.000Z".into(),
                    par: "instructrice@ac-test.fr".into(),
                    nom: None,
                    sub: None,
                    action: conventions_ent::domain::dossier::Decision::Accepter
                        .label()
                        .into(),
                    detail: None,
                },
            ),
        ],
        notices: Vec::new(),
    };
    t.app
        .dossiers
        .write(
            &conventions_ent::domain::ids::DossierId::parse(&id).unwrap(),
            &older,
        )
        .await
        .unwrap();
    let changed = since(t.export(&path).await.json());
    assert_eq!(changed, [(UAI_CARDROC.to_string(), "retrait".to_string())]);
    let csv = t
        .export(&format!(
            "/api/instructeur/export/ecoles.csv?depuis={today}"
        ))
        .await
        .body;
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(";date_acceptation;action;editeur"),
        "{csv}"
    );
    assert!(
        csv.lines().nth(1).unwrap().ends_with(";retrait;defaut"),
        "{csv}"
    );
    // The instructeur's list finds avenants by their nature.
    let listed = t
        .as_instructeur("GET", "/api/instructeur/dossiers?nature=avenant", None)
        .await
        .json();
    let ids: Vec<&str> = listed["dossiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [av_id.as_str()]);
    let conventions = t
        .as_instructeur("GET", "/api/instructeur/dossiers?nature=convention", None)
        .await
        .json();
    assert_eq!(conventions["dossiers"].as_array().unwrap().len(), 2);
    // The ENT editor's event says what to withdraw.
    let stored = t.stored(&av_id).await.unwrap();
    let event = conventions_ent::jobs::webhook::payload(
        &stored,
        "2026-12-02T08:00:00Z",
        t.app.directory().as_ref(),
    );
    assert_eq!(event["type"], "convention.avenant_acceptee");
    assert_eq!(event["data"]["avenant"]["convention_initiale"], numero);
    assert_eq!(event["data"]["avenant"]["retraits"][0]["uai"], UAI_CARDROC);
    assert_eq!(event["data"]["avenant"]["ajouts"], json!([]));

    // A second avenant is n° 2, from the new perimeter.
    let r = t
        .post_json(
            &format!("/api/dossiers/{id}/avenant"),
            &json!({}),
            Some(&jeton),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let second = r.json();
    let v = t
        .get(
            &format!("/api/dossiers/{}", second["id"].as_str().unwrap()),
            Some(second["jeton"].as_str().unwrap()),
        )
        .await
        .json();
    assert_eq!(v["avenant"]["rang"], 2);
    assert_eq!(v["avenant"]["perimetre_initial"], json!([UAI_BAULON]));
    // An avenant is not a convention of its own: no termination, no renewal, no term.
    let r = t
        .post_json(
            &format!("/api/dossiers/{av_id}/resiliation"),
            &json!({"motif": "x"}),
            Some(&av_jeton),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = t
        .post_json(
            &format!("/api/dossiers/{av_id}/renouvellement"),
            &json!({}),
            Some(&av_jeton),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(t.stored(&av_id).await.unwrap().echeance, None);
    // An avenant itself takes no avenant.
    let r = t
        .post_json(
            &format!("/api/dossiers/{av_id}/avenant"),
            &json!({}),
            Some(&av_jeton),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
}

/// A school of the shipped directory extract that the annuaire lists closed.
const UAI_FERMEE: &str = "0351383N";

#[tokio::test]
async fn a_school_the_annuaire_closed_is_flagged_and_the_collectivite_invited_once() {
    use conventions_ent::domain::change::{Change, Condition, Update};
    let t = TestApp::spawn().await;
    let (id, jeton) = t.deposit_new(&full_dossier()).await;
    generate(&t).await;
    decide(&t, &id, "passer_en_instruction").await;
    decide(&t, &id, "accepter").await;
    let dossier = conventions_ent::domain::ids::DossierId::parse(&id).unwrap();
    // The perimeter as an earlier avenant left it, with a school the latest annuaire closed
    // (set in the store: a deposit refuses a closed school today).
    let stored = t.stored(&id).await.unwrap();
    let mut closed = stored.depot.as_ref().unwrap().ecoles[0].clone();
    closed.uai = UAI_FERMEE.into();
    closed.nom = "Ecole primaire privée Ste Catherine de Sienne".into();
    let perimetre = vec![stored.depot.as_ref().unwrap().ecoles[0].clone(), closed];
    let fixture = Change {
        step: conventions_ent::domain::life::Step::Autosave,
        condition: Condition::Exists,
        updates: vec![Update::Perimetre(perimetre)],
        notices: Vec::new(),
    };
    t.app.dossiers.write(&dossier, &fixture).await.unwrap();
    use conventions_ent::domain::school::SchoolDirectory;
    let directory_says = t
        .app
        .directory()
        .as_ref()
        .ecole(&conventions_ent::domain::uai::Uai::parse(UAI_FERMEE).unwrap())
        .map(|e| e.ouverte);
    assert_eq!(directory_says, Some(false), "the extract lists it closed");

    let before = t.sent_emails().await.len();
    let now = conventions_ent::domain::time::Now::system();
    let report = conventions_ent::jobs::daily::run(&t.app, &now)
        .await
        .unwrap();
    assert_eq!(report.ecoles_fermees_signalees, 1, "{report:?}");
    let v = t
        .get(&format!("/api/dossiers/{id}"), Some(&jeton))
        .await
        .json();
    assert_eq!(v["ecoles_fermees"][0]["uai"], UAI_FERMEE);
    let seen = t
        .as_instructeur("GET", &format!("/api/instructeur/dossiers/{id}"), None)
        .await
        .json();
    assert_eq!(seen["ecoles_fermees"][0]["uai"], UAI_FERMEE);
    let emails = t.sent_emails().await;
    let invited: Vec<&Value> = emails[before..]
        .iter()
        .filter(|e| e["subject"].as_str().unwrap_or("").contains("a fermé"))
        .collect();
    assert_eq!(invited.len(), 1, "{:?}", &emails[before..]);
    assert!(invited[0]["body"]
        .to_string()
        .contains("Modifier les écoles de la convention"));
    // Once: the next run flags nothing new.
    let again = conventions_ent::jobs::daily::run(&t.app, &now)
        .await
        .unwrap();
    assert_eq!(again.ecoles_fermees_signalees, 0);
}
