//! The ENT editor's answer on GAR access (`POST /api/editeur/ecoles`), signed by the PyPI
//! `standardwebhooks` library as an editor signs it: recorded per school, shown in both views
//! and by the list's filter « en attente de l’éditeur »; wrong or stale signatures, unknown
//! schools refused without writing anything; the same answer twice leaves the same state.
//! And the typed event the editor receives.

use crate::helpers::*;
use serde_json::{json, Value};

const PATH: &str = "/api/editeur/ecoles";

/// A deposited dossier of Baulon with its two schools, accepted. (id, jeton)
async fn accepted(t: &TestApp) -> (String, String) {
    let (id, jeton) = t.deposit_new(&full_dossier()).await;
    accept(t, &id).await;
    (id, jeton)
}

/// Takes a deposited dossier up and accepts it, as an instructeur.
pub(crate) async fn accept(t: &TestApp, id: &str) {
    let path = format!("/api/instructeur/dossiers/{id}/decision");
    for action in ["passer_en_instruction", "accepter"] {
        let r = t
            .as_instructeur("POST", &path, Some(&json!({ "action": action })))
            .await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
    }
}

/// POSTs `body` signed by the library with `secret` at `timestamp` (now when None).
pub(crate) async fn post_signed(
    t: &TestApp,
    body: &str,
    secret: &str,
    timestamp: Option<i64>,
) -> TestResponse {
    let id = format!("msg_{}", suffix());
    let headers = editor_library_signs(secret, &id, body, timestamp);
    let mut h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    h.push(("content-type", "application/json"));
    t.call("POST", PATH, Some(body), &h).await
}

async fn answer(t: &TestApp, body: &Value) -> TestResponse {
    post_signed(t, &body.to_string(), EDITOR_ANSWER_SECRET, None).await
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

async fn waiting(t: &TestApp) -> Vec<String> {
    let r = t
        .as_instructeur("GET", "/api/instructeur/dossiers?gar=en_attente", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["dossiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_editors_signed_answer_is_recorded_per_school_and_shown() {
    let t = TestApp::spawn().await;
    let (id, jeton) = accepted(&t).await;
    let (pending, _) = t.deposit_new(&full_dossier()).await;
    let view = t
        .get(&format!("/api/dossiers/{id}"), Some(&jeton))
        .await
        .json();
    assert_eq!(view["ecoles"][0]["gar"], Value::Null, "{view}");
    assert!(view["accepte_le"].is_string());
    assert_eq!(
        waiting(&t).await,
        vec![id.clone()],
        "accepted, nothing open yet"
    );

    let day = today();
    let body = json!({"ecoles": [
        {"uai": UAI_BAULON, "etat": "ouverte", "le": day},
        {"uai": UAI_CARDROC, "etat": "rejetee", "le": day, "motif": "École absente de l’AAF"},
    ]});
    let r = answer(&t, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!({"enregistrees": 2}));

    // Both views give each school its `gar`.
    let view = t
        .get(&format!("/api/dossiers/{id}"), Some(&jeton))
        .await
        .json();
    assert_eq!(
        view["ecoles"][0]["gar"],
        json!({"etat": "ouverte", "le": day, "motif": null})
    );
    assert_eq!(view["ecoles"][1]["gar"]["etat"], "rejetee");
    assert_eq!(view["ecoles"][1]["gar"]["motif"], "École absente de l’AAF");
    let detail = t
        .as_instructeur("GET", &format!("/api/instructeur/dossiers/{id}"), None)
        .await
        .json();
    assert_eq!(detail["ecoles"], view["ecoles"]);
    let last = detail["historique"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["par"], "éditeur ENT : éditeur unique de l’académie");
    assert!(
        last["detail"].as_str().unwrap().contains(UAI_CARDROC),
        "{last}"
    );
    let other = t
        .as_instructeur("GET", &format!("/api/instructeur/dossiers/{pending}"), None)
        .await
        .json();
    assert_eq!(
        other["ecoles"][0]["gar"],
        Value::Null,
        "not accepted: untouched"
    );

    // Refused is not open: still waiting for the editor.
    assert_eq!(waiting(&t).await, vec![id.clone()]);

    // The same answer again (another message): the same state, not even an audit line.
    let before = t.stored(&id).await.unwrap();
    let r = answer(&t, &body).await;
    assert_eq!((r.status, r.json()), (200, json!({"enregistrees": 2})));
    assert_eq!(t.stored(&id).await.unwrap(), before, "idempotent");

    // The refused school opened later: nothing waits any more.
    let r = answer(
        &t,
        &json!({"ecoles": [{"uai": UAI_CARDROC, "etat": "ouverte", "le": day}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(waiting(&t).await.is_empty());
    let row = t.list_row(&id).await;
    assert_eq!(row["gar"]["ouvertes"], 2);
    assert_eq!(row["gar"]["en_attente"], 0);
    let bad = t
        .as_instructeur("GET", "/api/instructeur/dossiers?gar=ouvert", None)
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.error_on("gar").is_some(), "{}", bad.body);
}

#[tokio::test]
async fn wrong_or_stale_signatures_and_unknown_schools_write_nothing() {
    let t = TestApp::spawn().await;
    let (id, _) = accepted(&t).await;
    let before = t.table_snapshot().await;
    let day = today();
    let body = json!({"ecoles": [{"uai": UAI_BAULON, "etat": "ouverte", "le": day}]}).to_string();

    let check_401 = |r: &TestResponse, needle: &str| {
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(
            r.header("content-type"),
            "application/problem+json; charset=utf-8"
        );
        let p = r.json();
        assert_eq!(p["type"], "/problemes/signature-invalide");
        assert!(
            p["detail"].as_str().unwrap().contains(needle),
            "{needle}: {p}"
        );
    };
    // Signed with another secret (the webhook's), or ten minutes ago, or not at all.
    check_401(
        &post_signed(&t, &body, WEBHOOK_SECRET, None).await,
        "invalide",
    );
    let old = chrono::Utc::now().timestamp() - 600;
    check_401(
        &post_signed(&t, &body, EDITOR_ANSWER_SECRET, Some(old)).await,
        "périmée",
    );
    check_401(
        &t.call(
            "POST",
            PATH,
            Some(&body),
            &[("content-type", "application/json")],
        )
        .await,
        "absente",
    );
    // Signed, then changed.
    let headers = editor_library_signs(EDITOR_ANSWER_SECRET, "msg_1", &body, None);
    let mut h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    h.push(("content-type", "application/json"));
    let changed = body.replace(UAI_BAULON, UAI_CARDROC);
    check_401(&t.call("POST", PATH, Some(&changed), &h).await, "invalide");

    // A school of no accepted convention: named, and the valid one beside it not written.
    let r = answer(
        &t,
        &json!({"ecoles": [
            {"uai": UAI_BAULON, "etat": "ouverte", "le": day},
            {"uai": "0350192U", "etat": "ouverte", "le": day},
        ]}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let message = r.error_on("ecoles[1].uai").expect("the item named");
    assert!(message.contains("0350192U"), "{message}");
    assert!(r.error_on("ecoles[0].uai").is_none());

    // Too large.
    let big = format!("{{\"ecoles\": [], \"x\": \"{}\"}}", "a".repeat(600 * 1024));
    let r = post_signed(&t, &big, EDITOR_ANSWER_SECRET, None).await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.json()["detail"].as_str().unwrap().contains("Kio"));

    assert_eq!(t.table_snapshot().await, before, "nothing written");
    assert_eq!(
        t.stored(&id).await.unwrap().depot.unwrap().ecoles[0].gar,
        None
    );
    assert_eq!(t.call("GET", PATH, None, &[]).await.status, 405);
}

/// The event the editor receives: typed, its schools with their contract, its own id stable
/// through a replay while the message id changes; nothing version-specific in `data`.
#[tokio::test]
async fn the_event_names_the_convention_and_its_perimeter() {
    use conventions_ent::jobs::webhook::{evenement_id, event_id, payload};
    let mut t = TestApp::spawn().await;
    t.app.config.webhook_url = Some("http://127.0.0.1:9/".into());
    let (id, _) = accepted(&t).await;
    let r = t.stored(&id).await.unwrap();
    let p = payload(&r, "2026-12-02T10:00:00.000Z", t.app.directory().as_ref());
    assert_eq!(p["type"], "convention.acceptee");
    let d = &p["data"];
    assert_eq!(d["numero"], r.numero.as_str());
    assert_eq!(d["version"], 1);
    assert_eq!(d["evenement_id"], evenement_id(&r).as_str());
    assert_eq!(d["collectivite"]["siren"], "213500168");
    assert_eq!(d["ecoles"][0]["uai"], UAI_BAULON);
    assert_eq!(d["ecoles"][0]["contrat"], "public");
    assert_eq!(d["ecoles"][0]["code_insee"], "35016");
    assert!(d["convention"].get("sha256").is_none(), "{d}");
    // The older body, one more release.
    assert_eq!(p["evenement"], "dossier.accepte");
    assert!(p.get("convention").is_some() && p["ecoles"][0].get("contrat").is_none());

    let replay = t
        .as_instructeur(
            "POST",
            &format!("/api/instructeur/dossiers/{id}/webhook"),
            None,
        )
        .await;
    assert_eq!(
        replay.status, 409,
        "a delivery is still due: {}",
        replay.body
    );
    // As after a delivery and a replay the académie asked for.
    let mut replayed = r.clone();
    replayed
        .historique
        .push(conventions_ent::domain::dossier::Evenement {
            le: "2026-12-02T10:00:00.000Z".into(),
            par: "instructrice@ac-test.fr".into(),
            nom: None,
            sub: None,
            action: conventions_ent::domain::steps::WEBHOOK_REPLAYED.into(),
            detail: None,
        });
    assert_eq!(evenement_id(&replayed), evenement_id(&r), "the event's id");
    assert_ne!(event_id(&replayed), event_id(&r), "a new message");
}
