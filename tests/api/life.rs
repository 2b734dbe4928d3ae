//! The convention's life after the deposit (issue 14): a correction asked by the académie and
//! deposited again (a new signature, a new version, the earlier kept), a lost link mailed
//! again, an access renewed (every earlier link void).

use crate::helpers::*;
use serde_json::{json, Value};

async fn decide(t: &TestApp, id: &str, body: Value) -> TestResponse {
    t.as_instructeur(
        "POST",
        &format!("/api/instructeur/dossiers/{id}/decision"),
        Some(&body),
    )
    .await
}

/// Deposited, its convention generated and acknowledged, taken into instruction.
async fn in_instruction(t: &TestApp) -> (String, String) {
    let (id, jeton) = t.deposit_new(&full_dossier()).await;
    let ev = t.stream_event().await;
    assert!(t.run_generate(&ev).await.batch_item_failures.is_empty());
    let ev = t.stream_event().await;
    assert!(t.run_acknowledge(&ev).await.batch_item_failures.is_empty());
    let r = decide(t, &id, json!({"action": "passer_en_instruction"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    (id, jeton)
}

/// The jeton of the first private-page link of an email.
fn jeton_of_link(email: &Value) -> String {
    let link = link_in(email, "http");
    let (_, jeton) = link.split_once("jeton=").expect("a jeton in the link");
    jeton.split('&').next().unwrap().to_string()
}

fn emails_about<'a>(emails: &'a [Value], subject: &str) -> Vec<&'a Value> {
    emails
        .iter()
        .filter(|e| e["subject"].as_str().unwrap_or_default().contains(subject))
        .collect()
}

#[tokio::test]
async fn a_correction_is_asked_with_a_motif_edited_signed_again_and_versioned() {
    let t = TestApp::spawn().await;
    let (id, jeton) = in_instruction(&t).await;
    let page = format!("/api/dossiers/{id}");

    // Without a motif the request is refused on that field, nothing written.
    let before = t.stored(&id).await.unwrap();
    let r = decide(&t, &id, json!({"action": "repasser_en_construction"})).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        r.error_on("motif").as_deref(),
        Some("Ce champ est obligatoire.")
    );
    assert_eq!(t.stored(&id).await.unwrap(), before);
    // While in instruction the collectivité cannot edit.
    let r = t
        .patch_json(&page, &json!({"approbation": true}), &jeton)
        .await;
    assert_eq!(r.status, 409, "{}", r.body);

    let motif = "Retirez l’école de Cardroc : elle relève du SIVU.";
    let r = decide(
        &t,
        &id,
        json!({"action": "repasser_en_construction", "motif": motif}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["statut"], "en_construction");
    assert_eq!(r.json()["correction_demandee"]["motif"], motif);

    // The signatory is told, with the motif and the link to the private page.
    let emails = t.sent_emails().await;
    let told = emails_about(&emails, "renvoyé à la collectivité");
    assert_eq!(told.len(), 1, "{emails:?}");
    assert!(told[0]["destinations"]
        .to_string()
        .contains("mairie@exemple.fr"));
    assert!(told[0]["body"]
        .to_string()
        .contains("Retirez l’école de Cardroc"));
    let link_jeton = jeton_of_link(told[0]);

    // The private page (through the email's link) shows the request and the draft to edit;
    // the confirmation of the signatory's address is asked again.
    let v = t.get(&page, Some(&link_jeton)).await.json();
    assert_eq!(v["statut"], "en_construction");
    assert_eq!(v["correction_demandee"]["motif"], motif);
    assert!(v["correction_demandee"]["le"].is_string());
    assert_eq!(v["signataire"]["email_confirme_le"], Value::Null);
    assert_eq!(v["ecoles"].as_array().unwrap().len(), 2);

    // The collectivité edits: PATCH is allowed in that state, and the stored deposit is
    // untouched until it deposits again.
    let r = t
        .patch_json(&page, &json!({"ecoles": [{"uai": UAI_BAULON}]}), &jeton)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["ecoles"].as_array().unwrap().len(), 1);
    let stored = t.stored(&id).await.unwrap();
    assert_eq!(stored.depot.as_ref().unwrap().ecoles.len(), 2);
    assert_eq!(stored.expire_le, None, "a deposited dossier never expires");
    // The instructeur still sees what was deposited.
    let seen = t
        .as_instructeur("GET", &format!("/api/instructeur/dossiers/{id}"), None)
        .await
        .json();
    assert_eq!(seen["ecoles"].as_array().unwrap().len(), 2);
    assert_eq!(seen["correction_demandee"]["motif"], motif);
    // The list's « à corriger » filter finds it.
    let listed = t
        .as_instructeur("GET", "/api/instructeur/dossiers?correction=demandee", None)
        .await
        .json();
    let ids: Vec<&str> = listed["dossiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()), "{listed}");

    // Deposited again without confirming the address anew: refused on the signatory's address.
    let r = t
        .post_json(&format!("{page}/depot"), &json!({}), Some(&jeton))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.error_on("signataire.email").is_some(), "{}", r.body);
    // Confirmed by a new code, deposited again: a new signature.
    t.confirm_signataire(&id, &jeton).await;
    let r = t
        .post_json(&format!("{page}/depot"), &json!({}), Some(&jeton))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["statut"], "en_construction");
    assert_eq!(v["correction_demandee"], Value::Null);
    assert_eq!(v["ecoles"].as_array().unwrap().len(), 1);
    let stored = t.stored(&id).await.unwrap();
    assert_eq!(
        stored.depose_le, before.depose_le,
        "the first deposit's date"
    );
    assert!(stored
        .historique
        .iter()
        .any(|e| e.action.contains("déposé à nouveau")));

    // generate-convention renders version 2 (nature correction); version 1 is kept.
    let ev = t.stream_event().await;
    assert!(t.run_generate(&ev).await.batch_item_failures.is_empty());
    let v = t.get(&page, Some(&jeton)).await.json();
    let natures: Vec<(u64, &str)> = v["conventions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["version"].as_u64().unwrap(),
                c["nature"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(natures, [(1, "depot"), (2, "correction")]);
    assert_eq!(v["convention"]["version"], 2);
    let v1 = v["conventions"][0]["code_verification"]
        .as_str()
        .unwrap()
        .to_string();
    let v2 = v["conventions"][1]["code_verification"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(v1, v2);
    let old = t
        .get(&format!("/api/conventions/verification/{v1}"), None)
        .await
        .json();
    assert_eq!(old["remplacee_par"]["version"], 2, "{old}");
    let new = t
        .get(&format!("/api/conventions/verification/{v2}"), None)
        .await
        .json();
    assert_eq!(new["ecoles"], json!([UAI_BAULON]), "{new}");
    let r = t
        .get(&format!("{page}/convention?version=2"), Some(&jeton))
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    let (status, _, pdf) = http_get(r.header("location").to_string()).await;
    assert_eq!(status, 200);
    let text = pdf_text(&pdf);
    assert!(text.contains(&v2) && !text.contains("Cardroc"), "{text}");

    // A new acknowledgement for the new signature.
    let before_ack = emails_about(&t.sent_emails().await, "GAR déposée").len();
    let ev = t.stream_event().await;
    assert!(t.run_acknowledge(&ev).await.batch_item_failures.is_empty());
    let after_ack = emails_about(&t.sent_emails().await, "GAR déposée").len();
    assert_eq!(after_ack, before_ack + 1);

    // Accepted: the académie countersigns the corrected convention (version 3) and mails it.
    for action in ["passer_en_instruction", "accepter"] {
        let r = decide(&t, &id, json!({"action": action})).await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
    }
    let ev = t.stream_event().await;
    assert!(t.run_generate(&ev).await.batch_item_failures.is_empty());
    let stored = t.stored(&id).await.unwrap();
    let versions: Vec<(u32, &str)> = stored
        .versions()
        .iter()
        .map(|c| (c.version, c.nature.as_str()))
        .collect();
    assert_eq!(
        versions,
        [(1, "depot"), (2, "correction"), (3, "contresignature")]
    );
    let ev = t.stream_event().await;
    assert!(t.run_acknowledge(&ev).await.batch_item_failures.is_empty());
    let emails = t.sent_emails().await;
    let accepted = emails_about(&emails, "contresignée");
    assert_eq!(accepted.len(), 1, "one acceptance email");
    assert!(accepted[0]["body"].to_string().contains("version=3"));
}

#[tokio::test]
async fn a_lost_link_is_mailed_to_the_confirmed_signatory_only_with_one_answer_for_all() {
    let t = TestApp::spawn().await;
    let (id, _jeton) = t.deposit_new(&full_dossier()).await;
    let ask = |siret: &str, email: &str| json!({"siret": siret, "email": email});
    let sent_before = t.sent_emails().await.len();

    // Another address, another SIRET: the same answer, no email.
    let wrong_address = t
        .post_json(
            "/api/acces/lien",
            &ask(SIRET_BAULON, "autre@exemple.fr"),
            None,
        )
        .await;
    assert_eq!(wrong_address.status, 202, "{}", wrong_address.body);
    let wrong_siret = t
        .post_json(
            "/api/acces/lien",
            &ask(SIRET_OTHER, "mairie@exemple.fr"),
            None,
        )
        .await;
    assert_eq!(wrong_siret.status, 202, "{}", wrong_siret.body);
    let sent = t.sent_emails().await;
    assert_eq!(sent.len(), sent_before, "{sent:?}");

    // The signatory's confirmed address (typed with other capitals): its link, which opens.
    let right = t
        .post_json(
            "/api/acces/lien",
            &ask(SIRET_BAULON, "Mairie@Exemple.fr"),
            None,
        )
        .await;
    assert_eq!(right.status, 202);
    assert_eq!(
        right.body, wrong_address.body,
        "one answer whatever the match"
    );
    assert_eq!(right.body, wrong_siret.body);
    let emails = t.sent_emails().await;
    let links = emails_about(&emails, "lien d’accès");
    assert_eq!(links.len(), 1, "{emails:?}");
    assert!(links[0]["destinations"]
        .to_string()
        .contains("mairie@exemple.fr"));
    let jeton = jeton_of_link(links[0]);
    let r = t.get(&format!("/api/dossiers/{id}"), Some(&jeton)).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Bounded per address per day, whatever the SIRET (the one on the other SIRET counted):
    // the third is answered, the fourth is told when to come back.
    let r = t
        .post_json(
            "/api/acces/lien",
            &ask(SIRET_BAULON, "mairie@exemple.fr"),
            None,
        )
        .await;
    assert_eq!(r.status, 202);
    let r = t
        .post_json(
            "/api/acces/lien",
            &ask(SIRET_BAULON, "mairie@exemple.fr"),
            None,
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.json()["detail"].as_str().unwrap().contains("aujourd’hui"));
    assert!(r.header("retry-after").parse::<u64>().unwrap() > 0);

    // Bad input names its fields.
    let r = t
        .post_json(
            "/api/acces/lien",
            &json!({"siret": "123", "email": "x"}),
            None,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.error_on("siret").is_some() && r.error_on("email").is_some());
}

/// Another establishment of Baulon's SIREN (a valid SIRET that no dossier names).
const SIRET_OTHER: &str = "21350016800009";

#[tokio::test]
async fn renewing_the_access_voids_every_earlier_link_and_mails_a_new_one() {
    let t = TestApp::spawn().await;
    let (id, jeton) = t.deposit_new(&full_dossier()).await;
    let ev = t.stream_event().await;
    assert!(t.run_generate(&ev).await.batch_item_failures.is_empty());
    let ev = t.stream_event().await;
    assert!(t.run_acknowledge(&ev).await.batch_item_failures.is_empty());
    let page = format!("/api/dossiers/{id}");
    let acknowledgement = t.sent_emails().await;
    let old_link = jeton_of_link(acknowledgement.last().unwrap());
    assert_eq!(t.get(&page, Some(&old_link)).await.status, 200);
    assert_eq!(t.get(&page, Some(&jeton)).await.status, 200);

    let path = format!("/api/instructeur/dossiers/{id}/acces");
    let r = t
        .as_instructeur("POST", &path, Some(&json!({"action": "supprimer"})))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.error_on("action").is_some());
    let r = t
        .as_instructeur("POST", &path, Some(&json!({"action": "renouveler"})))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["email_envoye"], true);
    assert!(r.json()["historique"]
        .to_string()
        .contains("accès au dossier renouvelé"));

    // The jeton given at creation and the acknowledgement's link open nothing now, the
    // download neither; the new email's link opens the dossier.
    for old in [&jeton, &old_link] {
        assert_eq!(t.get(&page, Some(old)).await.status, 404);
        assert_eq!(
            t.get(&format!("{page}/convention"), Some(old)).await.status,
            404
        );
    }
    let emails = t.sent_emails().await;
    let renewed = emails_about(&emails, "nouveau lien d’accès");
    assert_eq!(renewed.len(), 1, "{emails:?}");
    assert!(renewed[0]["destinations"]
        .to_string()
        .contains("mairie@exemple.fr"));
    let new_link = jeton_of_link(renewed[0]);
    assert_ne!(new_link, old_link);
    assert_eq!(t.get(&page, Some(&new_link)).await.status, 200);

    // A draft has no access to renew.
    let (draft, _) = t.create_draft(&full_dossier()).await;
    let r = t
        .as_instructeur(
            "POST",
            &format!("/api/instructeur/dossiers/{draft}/acces"),
            Some(&json!({"action": "renouveler"})),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
}

#[tokio::test]
async fn a_new_signatory_takes_office_once_their_address_confirms_the_code() {
    let t = TestApp::spawn().await;
    let (id, jeton) = in_instruction(&t).await;
    let page = format!("/api/dossiers/{id}");
    let path = format!("{page}/signataire");
    let maire = json!({"prenom": "Dominique", "nom": "Bernard", "qualite": "Maire",
                       "email": "d.bernard@exemple.fr"});

    // Bad input names its fields; a draft has no signatory to change (its form does that).
    let r = t
        .post_json(
            &path,
            &json!({"prenom": "", "email": "x", "age": 3}),
            Some(&jeton),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    for champ in ["prenom", "nom", "qualite", "email", "age"] {
        assert!(r.error_on(champ).is_some(), "{champ}: {}", r.body);
    }
    let (draft, draft_jeton) = t.create_draft(&full_dossier()).await;
    let r = t
        .post_json(
            &format!("/api/dossiers/{draft}/signataire"),
            &maire,
            Some(&draft_jeton),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);

    // Named: a code to the new address; nothing changes until it is given back.
    let r = t.post_json(&path, &maire, Some(&jeton)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(r.json()["envoye_a"]
        .as_str()
        .unwrap()
        .ends_with("@exemple.fr"));
    let codes = t.sent_codes().await;
    let last = codes.last().unwrap();
    assert!(last["destinations"]
        .to_string()
        .contains("d.bernard@exemple.fr"));
    assert!(last["body"].to_string().contains("nouveau signataire"));
    let v = t.get(&page, Some(&jeton)).await.json();
    assert_eq!(v["nouveau_signataire"]["nom"], "Bernard");
    assert_eq!(v["signataire_actuel"], Value::Null);
    assert_eq!(v["signataire"]["nom"], "Martin", "who signed stays");

    // A wrong code counts a try; the right one puts the new signatory in office.
    let confirm = format!("{page}/signataire/confirmation");
    let code = t.last_code().await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let r = t
        .post_json(&confirm, &json!({"code": wrong}), Some(&jeton))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.error_on("code").unwrap().contains("essais"));
    let before = t.sent_emails().await.len();
    let r = t
        .post_json(&confirm, &json!({"code": code}), Some(&jeton))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["signataire_actuel"]["email"], "d.bernard@exemple.fr");
    assert_eq!(v["nouveau_signataire"], Value::Null);
    assert_eq!(
        v["signataire"]["nom"], "Martin",
        "the convention is unchanged"
    );
    let stored = t.stored(&id).await.unwrap();
    assert!(stored
        .historique
        .iter()
        .any(|e| e.action == "signataire changé"
            && e.detail
                .as_deref()
                .unwrap_or("")
                .contains("Dominique Bernard")));
    // The académie and the new signatory are told.
    let emails = t.sent_emails().await;
    let told: Vec<String> = emails[before..]
        .iter()
        .map(|e| e["destinations"].to_string())
        .collect();
    assert!(
        told.iter().any(|d| d.contains("d.bernard@exemple.fr")),
        "{told:?}"
    );
    assert!(
        told.iter().any(|d| d.contains(&t.app.config.contact_email)),
        "{told:?}"
    );

    // Later emails go to the new person: a message of the académie.
    let r = t
        .as_instructeur(
            "POST",
            &format!("/api/instructeur/dossiers/{id}/messages"),
            Some(&json!({"texte": "Bienvenue."})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let emails = t.sent_emails().await;
    let message = emails
        .iter()
        .rev()
        .find(|e| {
            e["subject"]
                .as_str()
                .unwrap_or_default()
                .contains("nouveau message")
        })
        .unwrap();
    assert!(message["destinations"]
        .to_string()
        .contains("d.bernard@exemple.fr"));
    assert!(message["body"]
        .to_string()
        .contains("Bonjour Dominique Bernard"));
    // And a lost link is given to the new signatory's address, no longer to the old one.
    let ask = |email: &str| json!({"siret": SIRET_BAULON, "email": email});
    let before = t.sent_emails().await.len();
    for email in ["mairie@exemple.fr", "d.bernard@exemple.fr"] {
        let r = t.post_json("/api/acces/lien", &ask(email), None).await;
        assert_eq!(r.status, 202);
    }
    let emails = t.sent_emails().await;
    let links: Vec<String> = emails[before..]
        .iter()
        .map(|e| e["destinations"].to_string())
        .collect();
    assert_eq!(links.len(), 1, "{links:?}");
    assert!(links[0].contains("d.bernard@exemple.fr"));
    // The person replaced was told, without a link into the dossier.
    let former = emails
        .iter()
        .find(|e| {
            e["subject"]
                .as_str()
                .unwrap_or("")
                .contains("vous n’en êtes plus")
        })
        .expect("the former signatory is told");
    assert!(former["destinations"]
        .to_string()
        .contains("mairie@exemple.fr"));
    assert!(!former["body"].to_string().contains("jeton="));

    // A change still waiting for its code does not block a correction: the académie sends the
    // dossier back, the change is dropped, the signatory of the form confirms as usual.
    // (The pending change written as the route writes it: a second code to this dossier
    // within the minute would be refused by its quota.)
    let pending = conventions_ent::domain::change::Change {
        step: conventions_ent::domain::life::Step::ProposeSignataire,
        condition: conventions_ent::domain::change::Condition::Exists,
        updates: vec![conventions_ent::domain::change::Update::NouveauSignataire(
            Some(conventions_ent::domain::dossier::NouveauSignataire {
                prenom: "Alex".into(),
                nom: "Petit".into(),
                qualite: "Maire".into(),
                email: "a.petit@exemple.fr".into(),
                le: "2026-12-01T09:00:00Z".into(),
            }),
        )],
        notices: Vec::new(),
    };
    t.app
        .dossiers
        .write(
            &conventions_ent::domain::ids::DossierId::parse(&id).unwrap(),
            &pending,
        )
        .await
        .unwrap();
    let r = decide(
        &t,
        &id,
        json!({"action": "repasser_en_construction", "motif": "Le référent a changé."}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(t.stored(&id).await.unwrap().nouveau_signataire.is_none());
    t.confirm_signataire(&id, &jeton).await;
}
