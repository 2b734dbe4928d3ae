//! Secrets out of the environment (`src/secrets.rs`): read at cold start from the emulator's
//! Secrets Manager through SSM's reference path, with the real SDK, each function keeping only
//! those it needs; and a rotation, during which links, webhook signatures and editor answers
//! made with the previous secret still work.

use crate::editor::post_signed;
use crate::helpers::*;
use crate::instructeur::receiver;
use conventions_ent::config::{AnswerSecret, ConfigError};
use conventions_ent::secrets::{load, Secret};
use serde_json::{json, Value};
use std::collections::HashMap;

/// A secret created in the emulator's Secrets Manager (its JSON API: moto routes on the
/// credential scope and checks no signature).
fn create_secret(name: &str, value: &str) {
    let answer: Value = ureq::post(&moto_endpoint())
        .set("x-amz-target", "secretsmanager.CreateSecret")
        .set("content-type", "application/x-amz-json-1.1")
        .set(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20261202/eu-west-3/secretsmanager/aws4_request, SignedHeaders=host, Signature=0",
        )
        .send_string(&json!({"Name": name, "SecretString": value}).to_string())
        .expect("moto creates the secret")
        .into_json()
        .unwrap();
    assert!(answer["ARN"].is_string(), "{answer}");
}

/// `load` as a function's cold start runs it, with `vars` as its environment and the real SSM
/// client against the emulator.
async fn load_with(
    t: &TestApp,
    config: &mut conventions_ent::config::Config,
    needs: &[Secret],
    vars: &HashMap<&'static str, String>,
) -> Result<(), ConfigError> {
    let client = aws_sdk_ssm::Client::new(&t.sdk);
    load(
        config,
        needs,
        |v| vars.get(v).cloned(),
        |id| conventions_ent::adapters::ssm::secret_value(client.clone(), id),
    )
    .await
}

#[tokio::test]
async fn each_function_reads_only_the_secrets_it_needs_from_secrets_manager() {
    let t = TestApp::spawn().await;
    let s = suffix();
    let link_name = format!("test-{s}/link-secret");
    create_secret(
        &link_name,
        r#"{"actuel": "lien-neuf", "precedent": "lien-ancien"}"#,
    );
    let answer_name = format!("test-{s}/reponse");
    create_secret(&answer_name, EDITOR_ANSWER_SECRET);
    let editeurs_name = format!("test-{s}/editeurs");
    create_secret(
        &editeurs_name,
        &json!({"ent-armor": {"nom": "ENT Armor", "departements": ["22"]}}).to_string(),
    );
    let vars: HashMap<&'static str, String> = [
        // By name, as the template gives them (SSM's reference path reads a ':' of an ARN as a
        // version selector).
        ("LINK_SECRET_ID", link_name.clone()),
        ("EDITOR_ANSWER_SECRET_ID", answer_name),
        ("EDITEURS_CONFIG_ID", editeurs_name),
    ]
    .into();
    // As Config::from_env leaves them when the template gives ids.
    let mut base = t.app.config.clone();
    base.link_secret.clear();
    base.editor_answer_secret = None;

    // instructeur-api's needs.
    let mut api = base.clone();
    load_with(
        &t,
        &mut api,
        &[
            Secret::Link,
            Secret::Origin,
            Secret::EditorAnswer,
            Secret::Editeurs,
        ],
        &vars,
    )
    .await
    .unwrap();
    assert_eq!(api.link_secret, "lien-neuf");
    assert_eq!(api.link_secret_precedent.as_deref(), Some("lien-ancien"));
    assert_eq!(
        api.editor_answer_secret,
        Some(AnswerSecret::from_whsec(EDITOR_ANSWER_SECRET).unwrap())
    );
    assert_eq!(api.editeurs.list["ent-armor"].nom, "ENT Armor");
    assert!(
        api.webhook_secret.is_empty(),
        "the webhook's secret is not instructeur-api's"
    );

    // notify-editor's: the link and answer secrets are not kept.
    let mut notify = base.clone();
    load_with(&t, &mut notify, &[Secret::Webhook, Secret::Editeurs], &vars)
        .await
        .unwrap();
    assert!(notify.link_secret.is_empty() && notify.editor_answer_secret.is_none());
    assert_eq!(
        notify.webhook_secret, WEBHOOK_SECRET,
        "the local value stays"
    );

    // What stops a cold start, in French, naming the variable; never a value.
    let mut both = vars.clone();
    both.insert("LINK_SECRET", "en-clair".into());
    let e = load_with(&t, &mut base.clone(), &[Secret::Link], &both)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("LINK_SECRET et LINK_SECRET_ID sont fixées toutes les deux"),
        "{e}"
    );
    let mut missing = vars.clone();
    missing.insert("LINK_SECRET_ID", format!("test-{s}/absent"));
    let e = load_with(&t, &mut base.clone(), &[Secret::Link], &missing)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ne se lit pas dans Secrets Manager") && e.contains("absent"),
        "{e}"
    );
    let e = load_with(&t, &mut base.clone(), &[Secret::Link], &HashMap::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("LINK_SECRET est absente") && e.contains("LINK_SECRET_ID"),
        "{e}"
    );
    assert!(!e.contains("lien-neuf") && !e.contains("lien-ancien"));

    // The origin header is sent by CloudFront as the secret's value: no rotation object.
    let origin = format!("test-{s}/origine");
    create_secret(&origin, r#"{"actuel": "a", "precedent": "b"}"#);
    let with_origin: HashMap<&'static str, String> = [("ORIGIN_SECRET_ID", origin)].into();
    let e = load_with(&t, &mut base.clone(), &[Secret::Origin], &with_origin)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("valeur simple"), "{e}");

    // Two editors with one answer key: one could answer for the other.
    let shared = format!("test-{s}/editeurs-partages");
    create_secret(
        &shared,
        &json!({"ent-armor": {"nom": "ENT Armor", "departements": ["22"],
                              "answer_secret": EDITOR_ANSWER_SECRET}})
        .to_string(),
    );
    let with_shared: HashMap<&'static str, String> = [("EDITEURS_CONFIG_ID", shared)].into();
    let mut api = t.app.config.clone();
    let e = load_with(
        &t,
        &mut api,
        &[Secret::Link, Secret::EditorAnswer, Secret::Editeurs],
        &with_shared,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("ent-armor") && e.contains("même secret de réponse"),
        "{e}"
    );
}

#[tokio::test]
async fn during_a_rotation_the_previous_secret_still_works() {
    use conventions_ent::domain::ids::{link_jeton, DossierId};
    let mut t = TestApp::spawn().await;
    let (id, _) = t.deposit_new(&full_dossier()).await;
    let dossier = DossierId::parse(&id).unwrap();
    let old = t.app.config.link_secret.clone();
    let link = link_jeton(old.as_bytes(), &dossier, 0);
    let path = format!("/api/dossiers/{id}");
    assert_eq!(t.get(&path, Some(&link)).await.status, 200);

    // The new link secret in place, the old one as `precedent`: the email link still opens.
    t.app.config.link_secret = format!("neuf-{}", suffix());
    t.app.config.link_secret_precedent = Some(old.clone());
    assert_eq!(t.get(&path, Some(&link)).await.status, 200);
    let fresh = link_jeton(t.app.config.link_secret.as_bytes(), &dossier, 0);
    assert_eq!(t.get(&path, Some(&fresh)).await.status, 200);
    // Once the rotation is over, only the new one.
    t.app.config.link_secret_precedent = None;
    assert_eq!(t.get(&path, Some(&link)).await.status, 404);
    assert_eq!(t.get(&path, Some(&fresh)).await.status, 200);

    // The webhook carries both signatures: the editor verifies with the secret it has.
    let editor = receiver(vec![200]);
    let new_webhook = "whsec_bm91dmVhdS1zZWNyZXQtZHUtd2ViaG9vay1kZXMtdGVzdHM=";
    t.app.config.webhook_url = Some(editor.url.clone());
    t.app.config.webhook_secret = new_webhook.into();
    t.app.config.webhook_secret_precedent = Some(WEBHOOK_SECRET.into());
    crate::editor::accept(&t, &id).await;
    let event = t.stream_event().await;
    let out = conventions_ent::jobs::stream::process_selected(
        &event,
        conventions_ent::jobs::webhook::scheduled,
        |d| conventions_ent::jobs::webhook::deliver(&t.app, d),
    )
    .await;
    assert!(out.batch_item_failures.is_empty());
    let (headers, body) = editor.calls.lock().unwrap()[0].clone();
    assert_eq!(headers["webhook-signature"].matches("v1,").count(), 2);
    for secret in [new_webhook, WEBHOOK_SECRET] {
        assert!(
            editor_library_accepts_with(secret, &headers, &body).is_ok(),
            "verified with {secret}"
        );
    }

    // An answer signed with the previous answer secret passes the signature (then its UAI,
    // unknown, is refused: 422, not 401).
    t.app.config.editor_answer_secret =
        Some(AnswerSecret::from_whsec("whsec_bm91dmVsbGUtcmVwb25zZS1kZS1sLWVkaXRldXIh").unwrap());
    t.app.config.editor_answer_secret_precedent =
        Some(AnswerSecret::from_whsec(EDITOR_ANSWER_SECRET).unwrap());
    let body =
        json!({"ecoles": [{"uai": "0229903V", "etat": "ouverte", "le": "2026-12-01"}]}).to_string();
    assert_eq!(
        post_signed(&t, &body, EDITOR_ANSWER_SECRET, None)
            .await
            .status,
        422
    );
    t.app.config.editor_answer_secret_precedent = None;
    assert_eq!(
        post_signed(&t, &body, EDITOR_ANSWER_SECRET, None)
            .await
            .status,
        401
    );
}
