//! Several ENT editors, one per territory (`EDITEURS_CONFIG`): the Côtes-d'Armor's dossiers go
//! to one editor, Ille-et-Vilaine's to another; each receives only its events, signed with its
//! own secret (verified by the PyPI `standardwebhooks` library as the editor runs it), answers
//! only for its schools with its own answer secret, and is named on the instructeur's page; the
//! export is filtered per editor and comes in the GAR's first-degree record shape.

use crate::editor::post_signed;
use crate::helpers::*;
use crate::instructeur::receiver;
use conventions_ent::editeurs::Editeurs;
use conventions_ent::jobs::stream::process_selected;
use conventions_ent::jobs::webhook::{deliver, scheduled};
use serde_json::{json, Value};

const ARMOR_WEBHOOK: &str = "whsec_d2ViaG9vay1kZS1sLWVudC1hcm1vci1wb3VyLXRlc3RzIQ==";
const ARMOR_REPONSE: &str = "whsec_cmVwb25zZS1kZS1sLWVudC1hcm1vci1wb3VyLXRlc3RzIQ==";
const E35_WEBHOOK: &str = "whsec_d2ViaG9vay1kZS1sLWVudC0zNS1wb3VyLWxlcy10ZXN0cw==";
const E35_REPONSE: &str = "whsec_cmVwb25zZS1kZS1sLWVudC0zNS1wb3VyLWxlcy10ZXN0cw==";

async fn accept(t: &TestApp, id: &str) {
    crate::editor::accept(t, id).await
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

#[tokio::test]
async fn each_editor_receives_answers_and_exports_only_its_territorys_schools() {
    let armor = receiver(vec![200]);
    let ent35 = receiver(vec![200]);
    let mut t = TestApp::spawn().await;
    let config = json!({
        "ent-armor": {"nom": "ENT Armor", "departements": ["22"], "webhook_url": armor.url,
                      "webhook_secret": ARMOR_WEBHOOK, "answer_secret": ARMOR_REPONSE},
        "ent-35": {"nom": "ENT d’Ille-et-Vilaine", "departements": ["35"], "webhook_url": ent35.url,
                   "webhook_secret": E35_WEBHOOK, "answer_secret": E35_REPONSE},
    });
    t.app.config.editeurs =
        Editeurs::parse_json(&config.to_string(), "test", &t.app.config.academie).unwrap();
    // The single-editor answer secret of the tests stays: the editor `defaut`, given nothing
    // here since every département has its editor.
    let (id35, _) = t.deposit_new(&full_dossier()).await;
    let (id22, jeton22) = t.deposit_new(&dossier_22()).await;
    accept(&t, &id35).await;
    accept(&t, &id22).await;

    let event = t.stream_event().await;
    let out = process_selected(&event, scheduled, |d| deliver(&t.app, d)).await;
    assert!(out.batch_item_failures.is_empty());
    let calls = |r: &crate::instructeur::Receiver| r.calls.lock().unwrap().clone();
    let (to_armor, to_35) = (calls(&armor), calls(&ent35));
    assert_eq!((to_armor.len(), to_35.len()), (1, 1), "one event each");
    let (headers, body) = &to_armor[0];
    assert_eq!(
        editor_library_accepts_with(ARMOR_WEBHOOK, headers, body),
        Ok("vérifié : convention.acceptee".to_string()),
        "signed with its own secret"
    );
    assert!(
        editor_library_accepts_with(E35_WEBHOOK, headers, body).is_err(),
        "not with the other editor's"
    );
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["data"]["ecoles"][0]["uai"], UAI_SAINT_BRIEUC);
    assert_eq!(payload["data"]["collectivite"]["siret"], SIRET_SAINT_BRIEUC);
    let (headers, body) = &to_35[0];
    assert!(editor_library_accepts_with(E35_WEBHOOK, headers, body).is_ok());
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["data"]["ecoles"][0]["uai"], UAI_BAULON);

    // The instructeur's page names the editor and the delivery.
    let detail = t
        .as_instructeur("GET", &format!("/api/instructeur/dossiers/{id22}"), None)
        .await
        .json();
    assert_eq!(detail["editeur"]["nom"], "ENT Armor", "{detail}");
    assert_eq!(detail["webhook"]["etat"], "livre");
    assert_eq!(detail["webhook"]["tentatives"][0]["editeur"], "ent-armor");

    // Each editor answers for its schools only: the Armor's answer on a 35 school is refused,
    // nothing of it written.
    let day = today();
    let answer = |uai: &str| json!({"ecoles": [{"uai": uai, "etat": "ouverte", "le": day}]});
    let r = post_signed(
        &t,
        &json!({"ecoles": [{"uai": UAI_SAINT_BRIEUC, "etat": "ouverte", "le": day},
                           {"uai": UAI_BAULON, "etat": "ouverte", "le": day}]})
        .to_string(),
        ARMOR_REPONSE,
        None,
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let problem = r.json();
    assert_eq!(problem["errors"][0]["champ"], "ecoles[1].uai", "{problem}");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("vous a confié"),
        "{problem}"
    );
    let view = t
        .get(&format!("/api/dossiers/{id22}"), Some(&jeton22))
        .await
        .json();
    assert_eq!(view["ecoles"][0]["gar"], Value::Null, "all or nothing");
    // Signed with a secret no editor holds: 401.
    let stranger = "whsec_c2VjcmV0LWQtdW4taW5jb25udS1xdWktbi1lc3QtcGFzLWVkaXRldXI=";
    let r = post_signed(&t, &answer(UAI_SAINT_BRIEUC).to_string(), stranger, None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // Each with its own secret, its own school: recorded.
    for (uai, secret) in [(UAI_SAINT_BRIEUC, ARMOR_REPONSE), (UAI_BAULON, E35_REPONSE)] {
        let r = post_signed(&t, &answer(uai).to_string(), secret, None).await;
        assert_eq!(r.status, 200, "{uai}: {}", r.body);
    }
    let view = t
        .get(&format!("/api/dossiers/{id22}"), Some(&jeton22))
        .await
        .json();
    assert_eq!(view["ecoles"][0]["gar"]["etat"], "ouverte");
    let detail = t
        .as_instructeur("GET", &format!("/api/instructeur/dossiers/{id22}"), None)
        .await
        .json();
    let last = detail["historique"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["par"], "éditeur ENT : ENT Armor",
        "the audit names the editor"
    );

    // The export per editor, with the editor's column.
    let r = t
        .export("/api/instructeur/export/ecoles.json?editeur=ent-armor")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rows = r.json();
    let uais: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uai"].as_str().unwrap())
        .collect();
    assert_eq!(uais, [UAI_SAINT_BRIEUC]);
    assert_eq!(rows[0]["editeur"], "ent-armor");
    assert_eq!(rows[0]["secteur"], "Public");
    let r = t
        .export("/api/instructeur/export/ecoles.csv?editeur=inconnu")
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["errors"][0]["champ"], "editeur");
    assert!(
        r.body.contains("ent-35") && r.body.contains("ent-armor"),
        "{}",
        r.body
    );

    // The GAR's first-degree record shape: UAI, current name, contract type.
    let r = t
        .as_instructeur(
            "GET",
            "/api/instructeur/export/ecoles-gar.json?editeur=ent-35",
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let gar = r.json();
    let names = t
        .export("/api/instructeur/export/ecoles.json?editeur=ent-35")
        .await
        .json();
    let expected: Vec<Value> = names
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!({"GARStructureUAI": e["uai"], "GARStructureNomCourant": e["nom_ecole"], "GARStructureContrat": "PU"}))
        .collect();
    assert_eq!(gar["GAREtab"], json!(expected), "{gar}");
    assert_eq!(gar["GAREtab"][0]["GARStructureUAI"], UAI_BAULON);
    assert_eq!(gar["GAREtab"][1]["GARStructureUAI"], UAI_CARDROC);
    assert_eq!(gar["conventions"][0]["siren_collectivite"], "213500168");
    let r = t
        .as_instructeur(
            "GET",
            "/api/instructeur/export/ecoles-gar.json?depuis=2026-01-01",
            None,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["errors"][0]["champ"], "depuis");
    // Only what was handed over: no refused or pending dossier's schools.
    let r = t
        .as_instructeur(
            "GET",
            "/api/instructeur/export/ecoles-gar.json?statut=refuse",
            None,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["errors"][0]["champ"], "statut");
}

#[tokio::test]
async fn a_collectivite_listed_by_an_editor_goes_to_it_whatever_its_departement() {
    let armor = receiver(vec![200]);
    let mut t = TestApp::spawn().await;
    // Baulon (35) is an Armor customer; the rest of the 35 keeps the single-editor settings.
    let config = json!({
        "ent-armor": {"nom": "ENT Armor", "departements": ["22"], "collectivites": ["213500168"],
                      "webhook_url": armor.url, "webhook_secret": ARMOR_WEBHOOK},
    });
    t.app.config.editeurs =
        Editeurs::parse_json(&config.to_string(), "test", &t.app.config.academie).unwrap();
    let (id, _) = t.deposit_new(&full_dossier()).await;
    accept(&t, &id).await;
    let event = t.stream_event().await;
    let out = process_selected(&event, scheduled, |d| deliver(&t.app, d)).await;
    assert!(out.batch_item_failures.is_empty());
    let calls = armor.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    let payload: Value = serde_json::from_str(&calls[0].1).unwrap();
    assert_eq!(payload["data"]["collectivite"]["siren"], "213500168");
    // The Armor has no answer secret: the single-editor one does not answer for its schools.
    let day = today();
    let r = post_signed(
        &t,
        &json!({"ecoles": [{"uai": UAI_BAULON, "etat": "ouverte", "le": day}]}).to_string(),
        EDITOR_ANSWER_SECRET,
        None,
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
}
