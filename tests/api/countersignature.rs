//! The académie's countersignature on acceptance: version 2 of the convention, printed with
//! « Pour l’académie … par délégation … », its own verification code and download, one email
//! linking it; version 1 kept, downloadable, verifiable and said replaced.

use crate::helpers::*;
use conventions_ent::domain::time::french_datetime_str;
use conventions_ent::http::instructeur::auth::sign_hs256;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The instructeur's token as Cognito gives it when the user has a name.
fn named_token() -> String {
    let now = chrono::Utc::now().timestamp();
    sign_hs256(
        &json!({"sub": "i2", "email": "sophie.leroy@ac-test.fr", "name": "Sophie LEROY",
                "token_use": "id", "cognito:groups": ["instructeurs"], "exp": now + 3600}),
        DEV_JWT_SECRET.as_bytes(),
    )
}

async fn decide(t: &TestApp, id: &str, action: &str) -> Value {
    let auth = format!("Bearer {}", named_token());
    let body = json!({ "action": action }).to_string();
    let r = t
        .call(
            "POST",
            &format!("/api/instructeur/dossiers/{id}/decision"),
            Some(&body),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{action}: {}", r.body);
    r.json()
}

/// Deposited, its convention generated and acknowledged, then accepted.
async fn accepted(t: &TestApp) -> (String, String) {
    let (id, jeton) = t.deposit_new(&full_dossier()).await;
    let ev = t.stream_event().await;
    assert!(t.run_generate(&ev).await.batch_item_failures.is_empty());
    let ev = t.stream_event().await;
    assert!(t.run_acknowledge(&ev).await.batch_item_failures.is_empty());
    let taken = decide(t, &id, "passer_en_instruction").await;
    assert_eq!(taken["contresignature_en_cours"], false);
    let accepted = decide(t, &id, "accepter").await;
    assert_eq!(
        accepted["contresignature_en_cours"], true,
        "the page says the signatory will get the countersigned convention"
    );
    (id, jeton)
}

/// The PDF a download route redirects to.
async fn download(t: &TestApp, path: &str, jeton: Option<&str>) -> Vec<u8> {
    let r = t.get(path, jeton).await;
    assert_eq!(r.status, 302, "{path}: {}", r.body);
    let (status, headers, body) = http_get(r.header("location").to_string()).await;
    assert_eq!(status, 200, "{path}: {headers:?}");
    body
}

fn folded(pdf: &[u8]) -> String {
    pdf_text(pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The emails telling the signatory of the acceptance.
fn acceptances_to_signatory(emails: &[Value]) -> Vec<&Value> {
    emails
        .iter()
        .filter(|e| e["destinations"].to_string().contains("mairie@exemple.fr"))
        .filter(|e| e["subject"].as_str().unwrap_or_default().contains("accept"))
        .collect()
}

#[tokio::test]
async fn acceptance_countersigns_a_second_version_and_mails_its_link_once() {
    let t = TestApp::spawn().await;
    t.enable_versioning().await;
    let (id, jeton) = accepted(&t).await;
    let page = format!("/api/dossiers/{id}");

    // The decision itself mails the référent only: the signatory hears of the acceptance with
    // the countersigned convention.
    let emails = t.sent_emails().await;
    assert!(acceptances_to_signatory(&emails).is_empty(), "{emails:?}");
    let to_referent = emails.iter().filter(|e| {
        e["destinations"]
            .to_string()
            .contains("jean.garcia@exemple.fr")
    });
    assert_eq!(to_referent.count(), 1, "the référent's, as before");
    let before = t.stored(&id).await.unwrap();
    assert_eq!(before.versions().len(), 1);
    let accepted_at = before.accepte_le().unwrap().to_string();

    // The acceptance's stream record → generate-convention renders version 2.
    let acceptance = t.stream_event().await;
    assert!(t
        .run_generate(&acceptance)
        .await
        .batch_item_failures
        .is_empty());
    let stored = t.stored(&id).await.unwrap();
    let versions = stored.versions().to_vec();
    assert_eq!(versions.len(), 2);
    let (v1, v2) = (&versions[0], &versions[1]);
    assert_eq!(
        v1,
        before.convention.as_ref().unwrap(),
        "version 1 untouched"
    );
    assert_ne!(v1.cle, v2.cle);
    assert_ne!(v1.code_verification, v2.code_verification);

    // Both dossier views list the versions; `convention` is version 2.
    let v = t.get(&page, Some(&jeton)).await.json();
    let instructeur = t
        .call(
            "GET",
            &format!("/api/instructeur/dossiers/{id}"),
            None,
            &[("authorization", &format!("Bearer {}", named_token()))],
        )
        .await
        .json();
    for view in [&v, &instructeur] {
        let listed: Vec<(u64, &str, &str, &str)> = view["conventions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["version"].as_u64().unwrap(),
                    c["nature"].as_str().unwrap(),
                    c["sha256"].as_str().unwrap(),
                    c["code_verification"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                (
                    1,
                    "depot",
                    v1.sha256.as_str(),
                    v1.code_verification.as_str()
                ),
                (
                    2,
                    "contresignature",
                    v2.sha256.as_str(),
                    v2.code_verification.as_str()
                ),
            ]
        );
        assert!(view["conventions"][0]["genere_le"].is_string());
        assert_eq!(view["convention"]["version"], 2);
        assert_eq!(view["convention"]["sha256"], v2.sha256);
        assert_eq!(
            view["convention"]["code_verification"],
            v2.code_verification
        );
    }

    // Both PDFs download; the current one is version 2.
    let first = download(&t, &format!("{page}/convention?version=1"), Some(&jeton)).await;
    let second = download(&t, &format!("{page}/convention?version=2"), Some(&jeton)).await;
    assert_eq!(hex::encode(Sha256::digest(&first)), v1.sha256);
    assert_eq!(hex::encode(Sha256::digest(&second)), v2.sha256);
    assert_eq!(
        download(&t, &format!("{page}/convention"), Some(&jeton)).await,
        second
    );
    let (t1, t2) = (folded(&first), folded(&second));
    let when = format!("le {}", french_datetime_str(&accepted_at));
    for needle in [
        "Pour l’académie, Mme Claire DUPONT, inspectrice d’académie",
        "par délégation Sophie LEROY",
        when.as_str(),
        v2.code_verification.as_str(),
        "Signé électroniquement par Camille MARTIN, Maire",
    ] {
        assert!(t2.contains(needle), "version 2 lacks {needle:?}:\n{t2}");
    }
    assert!(!t2.contains(&v1.code_verification), "its own code only");
    assert!(
        !t1.contains("Pour l’académie") && !t1.contains("par délégation"),
        "{t1}"
    );
    assert!(t1.contains(&v1.code_verification));

    // Both versions carry a valid seal of the académie (pdfsig, pyHanko) and are PDF/A-2b and
    // PDF/UA-1 (page-validation): issue #13's « done when ».
    let chain = t.get("/api/conventions/certificat.pem", None).await.body;
    let (ok, report) = check_seal(&chain, &[&first, &second]);
    assert!(ok, "{report}");
    assert_eq!(report.matches("sceau valide").count(), 4, "{report}");
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = [(&first, "v1.pdf"), (&second, "v2.pdf")]
        .into_iter()
        .map(|(pdf, name)| {
            let path = dir.path().join(name);
            std::fs::write(&path, pdf).unwrap();
            path
        })
        .collect();
    let (ok, report) = check_pdf(&paths);
    assert!(ok, "{report}");

    // A version that does not exist, and one that is not a number.
    let r = t
        .get(&format!("{page}/convention?version=3"), Some(&jeton))
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r
        .header("content-type")
        .starts_with("application/problem+json"));
    assert!(
        r.json()["detail"].as_str().unwrap().contains("version 3"),
        "{}",
        r.body
    );
    for bad in ["deux", "-1", "1.5", ""] {
        let r = t
            .get(&format!("{page}/convention?version={bad}"), Some(&jeton))
            .await;
        assert_eq!(r.status, 400, "{bad:?}: {}", r.body);
        assert!(r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("numéro de version"));
    }

    // The public check: version 1 was replaced by version 2, which is in force.
    let check = |code: String| {
        let t = &t;
        async move {
            let r = t
                .get(&format!("/api/conventions/verification/{code}"), None)
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.json()
        }
    };
    let old = check(v1.code_verification.clone()).await;
    assert_eq!(old["version"], 1);
    assert_eq!(old["nature"], "depot");
    assert_eq!(old["sha256"], v1.sha256);
    assert_eq!(
        old["remplacee_par"],
        json!({"version": 2, "nature": "contresignature"})
    );
    assert_eq!(old["statut"], "accepte");
    let new = check(v2.code_verification.clone()).await;
    assert_eq!(new["version"], 2);
    assert_eq!(new["sha256"], v2.sha256);
    assert_eq!(new["remplacee_par"], json!(null));
    assert_eq!(new["accepte_le"], json!(accepted_at));

    // The countersignature's stream record → send-acknowledgement: one email to the
    // signatory, linking version 2 (the private link).
    let countersigned = t.stream_event().await;
    assert!(t
        .run_acknowledge(&countersigned)
        .await
        .batch_item_failures
        .is_empty());
    let emails = t.sent_emails().await;
    let mails = acceptances_to_signatory(&emails);
    assert_eq!(mails.len(), 1, "{emails:?}");
    let acceptance_email = mails[0];
    assert!(
        acceptance_email.to_string().contains("contresignée"),
        "{acceptance_email}"
    );
    let link = link_in(acceptance_email, "http://127.0.0.1:9000/api/dossiers/");
    assert!(link.contains("/convention?version=2&jeton="), "{link}");
    let linked = download(&t, link.trim_start_matches("http://127.0.0.1:9000"), None).await;
    assert_eq!(linked, second);
    assert!(link_in(acceptance_email, "http://127.0.0.1:9000/dossiers/").contains("?jeton="));
    assert!(t
        .stored(&id)
        .await
        .unwrap()
        .avis_acceptation
        .unwrap()
        .envoi
        .is_some());

    // Replays of both records, once concurrently: nothing rendered, written or sent again.
    let snapshot = t.table_snapshot().await;
    let objects = t.objects().await;
    assert_eq!(objects.len(), 2, "one object per version: {objects:?}");
    let (a, b) = tokio::join!(t.run_generate(&acceptance), t.run_generate(&acceptance));
    assert!(a.batch_item_failures.is_empty() && b.batch_item_failures.is_empty());
    let (a, b) = tokio::join!(
        t.run_acknowledge(&countersigned),
        t.run_acknowledge(&countersigned)
    );
    assert!(a.batch_item_failures.is_empty() && b.batch_item_failures.is_empty());
    assert!(t
        .run_generate(&countersigned)
        .await
        .batch_item_failures
        .is_empty());
    let later = t.stream_event().await;
    assert!(t.run_generate(&later).await.batch_item_failures.is_empty());
    assert!(t
        .run_acknowledge(&later)
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(t.table_snapshot().await, snapshot);
    assert_eq!(t.objects().await, objects);
    assert_eq!(t.sent_emails().await.len(), emails.len());
}

/// A dossier stored before versions existed (`convention` without version or nature, no
/// `conventions`) reads as version 1, is countersigned as version 2, and its printed code
/// still verifies.
#[tokio::test]
async fn a_dossier_stored_before_versions_is_countersigned_and_keeps_its_code() {
    let t = TestApp::spawn().await;
    let (id, jeton) = t.deposit_new(&full_dossier()).await;
    let ev = t.stream_event().await;
    assert!(t.run_generate(&ev).await.batch_item_failures.is_empty());
    // As an item written before this change looks.
    aws_sdk_dynamodb::Client::new(&t.sdk)
        .update_item()
        .table_name(&t.table)
        .key("id", aws_sdk_dynamodb::types::AttributeValue::S(id.clone()))
        .update_expression("REMOVE conventions, convention.version, convention.nature")
        .send()
        .await
        .unwrap();
    let old = t.stored(&id).await.unwrap();
    assert!(old.conventions.is_empty());
    let code = old.convention.as_ref().unwrap().code_verification.clone();
    let v = t
        .get(&format!("/api/dossiers/{id}"), Some(&jeton))
        .await
        .json();
    assert_eq!(v["conventions"][0]["version"], 1);
    assert_eq!(v["conventions"][0]["nature"], "depot");

    for action in ["passer_en_instruction", "accepter"] {
        decide(&t, &id, action).await;
    }
    let ev = t.stream_event().await;
    assert!(t.run_generate(&ev).await.batch_item_failures.is_empty());
    let stored = t.stored(&id).await.unwrap();
    let versions: Vec<u32> = stored.versions().iter().map(|c| c.version).collect();
    assert_eq!(versions, [1, 2]);
    assert_eq!(stored.versions()[0].code_verification, code);
    let r = t
        .get(&format!("/api/conventions/verification/{code}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["remplacee_par"]["version"], 2);
}

/// SES refusing the acceptance email gives its lease back; the retry of the record sends it.
#[tokio::test]
async fn a_failed_acceptance_email_is_sent_by_the_retry() {
    let mut t = TestApp::spawn().await;
    let (id, _) = accepted(&t).await;
    let ev = t.stream_event().await;
    assert!(t.run_generate(&ev).await.batch_item_failures.is_empty());
    let ev = t.stream_event().await;
    let sender = t.app.config.sender_email.clone();
    t.app.config.sender_email = "jamais-verifiee@ac-test.fr".into();
    assert_eq!(t.run_acknowledge(&ev).await.batch_item_failures.len(), 1);
    let avis = t.stored(&id).await.unwrap().avis_acceptation.unwrap();
    assert_eq!(
        (avis.bail, avis.envoi.is_none()),
        (None, true),
        "lease given back"
    );
    t.app.config.sender_email = sender;
    assert!(t.run_acknowledge(&ev).await.batch_item_failures.is_empty());
    assert!(t
        .stored(&id)
        .await
        .unwrap()
        .avis_acceptation
        .unwrap()
        .envoi
        .is_some());
    let emails = t.sent_emails().await;
    assert_eq!(acceptances_to_signatory(&emails).len(), 1, "{emails:?}");
}
