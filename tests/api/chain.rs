//! The whole path a town hall secretary takes, and what she receives.

use crate::helpers::*;
use serde_json::json;
use sha2::{Digest, Sha256};

#[tokio::test]
async fn draft_autosave_deposit_then_pdf_then_email_then_download() {
    let t = TestApp::spawn().await;
    let (id, jeton) = t
        .create_draft(&json!({"collectivite": {"siret": SIRET_BAULON}}))
        .await;
    let page = format!("/api/dossiers/{id}");

    // Autosave, section by section, as the form does.
    let r = t
        .patch_json(&page, &json!({"signataire": {"prenom": "Camille", "nom": "Martin", "qualite": "Maire", "email": "mairie@exemple.fr",
                                   "habilitation": {"nature": "deliberation", "date": "2026-03-28", "reference": "2026-014"}}}), &jeton)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The signatory receives the code and gives it back.
    t.confirm_signataire(&id, &jeton).await;
    let r = t
        .patch_json(
            &page,
            &json!({"ecoles": [{"uai": UAI_BAULON}, {"uai": UAI_CARDROC}], "referent": {"designe": true, "prenom_nom": "Jean GARCIA", "email": "jean.garcia@exemple.fr"}}),
            &jeton,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let draft = t.get(&page, Some(&jeton)).await.json();
    assert_eq!(draft["statut"], "brouillon");
    assert_eq!(draft["collectivite"]["siret"], SIRET_BAULON);
    assert_eq!(draft["signataire"]["prenom"], "Camille");
    assert_eq!(
        draft["ecoles"][0]["nom"],
        "Ecole primaire publique les Lucioles"
    );
    assert_eq!(draft["ecoles"][1]["commune"], "Cardroc");
    assert_eq!(draft["convention"], json!(null));

    // Not yet deposited: no convention to download.
    assert_eq!(
        t.get(&format!("{page}/convention"), Some(&jeton))
            .await
            .status,
        409
    );

    // Deposit the saved draft with the approval box ticked.
    let r = t
        .post_json(
            &format!("{page}/depot"),
            &json!({"approbation": true}),
            Some(&jeton),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["statut"], "en_construction");
    assert_eq!(v["collectivite"]["siren"], "213500168");
    assert_eq!(v["signature"]["sha256"].as_str().unwrap().len(), 64);
    assert!(v["depose_le"].is_string());
    let stored = t.stored(&id).await.unwrap();
    let depot = stored.depot.as_ref().unwrap();
    assert_eq!(depot.signature.ip, "203.0.113.7");
    assert_eq!(
        depot.signature.email_confirme.as_deref(),
        Some("mairie@exemple.fr"),
        "the evidence keeps the address confirmed"
    );
    assert!(depot.signature.email_confirme_le.is_some());
    assert_eq!(depot.signature.user_agent, "Mozilla/5.0 (test)");
    assert_eq!(depot.ecoles[0].commune, "Baulon");

    // Generated but not yet: the download says so.
    assert_eq!(
        t.get(&format!("{page}/convention"), Some(&jeton))
            .await
            .status,
        409
    );

    // Stream → generate-convention.
    let deposited = std::time::Instant::now();
    let event = t.stream_event().await;
    assert!(t.run_generate(&event).await.batch_item_failures.is_empty());
    let stored = t.stored(&id).await.unwrap();
    let conv = stored.convention.clone().expect("convention recorded");
    let object =
        t.s3.get_object()
            .bucket(t.bucket())
            .key(&conv.cle)
            .send()
            .await
            .unwrap();
    assert_eq!(
        object.server_side_encryption().map(|s| s.as_str()),
        Some("AES256")
    );
    let pdf = object.body.collect().await.unwrap().into_bytes().to_vec();
    assert_eq!(hex::encode(Sha256::digest(&pdf)), conv.sha256);
    let text = pdf_text(&pdf);
    for needle in [
        SIRET_BAULON,
        UAI_BAULON,
        UAI_CARDROC,
        "Camille MARTIN",
        "Maire",
        &stored.numero,
        &conv.code_verification,
        "Jean GARCIA",
        "Académie de Rennes",
        "Cardroc",
        "agissant en vertu de la délibération n° 2026-014",
        "confirmée par un code à usage unique",
    ] {
        assert!(text.contains(needle), "PDF text lacks {needle:?}:\n{text}");
    }
    assert!(
        !text.contains("203.0.113.7"),
        "the source IP stays in the stored evidence, off the document"
    );

    // Stream → send-acknowledgement.
    let event = t.stream_event().await;
    assert!(t
        .run_acknowledge(&event)
        .await
        .batch_item_failures
        .is_empty());
    let elapsed = deposited.elapsed();
    let emails = t.sent_emails().await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    let email = &emails[0];
    let dump = email.to_string();
    assert!(
        dump.contains(&stored.numero),
        "subject carries the numero: {dump}"
    );
    assert!(dump.contains("mairie@exemple.fr"));
    assert!(
        !dump.contains("jean.garcia@exemple.fr"),
        "the référent, whose address nobody confirmed, hears of the dossier on acceptance only"
    );
    println!(
        "deposit → email on the local stack (stream reads included): {elapsed:?}; PDF {} bytes",
        pdf.len()
    );

    // Follow the email's link: a 302 to a fresh presigned URL, then the same bytes.
    let body = email["body"].as_str().unwrap_or(&dump).to_string();
    let start = body
        .find("http://127.0.0.1:9000/api/dossiers/")
        .expect("link in the email");
    let link: String = body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<' && *c != '\\')
        .collect();
    assert!(link.contains("/convention?jeton="), "{link}");
    let path = link.trim_start_matches("http://127.0.0.1:9000");
    let r = t.get(path, None).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let (status, _, downloaded) = http_get(r.header("location").to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(downloaded, pdf);

    // The dossier view now shows the convention, and the public check confirms it.
    let v = t.get(&page, Some(&jeton)).await.json();
    assert_eq!(v["convention"]["sha256"], conv.sha256);
    let r = t
        .get(
            &format!("/api/conventions/verification/{}", conv.code_verification),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let check = r.json();
    assert_eq!(check["sha256"], conv.sha256);
    assert_eq!(check["ecoles"], json!([UAI_BAULON, UAI_CARDROC]));
    assert!(
        !r.body.contains("mairie@exemple.fr") && !r.body.contains("Camille"),
        "no personal data"
    );
}
