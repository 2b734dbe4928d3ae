//! The convention's term and end (issue 14): a termination asked by the collectivité or the
//! académie, taking effect three months later through the daily function (statut `resilie`,
//! schools out of the export, the ENT editor told with the schools to withdraw, both sides
//! emailed); the term's reminders at 90 and 30 days; the warning before a draft is deleted.
//! The clock is passed in: no test sleeps.

use crate::helpers::*;
use crate::instructeur::receiver;
use conventions_ent::domain::time::Now;
use conventions_ent::jobs::daily::run as daily;
use serde_json::{json, Value};

fn at(day: &str) -> Now {
    Now::at(format!("{day}T06:00:00Z").parse().unwrap())
}

async fn decide(t: &TestApp, id: &str, body: Value) -> TestResponse {
    t.as_instructeur(
        "POST",
        &format!("/api/instructeur/dossiers/{id}/decision"),
        Some(&body),
    )
    .await
}

/// Deposited, generated, acknowledged, accepted, countersigned.
async fn accepted(t: &TestApp) -> (String, String) {
    let (id, jeton) = t.deposit_new(&full_dossier()).await;
    let ev = t.stream_event().await;
    assert!(t.run_generate(&ev).await.batch_item_failures.is_empty());
    let ev = t.stream_event().await;
    assert!(t.run_acknowledge(&ev).await.batch_item_failures.is_empty());
    for action in ["passer_en_instruction", "accepter"] {
        let r = decide(t, &id, json!({"action": action})).await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
    }
    (id, jeton)
}

fn subjects(emails: &[Value]) -> Vec<String> {
    emails
        .iter()
        .map(|e| e["subject"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The day `months` after `day` ("YYYY-MM-DD").
fn months_after(day: &str, months: u32) -> String {
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    d.checked_add_months(chrono::Months::new(months))
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

fn days_before(day: &str, days: i64) -> String {
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    (d - chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

async fn export_uais(t: &TestApp) -> Vec<String> {
    let r = t.export("/api/instructeur/export/ecoles.json").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["uai"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_termination_by_the_collectivite_takes_effect_after_three_months() {
    let editor = receiver(vec![200]);
    let mut t = TestApp::spawn().await;
    t.app.config.webhook_url = Some(editor.url.clone());
    let (id, jeton) = accepted(&t).await;
    let page = format!("/api/dossiers/{id}");
    let v = t.get(&page, Some(&jeton)).await.json();
    let start = v["echeance"]["prend_effet_le"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(v["echeance"]["fin_le"], months_after(&start, 60), "{v}");
    assert_eq!(v["resiliation"], Value::Null);
    assert_eq!(export_uais(&t).await, [UAI_BAULON, UAI_CARDROC]);

    // A motif is required; a draft or another dossier's jeton cannot terminate.
    let r = t
        .post_json(&format!("{page}/resiliation"), &json!({}), Some(&jeton))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.error_on("motif").is_some());
    let r = t
        .post_json(
            &format!("{page}/resiliation"),
            &json!({"motif": "Fin du contrat ENT"}),
            Some("pas-le-jeton"),
        )
        .await;
    assert_eq!(r.status, 404);

    let before = t.sent_emails().await.len();
    let r = t
        .post_json(
            &format!("{page}/resiliation"),
            &json!({"motif": "La commune change d’ENT à la rentrée."}),
            Some(&jeton),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let today = conventions_ent::domain::term::today(&Now::system())
        .format("%Y-%m-%d")
        .to_string();
    let effet = months_after(&today, 3);
    assert_eq!(v["resiliation"]["par"], "collectivite");
    assert_eq!(v["resiliation"]["effet_le"], effet.as_str());
    assert_eq!(
        v["resiliation"]["motif"],
        "La commune change d’ENT à la rentrée."
    );
    assert_eq!(v["statut"], "accepte", "in force until it takes effect");
    // Both sides told.
    let emails = t.sent_emails().await;
    let told: Vec<&Value> = emails[before..].iter().collect();
    assert_eq!(told.len(), 2, "{:?}", subjects(&emails[before..]));
    let to: Vec<String> = told.iter().map(|e| e["destinations"].to_string()).collect();
    assert!(to.iter().any(|d| d.contains("mairie@exemple.fr")), "{to:?}");
    assert!(
        to.iter().any(|d| d.contains(&t.app.config.contact_email)),
        "{to:?}"
    );
    // Asked once.
    let r = t
        .post_json(
            &format!("{page}/resiliation"),
            &json!({"motif": "Encore"}),
            Some(&jeton),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("déjà été demandée"));

    // The day before it takes effect nothing happens; on the day, the daily function ends it.
    let report = daily(&t.app, &at(&days_before(&effet, 1))).await.unwrap();
    assert_eq!(report.resiliations, 0);
    assert_eq!(t.stored(&id).await.unwrap().statut.as_str(), "accepte");
    let report = daily(&t.app, &at(&effet)).await.unwrap();
    assert_eq!(report.resiliations, 1, "{report:?}");
    let stored = t.stored(&id).await.unwrap();
    assert_eq!(stored.statut.as_str(), "resilie");
    assert_eq!(
        daily(&t.app, &at(&effet)).await.unwrap().resiliations,
        0,
        "a second run does nothing"
    );
    let v = t.get(&page, Some(&jeton)).await.json();
    assert_eq!(v["statut"], "resilie");
    // Its schools leave the export; `depuis=` lists them as withdrawn; the list finds it by
    // its statut.
    assert!(export_uais(&t).await.is_empty());
    let since = t
        .export(&format!(
            "/api/instructeur/export/ecoles.json?depuis={effet}"
        ))
        .await
        .json();
    let withdrawn: Vec<(&str, &str)> = since
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["uai"].as_str().unwrap(), r["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        withdrawn,
        [(UAI_BAULON, "retrait"), (UAI_CARDROC, "retrait")]
    );
    let listed = t
        .as_instructeur("GET", "/api/instructeur/dossiers?statut=resilie", None)
        .await
        .json();
    assert_eq!(listed["dossiers"][0]["id"], id.as_str(), "{listed}");
    let emails = t.sent_emails().await;
    let ended: Vec<String> = subjects(&emails)
        .into_iter()
        .filter(|s| s.ends_with("résiliée"))
        .collect();
    assert_eq!(ended.len(), 2, "both sides: {ended:?}");

    // The ENT editor is told, the Standard Webhooks way, with the schools to withdraw.
    use conventions_ent::jobs::stream::process_selected;
    use conventions_ent::jobs::webhook::{deliver, scheduled};
    let event = t.stream_event().await;
    let out = process_selected(&event, scheduled, |d| deliver(&t.app, d)).await;
    assert!(out.batch_item_failures.is_empty());
    let calls = editor.calls.lock().unwrap().clone();
    let (headers, body) = calls
        .iter()
        .find(|(_, b)| b.contains("convention.resiliee"))
        .expect("a termination event");
    editor_library_accepts(headers, body).expect("the editor's library verifies it");
    let sent: Value = serde_json::from_str(body).unwrap();
    assert_eq!(sent["type"], "convention.resiliee");
    assert_eq!(sent["data"]["resiliation"]["effet_le"], effet.as_str());
    let withdrawn: Vec<&str> = sent["data"]["ecoles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uai"].as_str().unwrap())
        .collect();
    assert_eq!(withdrawn, [UAI_BAULON, UAI_CARDROC]);
    assert!(sent["data"]["evenement_id"]
        .as_str()
        .unwrap()
        .contains("resiliee"));

    // Terminated: nothing more to terminate.
    let r = t
        .post_json(
            &format!("{page}/resiliation"),
            &json!({"motif": "Encore"}),
            Some(&jeton),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
}

#[tokio::test]
async fn the_academie_terminates_with_a_motif_and_only_a_convention_in_force() {
    let t = TestApp::spawn().await;
    let (pending, _) = t.deposit_new(&full_dossier()).await;
    let r = decide(&t, &pending, json!({"action": "resilier", "motif": "x"})).await;
    assert_eq!(r.status, 409, "not accepted: {}", r.body);
    let (id, jeton) = accepted(&t).await;
    let r = decide(&t, &id, json!({"action": "resilier"})).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.error_on("motif").is_some());
    let r = decide(
        &t,
        &id,
        json!({"action": "resilier", "motif": "Les écoles ont fermé."}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["resiliation"]["par"], "academie");
    let v = t
        .get(&format!("/api/dossiers/{id}"), Some(&jeton))
        .await
        .json();
    assert_eq!(v["resiliation"]["motif"], "Les écoles ont fermé.");
    let seen = t
        .as_instructeur("GET", &format!("/api/instructeur/dossiers/{id}"), None)
        .await
        .json();
    assert!(seen["historique"]
        .to_string()
        .contains("résiliation demandée par l’académie"));
}

#[tokio::test]
async fn the_term_is_recalled_ninety_then_thirty_days_before_to_both_sides() {
    let t = TestApp::spawn().await;
    let (id, jeton) = accepted(&t).await;
    let v = t
        .get(&format!("/api/dossiers/{id}"), Some(&jeton))
        .await
        .json();
    let fin = v["echeance"]["fin_le"].as_str().unwrap().to_string();
    let reminders = |emails: &[Value]| {
        subjects(emails)
            .into_iter()
            .filter(|s| s.contains("échéance"))
            .count()
    };
    let base = reminders(&t.sent_emails().await);
    assert_eq!(
        daily(&t.app, &at(&days_before(&fin, 91)))
            .await
            .unwrap()
            .rappels_echeance,
        0
    );
    let report = daily(&t.app, &at(&days_before(&fin, 90))).await.unwrap();
    assert_eq!(report.rappels_echeance, 1, "{report:?}");
    assert_eq!(
        reminders(&t.sent_emails().await),
        base + 2,
        "signatory and académie"
    );
    // The next days: nothing more until 30 days before.
    assert_eq!(
        daily(&t.app, &at(&days_before(&fin, 89)))
            .await
            .unwrap()
            .rappels_echeance,
        0
    );
    assert_eq!(
        daily(&t.app, &at(&days_before(&fin, 30)))
            .await
            .unwrap()
            .rappels_echeance,
        1
    );
    assert_eq!(reminders(&t.sent_emails().await), base + 4);
    assert_eq!(t.stored(&id).await.unwrap().rappels_echeance, [90, 30]);
    // The instructeur's filter « échéance dans 90 jours » does not list it today (five years
    // ahead), and lists it with a horizon past its term.
    let near = t
        .as_instructeur("GET", "/api/instructeur/dossiers?echeance=90", None)
        .await
        .json();
    assert_eq!(near["dossiers"].as_array().unwrap().len(), 0, "{near}");
    let far = t
        .as_instructeur("GET", "/api/instructeur/dossiers?echeance=3650", None)
        .await
        .json();
    assert_eq!(far["dossiers"][0]["id"], id.as_str(), "{far}");
    let bad = t
        .as_instructeur("GET", "/api/instructeur/dossiers?echeance=jamais", None)
        .await;
    assert_eq!(bad.status, 422);
}

#[tokio::test]
async fn a_confirmed_draft_is_warned_fourteen_days_before_its_deletion_once() {
    let t = TestApp::spawn().await;
    let (confirmed, _) = t.create_draft(&full_dossier()).await;
    let (_unconfirmed, _) = t.create_unconfirmed_draft(&full_dossier()).await;
    let expire = t.stored(&confirmed).await.unwrap().expire_le.unwrap();
    let day = |secs: i64| {
        chrono::DateTime::from_timestamp(secs, 0)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string()
    };
    let warnings = |emails: &[Value]| {
        emails
            .iter()
            .filter(|e| {
                e["subject"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("sera supprimé")
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        daily(&t.app, &at(&day(expire - 20 * 86_400)))
            .await
            .unwrap()
            .avertissements_brouillon,
        0
    );
    let report = daily(&t.app, &at(&day(expire - 10 * 86_400)))
        .await
        .unwrap();
    assert_eq!(report.avertissements_brouillon, 1, "the confirmed one only");
    let sent = warnings(&t.sent_emails().await);
    assert_eq!(sent.len(), 1);
    assert!(sent[0]["destinations"]
        .to_string()
        .contains("mairie@exemple.fr"));
    assert!(link_in(&sent[0], "http").contains(&confirmed));
    assert_eq!(
        daily(&t.app, &at(&day(expire - 9 * 86_400)))
            .await
            .unwrap()
            .avertissements_brouillon,
        0,
        "warned once for this expiry"
    );
}

#[tokio::test]
async fn a_convention_is_renewed_by_a_new_dossier_prefilled_from_it() {
    let t = TestApp::spawn().await;
    let (pending, pending_jeton) = t.deposit_new(&full_dossier()).await;
    let r = t
        .post_json(
            &format!("/api/dossiers/{pending}/renouvellement"),
            &json!({}),
            Some(&pending_jeton),
        )
        .await;
    assert_eq!(r.status, 409, "not in force yet: {}", r.body);
    let (id, jeton) = accepted(&t).await;
    let path = format!("/api/dossiers/{id}/renouvellement");
    let r = t
        .post_json(&path, &json!({"ecoles": []}), Some(&jeton))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = t.post_json(&path, &json!({}), Some(&jeton)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json();
    let new_id = created["id"].as_str().unwrap().to_string();
    let new_jeton = created["jeton"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);
    assert!(created["url"].as_str().unwrap().contains(&new_id));
    // A draft of nature renouvellement, pre-filled; the signatory confirms again.
    let v = t
        .get(&format!("/api/dossiers/{new_id}"), Some(&new_jeton))
        .await
        .json();
    let original = t
        .get(&format!("/api/dossiers/{id}"), Some(&jeton))
        .await
        .json();
    assert_eq!(v["statut"], "brouillon");
    assert_eq!(v["nature"], "renouvellement");
    assert_eq!(v["convention_initiale"], original["numero"]);
    assert_eq!(v["collectivite"]["siret"], SIRET_BAULON);
    assert_eq!(v["signataire"]["email"], "mairie@exemple.fr");
    assert_eq!(v["signataire"]["email_confirme_le"], Value::Null);
    let uais: Vec<&str> = v["ecoles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uai"].as_str().unwrap())
        .collect();
    assert_eq!(uais, [UAI_BAULON, UAI_CARDROC]);
    assert_eq!(v["referent"]["prenom_nom"], "Jean GARCIA");
    // The original's jeton does not open the new dossier; the convention itself is unchanged.
    assert_eq!(
        t.get(&format!("/api/dossiers/{new_id}"), Some(&jeton))
            .await
            .status,
        404
    );
    assert_eq!(original["statut"], "accepte");
    // It deposits as a convention once the signatory confirms the address again and gives the
    // act that authorises this new signature.
    t.confirm_signataire(&new_id, &new_jeton).await;
    let r = t
        .post_json(
            &format!("/api/dossiers/{new_id}/depot"),
            &json!({"approbation": true}),
            Some(&new_jeton),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.error_on("signataire.habilitation.nature").is_some(),
        "{}",
        r.body
    );
    let r = t
        .post_json(
            &format!("/api/dossiers/{new_id}/depot"),
            &json!({"approbation": true, "signataire": {"habilitation": full_dossier()["signataire"]["habilitation"]}}),
            Some(&new_jeton),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["nature"], "renouvellement");
}

#[tokio::test]
async fn the_academie_gets_one_digest_a_day_of_what_waits_for_it() {
    let t = TestApp::spawn().await;
    let (waiting, waiting_jeton) = t.deposit_new(&full_dossier()).await;
    let (_quiet, _) = accepted(&t).await;
    let r = t
        .post_json(
            &format!("/api/dossiers/{waiting}/messages"),
            &json!({"texte": "Où en est notre dossier ?"}),
            Some(&waiting_jeton),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let numero = t.stored(&waiting).await.unwrap().numero;
    let before = t.sent_emails().await.len();
    let today = Now::system();
    let report = daily(&t.app, &today).await.unwrap();
    assert!(report.recapitulatif_envoye, "{report:?}");
    let emails = t.sent_emails().await;
    let digests: Vec<&Value> = emails[before..]
        .iter()
        .filter(|e| e["subject"].as_str().unwrap_or("").contains("à traiter"))
        .collect();
    assert_eq!(digests.len(), 1, "{:?}", subjects(&emails[before..]));
    let d = digests[0];
    assert!(d["destinations"]
        .to_string()
        .contains(&t.app.config.contact_email));
    let body = d["body"].to_string();
    assert!(
        body.contains(&numero) && body.contains("sans réponse"),
        "{body}"
    );
    // Each with its page's address (the HTML escapes its slashes: the id is enough here).
    assert!(body.contains(&waiting), "{body}");
    assert!(d["subject"]
        .as_str()
        .unwrap()
        .contains("2 nouveau(x), 1 message(s)"));
    // Once a day.
    assert!(!daily(&t.app, &today).await.unwrap().recapitulatif_envoye);
    // Twenty days on, the unanswered dossier waits too long; a new day, a new digest.
    let later = at(&months_after(
        &conventions_ent::domain::term::today(&today)
            .format("%Y-%m-%d")
            .to_string(),
        1,
    ));
    assert!(daily(&t.app, &later).await.unwrap().recapitulatif_envoye);
    let emails = t.sent_emails().await;
    let last = emails
        .iter()
        .rev()
        .find(|e| e["subject"].as_str().unwrap_or("").contains("à traiter"))
        .unwrap();
    assert!(
        last["subject"].as_str().unwrap().contains("1 en attente"),
        "{last}"
    );

    // « À traiter »: what waits for the académie, oldest deposit first.
    let list = t
        .as_instructeur("GET", "/api/instructeur/dossiers?tri=a_traiter", None)
        .await
        .json();
    let ids: Vec<&str> = list["dossiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [waiting.as_str()]);
    let bad = t
        .as_instructeur("GET", "/api/instructeur/dossiers?tri=hasard", None)
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.error_on("tri").is_some());
}
