//! The signatory proves the address by a one-time code, names the authority it signs under,
//! and nobody mails or « certifies » through the service.

use crate::helpers::*;
use serde_json::{json, Value};

/// A draft with everything but a confirmed address.
async fn unconfirmed(t: &TestApp, email: &str) -> (String, String) {
    let mut body = full_dossier();
    body["signataire"]["email"] = json!(email);
    t.create_unconfirmed_draft(&body).await
}

async fn send_code(t: &TestApp, id: &str, jeton: &str) -> TestResponse {
    t.post_json(
        &format!("/api/dossiers/{id}/signataire/code"),
        &json!({}),
        Some(jeton),
    )
    .await
}

async fn give_code(t: &TestApp, id: &str, jeton: &str, code: &str) -> TestResponse {
    t.post_json(
        &format!("/api/dossiers/{id}/signataire/confirmation"),
        &json!({ "code": code }),
        Some(jeton),
    )
    .await
}

async fn deposit(t: &TestApp, id: &str, jeton: &str) -> TestResponse {
    t.post_json(
        &format!("/api/dossiers/{id}/depot"),
        &json!({}),
        Some(jeton),
    )
    .await
}

fn codes_to(emails: &[Value], address: &str) -> usize {
    emails
        .iter()
        .filter(|e| e["destinations"].to_string().contains(address))
        .count()
}

#[tokio::test]
async fn the_deposit_waits_for_the_code_received_at_the_signatory_address() {
    let t = TestApp::spawn().await;
    let (id, jeton) = unconfirmed(&t, "maire@baulon.fr").await;

    // Not confirmed: the deposit says what to do, on the signatory's address.
    let r = deposit(&t, &id, &jeton).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r
        .error_on("signataire.email")
        .unwrap()
        .contains("n’est pas confirmée"));

    // The code goes to the signatory's address, masked in the answer, the code in the subject.
    let r = send_code(&t, &id, &jeton).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.json()["envoye_a"], "m•••••@baulon.fr");
    assert!(r.json()["expire_le"].is_string());
    let codes = t.sent_codes().await;
    assert_eq!(codes.len(), 1);
    assert_eq!(codes_to(&codes, "maire@baulon.fr"), 1);
    let subject = codes[0]["subject"].as_str().unwrap();
    let code = t.last_code().await;
    assert_eq!(
        subject,
        format!("Code de confirmation {code} — convention ENT école")
    );
    let body = codes[0]["body"].to_string();
    for said in [
        "ENT-",
        "21350016800025",
        "ne communiquez ce code à personne",
    ] {
        assert!(body.contains(said), "the code email says {said:?}: {body}");
    }
    // Only the code's hash is stored.
    let stored = t.stored(&id).await.unwrap();
    assert!(!serde_json::to_string(&stored)
        .unwrap()
        .contains(&format!("\"{code}\"")));

    // A wrong code says how many tries are left; the right one confirms the address.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = give_code(&t, &id, &jeton, wrong).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.error_on("code").unwrap(),
        "Code erroné : il reste 4 essais."
    );
    let r = give_code(&t, &id, &jeton, &code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["signataire"]["email_confirme_le"].is_string());
    // The code is spent.
    assert_eq!(give_code(&t, &id, &jeton, &code).await.status, 422);

    let r = deposit(&t, &id, &jeton).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["signataire"]["habilitation"]["reference"], "2026-014");
    assert!(v["signataire"]["email_confirme_le"].is_string());
    let depot = t.stored(&id).await.unwrap().depot.unwrap();
    assert_eq!(
        depot.signature.email_confirme.as_deref(),
        Some("maire@baulon.fr")
    );
}

#[tokio::test]
async fn five_wrong_codes_void_it_and_another_address_voids_the_confirmation() {
    let t = TestApp::spawn().await;
    let (id, jeton) = unconfirmed(&t, "maire@baulon.fr").await;
    assert_eq!(send_code(&t, &id, &jeton).await.status, 202);
    let code = t.last_code().await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (0..5).rev() {
        let r = give_code(&t, &id, &jeton, wrong).await;
        assert_eq!(r.status, 422);
        let said = r.error_on("code").unwrap();
        match left {
            0 => assert!(said.contains("dernier essai"), "{said}"),
            n => assert!(said.contains(&n.to_string()), "{said}"),
        }
    }
    // Even the right code is refused now.
    let r = give_code(&t, &id, &jeton, &code).await;
    assert_eq!(r.status, 422);
    assert!(r
        .error_on("code")
        .unwrap()
        .contains("Trop de codes erronés"));
    // Malformed codes never count as tries.
    for bad in ["12345", "abcdef", ""] {
        let r = give_code(&t, &id, &jeton, bad).await;
        assert_eq!(r.status, 422, "{bad}");
    }

    // A confirmed address, then another one: the confirmation is void.
    let (id, jeton) = t.create_draft(&full_dossier()).await;
    let page = format!("/api/dossiers/{id}");
    let v = t.get(&page, Some(&jeton)).await.json();
    assert!(v["signataire"]["email_confirme_le"].is_string());
    let r = t
        .patch_json(
            &page,
            &json!({"signataire": {"email": "autre@exemple.fr"}}),
            &jeton,
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.json()["signataire"]["email_confirme_le"].is_null());
    let r = deposit(&t, &id, &jeton).await;
    assert_eq!(r.status, 422);
    assert!(r.error_on("signataire.email").is_some());
}

#[tokio::test]
async fn codes_are_bounded_per_dossier_and_per_unconfirmed_address() {
    let t = TestApp::spawn().await;
    // A second code within a minute: 429, with when to try again, and nothing sent.
    let (id, jeton) = unconfirmed(&t, "inconnu@exemple.fr").await;
    assert_eq!(send_code(&t, &id, &jeton).await.status, 202);
    let r = send_code(&t, &id, &jeton).await;
    assert_eq!(r.status, 429, "{}", r.body);
    let wait: u64 = r.header("retry-after").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("vous pourrez"));
    assert_eq!(t.sent_codes().await.len(), 1);

    // Twelve drafts naming the same unconfirmed address: three codes reach it.
    let target = "cible@exemple.fr";
    let mut answers = Vec::new();
    for _ in 0..12 {
        let (id, jeton) = unconfirmed(&t, target).await;
        answers.push(send_code(&t, &id, &jeton).await);
    }
    let accepted = answers.iter().filter(|r| r.status == 202).count();
    assert_eq!(accepted, 3);
    for r in answers.iter().filter(|r| r.status != 202) {
        assert_eq!(r.status, 429, "{}", r.body);
        assert!(r.header("retry-after").parse::<u64>().unwrap() > 0);
        assert!(r.json()["detail"].as_str().unwrap().contains("aujourd’hui"));
    }
    assert_eq!(codes_to(&t.sent_codes().await, target), 3);

    // An address its owner confirmed once is not bounded that way: its owner wants the codes.
    let (id, jeton) = unconfirmed(&t, "maire@baulon.fr").await;
    t.confirm_signataire(&id, &jeton).await;
    for _ in 0..4 {
        let (id, jeton) = unconfirmed(&t, "maire@baulon.fr").await;
        assert_eq!(send_code(&t, &id, &jeton).await.status, 202);
    }
}

#[tokio::test]
async fn the_habilitation_is_required_checked_and_part_of_what_was_approved() {
    let t = TestApp::spawn().await;
    // Never filled in: what to give.
    let mut without = full_dossier();
    without["signataire"]
        .as_object_mut()
        .unwrap()
        .remove("habilitation");
    let (id, jeton) = t.create_draft(&without).await;
    let r = deposit(&t, &id, &jeton).await;
    assert_eq!(r.status, 422);
    assert!(r
        .error_on("signataire.habilitation.nature")
        .unwrap()
        .contains("Indiquez l’acte"));
    let cases = [
        (
            json!({"nature": "arrete", "date": "2026-03-28", "reference": "1"}),
            "signataire.habilitation.nature",
            "délibération ou délégation",
        ),
        (
            json!({"nature": "deliberation", "date": "2999-01-01", "reference": "1"}),
            "signataire.habilitation.date",
            "futur",
        ),
        (
            json!({"nature": "deliberation", "date": "1999-12-31", "reference": "1"}),
            "signataire.habilitation.date",
            "2001",
        ),
        (
            json!({"nature": "deliberation", "date": "28/03/2026", "reference": "1"}),
            "signataire.habilitation.date",
            "AAAA-MM-JJ",
        ),
        (
            json!({"nature": "delegation", "date": "2026-03-28", "reference": "x".repeat(51)}),
            "signataire.habilitation.reference",
            "trop long",
        ),
        (
            json!({"nature": "delegation", "date": "2026-03-28", "reference": "20\n26"}),
            "signataire.habilitation.reference",
            "non autorisés",
        ),
        (
            json!({"nature": "delegation", "date": "2026-03-28", "reference": ""}),
            "signataire.habilitation.reference",
            "obligatoire",
        ),
    ];
    let (id, jeton) = t.create_draft(&full_dossier()).await;
    for (habilitation, champ, said) in cases {
        let mut body = full_dossier();
        body["signataire"]["habilitation"] = habilitation.clone();
        let before = t.table_snapshot().await;
        let r = t
            .post_json(&format!("/api/dossiers/{id}/depot"), &body, Some(&jeton))
            .await;
        assert_eq!(r.status, 422, "{habilitation}: {}", r.body);
        let message = r
            .error_on(champ)
            .unwrap_or_else(|| panic!("{champ}: {}", r.body));
        assert!(message.contains(said), "{champ}: {message}");
        assert_eq!(
            t.table_snapshot().await,
            before,
            "a refused deposit writes nothing"
        );
    }
    // A délégation is printed as such and its reference enters the approved content's hash.
    let mut body = full_dossier();
    body["signataire"]["habilitation"] =
        json!({"nature": "delegation", "date": "2026-04-01", "reference": "A-7"});
    let r = t
        .post_json(&format!("/api/dossiers/{id}/depot"), &body, Some(&jeton))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let depot = t.stored(&id).await.unwrap().depot.unwrap();
    let h = depot.signataire.habilitation.as_ref().unwrap();
    assert_eq!(
        h.printed(),
        "agissant en vertu de la délégation n° A-7 du 1er avril 2026"
    );
    let mut other = depot.signataire.clone();
    other.habilitation.as_mut().unwrap().reference = "A-8".into();
    assert_ne!(
        conventions_ent::domain::deposit::approved_content(
            &depot.collectivite,
            &depot.signataire,
            &depot.ecoles,
            depot.referent.as_ref(),
            &depot.signature.version_texte
        ),
        conventions_ent::domain::deposit::approved_content(
            &depot.collectivite,
            &other,
            &depot.ecoles,
            depot.referent.as_ref(),
            &depot.signature.version_texte
        )
    );
}

#[tokio::test]
async fn names_that_do_not_read_as_they_print_are_refused() {
    let t = TestApp::spawn().await;
    let (id, jeton) = t.create_draft(&full_dossier()).await;
    for (champ, value) in [
        ("signataire.prenom", "\u{202e}"),
        ("signataire.nom", "Mar\u{200b}tin"),
        ("signataire.qualite", "\u{2066}Maire\u{2069}"),
        ("referent.prenom_nom", "Jean\u{feff} GARCIA"),
    ] {
        let mut body = full_dossier();
        let (section, key) = champ.split_once('.').unwrap();
        body[section][key] = json!(value);
        let r = t
            .post_json(&format!("/api/dossiers/{id}/depot"), &body, Some(&jeton))
            .await;
        assert_eq!(r.status, 422, "{champ}");
        assert!(
            r.error_on(champ).unwrap().contains("invisibles"),
            "{champ}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn verification_tells_deposited_from_accepted() {
    let t = TestApp::spawn().await;
    let (id, _) = t.deposit_new(&full_dossier()).await;
    let ev = t.stream_event().await;
    t.run_generate(&ev).await;
    let code = t
        .stored(&id)
        .await
        .unwrap()
        .convention
        .unwrap()
        .code_verification;
    let path = format!("/api/conventions/verification/{code}");
    let v = t.get(&path, None).await.json();
    assert_eq!(v["statut"], "en_construction");
    assert!(v["accepte_le"].is_null());
    for action in ["passer_en_instruction", "accepter"] {
        let r = t
            .as_instructeur(
                "POST",
                &format!("/api/instructeur/dossiers/{id}/decision"),
                Some(&json!({ "action": action })),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let v = t.get(&path, None).await.json();
    assert_eq!(v["statut"], "accepte");
    let accepte_le = v["accepte_le"].as_str().unwrap().to_string();
    assert!(accepte_le.starts_with("20"));
    // The export for the ENT editor, by default: the accepted convention, with its date.
    let rows = t.export("/api/instructeur/export/ecoles.json").await.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["statut"], "accepte");
    assert_eq!(rows[0]["date_acceptation"], accepte_le[..10]);
    assert_eq!(rows[0]["version_convention"], "2026-12");
}

#[tokio::test]
async fn the_collectivite_messages_are_bounded_per_day() {
    let t = TestApp::spawn().await;
    let (id, jeton) = t.deposit_new(&full_dossier()).await;
    let path = format!("/api/dossiers/{id}/messages");
    for i in 0..20 {
        let r = t
            .post_json(
                &path,
                &json!({"texte": format!("Message {i}")}),
                Some(&jeton),
            )
            .await;
        assert_eq!(r.status, 201, "{i}: {}", r.body);
    }
    let before = t.sent_emails().await.len();
    let r = t
        .post_json(&path, &json!({"texte": "Encore un"}), Some(&jeton))
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").parse::<u64>().unwrap() > 0);
    assert_eq!(t.sent_emails().await.len(), before, "nothing sent");
    let messages = t.get(&path, Some(&jeton)).await.json();
    assert_eq!(messages["messages"].as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn a_siret_must_be_a_collectivite_and_schools_outside_its_territory_are_flagged() {
    let t = TestApp::spawn().await;
    // A company the registry knows: refused at deposit, nothing written.
    let mut body = full_dossier();
    body["collectivite"]["siret"] = json!(crate::registry_fake::SIRET_ENTREPRISE);
    let (id, jeton) = t.create_draft(&body).await;
    let before = t.table_snapshot().await;
    let r = deposit(&t, &id, &jeton).await;
    assert_eq!(r.status, 422, "{}", r.body);
    let said = r.error_on("collectivite.siret").unwrap();
    assert!(
        said.contains("ELECTRICITE DE FRANCE") && said.contains("n’est pas une collectivité"),
        "{said}"
    );
    assert_eq!(t.table_snapshot().await, before);
    // A public body that does not run primary schools (a lycée) neither.
    let mut body = full_dossier();
    body["collectivite"]["siret"] = json!(crate::registry_fake::SIRET_LYCEE);
    let (id, jeton) = t.create_draft(&body).await;
    let r = deposit(&t, &id, &jeton).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r
        .error_on("collectivite.siret")
        .unwrap()
        .contains("LYCEE PUBLIC"));

    // The commune of Baulon with a school of Cardroc: accepted, that school flagged.
    let (id, _) = t.deposit_new(&full_dossier()).await;
    let detail = t
        .as_instructeur("GET", &format!("/api/instructeur/dossiers/{id}"), None)
        .await
        .json();
    let flags: Vec<(String, bool)> = detail["ecoles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["uai"].as_str().unwrap().to_string(),
                e["hors_territoire"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            (UAI_BAULON.to_string(), false),
            (UAI_CARDROC.to_string(), true)
        ]
    );
}

/// Behind CloudFront, the evidence records the client's address, not CloudFront's; a request
/// that did not come through CloudFront (without its secret header) is refused, so that
/// address cannot be forged by calling the API another way.
#[tokio::test]
async fn the_evidence_keeps_the_viewer_address_given_by_cloudfront() {
    let mut t = TestApp::spawn().await;
    let (id, jeton) = t.create_draft(&full_dossier()).await;
    t.app.config.origin_secret = Some("secret-de-cloudfront".into());
    let auth = format!("Bearer {jeton}");
    let depot = format!("/api/dossiers/{id}/depot");
    let with = |origine: Option<&'static str>| {
        let mut h = vec![
            ("authorization", auth.clone()),
            ("content-type", "application/json".to_string()),
            (
                "cloudfront-viewer-address",
                "198.51.100.10:46532".to_string(),
            ),
        ];
        if let Some(o) = origine {
            h.push(("x-conventions-origine", o.to_string()));
        }
        h
    };
    let before = t.table_snapshot().await;
    for origine in [None, Some("autre-secret")] {
        let h = with(origine);
        let headers: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = t.call("POST", &depot, Some("{}"), &headers).await;
        assert_eq!(r.status, 403, "{origine:?}: {}", r.body);
        assert!(r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("adresse publique"));
        for path in ["/api/communes?q=baulon", "/api/instructeur/dossiers", "/"] {
            assert_eq!(
                t.call("GET", path, None, &headers).await.status,
                403,
                "{path}"
            );
        }
    }
    assert_eq!(t.table_snapshot().await, before, "nothing written");
    let h = with(Some("secret-de-cloudfront"));
    let headers: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = t.call("POST", &depot, Some("{}"), &headers).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let depot = t.stored(&id).await.unwrap().depot.unwrap();
    assert_eq!(depot.signature.ip, "198.51.100.10");
}

#[tokio::test]
async fn concurrent_sends_on_one_dossier_send_one_code() {
    let t = TestApp::spawn().await;
    let (id, jeton) = unconfirmed(&t, "maire@baulon.fr").await;
    let answers = futures::future::join_all((0..8).map(|_| send_code(&t, &id, &jeton))).await;
    let sent = answers.iter().filter(|r| r.status == 202).count();
    assert_eq!(
        sent,
        1,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in answers.iter().filter(|r| r.status != 202) {
        assert!([409, 429].contains(&r.status), "{}", r.body);
    }
    assert_eq!(codes_to(&t.sent_codes().await, "maire@baulon.fr"), 1);
}

#[tokio::test]
async fn the_code_email_carries_nothing_the_applicant_typed() {
    let t = TestApp::spawn().await;
    let mut body = full_dossier();
    body["signataire"]["nom"] =
        json!("Martin. URGENT : validez vos identifiants sur https://pirate.example");
    body["signataire"]["prenom"] = json!("Camille");
    body["signataire"]["email"] = json!("cible@exemple.fr");
    let (id, jeton) = t.create_unconfirmed_draft(&body).await;
    assert_eq!(send_code(&t, &id, &jeton).await.status, 202);
    let email = t.sent_codes().await.last().unwrap().to_string();
    for typed in ["pirate.example", "URGENT", "Camille"] {
        assert!(!email.contains(typed), "{typed} in the code email: {email}");
    }
    assert!(
        email.contains(SIRET_BAULON),
        "the SIRET, once valid, is said"
    );
}

#[tokio::test]
async fn the_referent_is_sent_the_public_verification_not_a_key_to_the_dossier() {
    let t = TestApp::spawn().await;
    let (id, _) = t.deposit_new(&full_dossier()).await;
    let ev = t.stream_event().await;
    t.run_generate(&ev).await;
    for action in ["passer_en_instruction", "accepter"] {
        t.as_instructeur(
            "POST",
            &format!("/api/instructeur/dossiers/{id}/decision"),
            Some(&json!({ "action": action })),
        )
        .await;
    }
    let code = t
        .stored(&id)
        .await
        .unwrap()
        .convention
        .unwrap()
        .code_verification;
    let emails = t.sent_emails().await;
    let to_referent: Vec<&Value> = emails
        .iter()
        .filter(|e| {
            e["destinations"]
                .to_string()
                .contains("jean.garcia@exemple.fr")
        })
        .collect();
    assert_eq!(to_referent.len(), 1);
    let text = to_referent[0].to_string();
    assert!(text.contains(&format!("/verification/{code}")), "{text}");
    assert!(
        !text.contains("jeton="),
        "no link-jeton to an address nobody confirmed"
    );
    assert!(
        !text.contains("   "),
        "no runs of spaces in the text: {text}"
    );
}
