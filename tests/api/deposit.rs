//! Bad input at the deposit and around it: a clear French answer naming the field, and
//! nothing written.

use crate::helpers::*;
use serde_json::{json, Value};

/// A real collège: a valid UAI, but not a first-degree school.
const UAI_COLLEGE: &str = "0352958A";
/// The extract's one school marked "A FERMER".
const UAI_FERMEE: &str = "0351383N";

async fn draft(t: &TestApp) -> (String, String) {
    t.create_draft(&json!({})).await
}

#[tokio::test]
async fn an_empty_deposit_lists_every_missing_field_at_once_and_writes_nothing() {
    let t = TestApp::spawn().await;
    let (id, jeton) = draft(&t).await;
    let before = t.table_snapshot().await;
    let r = t
        .post_json(
            &format!("/api/dossiers/{id}/depot"),
            &json!({}),
            Some(&jeton),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.header("content-type"),
        "application/problem+json; charset=utf-8"
    );
    let champs: Vec<String> = r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["champ"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        champs,
        [
            "collectivite.siret",
            "signataire.prenom",
            "signataire.nom",
            "signataire.qualite",
            "signataire.email",
            "signataire.habilitation.nature",
            "ecoles",
            "referent.designe",
            "approbation"
        ]
    );
    assert_eq!(
        r.error_on("collectivite.siret").unwrap(),
        "Le numéro SIRET de la collectivité est obligatoire."
    );
    assert!(r
        .error_on("approbation")
        .unwrap()
        .contains("Cochez la case d’approbation"));
    assert_eq!(r.json()["detail"], "9 champs sont à corriger.");
    assert_eq!(
        t.table_snapshot().await,
        before,
        "a refused deposit writes nothing"
    );
    assert_eq!(t.stored(&id).await.unwrap().statut.as_str(), "brouillon");
}

#[tokio::test]
async fn each_wrong_value_is_named_in_french() {
    let t = TestApp::spawn().await;
    let (id, jeton) = draft(&t).await;
    let mut body = full_dossier();
    body["collectivite"]["siret"] = json!("21350016800026");
    body["signataire"]["email"] = json!("mairie@exemple");
    body["signataire"]["nom"] = json!("Martin\r\nBcc: pirate@exemple.fr");
    body["ecoles"] = json!([
        {"uai": UAI_BAULON}, {"uai": "0350122U"}, {"uai": UAI_BAULON}, {"uai": UAI_COLLEGE}, {"uai": UAI_FERMEE}, {"uai": ""}
    ]);
    body["referent"] = json!({"designe": true, "prenom_nom": " ", "email": "jean"});
    body["approbation"] = json!(false);
    let before = t.table_snapshot().await;
    let r = t
        .post_json(&format!("/api/dossiers/{id}/depot"), &body, Some(&jeton))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r
        .error_on("collectivite.siret")
        .unwrap()
        .contains("clé de contrôle"));
    assert!(r
        .error_on("signataire.email")
        .unwrap()
        .contains("n’est pas valide"));
    assert!(r
        .error_on("signataire.nom")
        .unwrap()
        .contains("retour à la ligne"));
    assert!(r
        .error_on("ecoles[1].uai")
        .unwrap()
        .contains("lettre de contrôle"));
    assert_eq!(
        r.error_on("ecoles[2].uai").unwrap(),
        format!("L’école {UAI_BAULON} figure déjà dans la liste.")
    );
    assert!(r.error_on("ecoles[3].uai").unwrap().contains(UAI_COLLEGE));
    assert!(r.error_on("ecoles[4].uai").unwrap().contains("est fermée"));
    assert_eq!(r.error_on("ecoles[5].uai").unwrap(), "Choisissez l’école.");
    assert!(r
        .error_on("referent.prenom_nom")
        .unwrap()
        .contains("obligatoires"));
    assert!(r.error_on("referent.email").is_some());
    assert!(r.error_on("approbation").is_some());
    assert_eq!(t.table_snapshot().await, before);
}

#[tokio::test]
async fn a_dossier_is_deposited_once() {
    let t = TestApp::spawn().await;
    let (id, jeton) = draft(&t).await;
    let depot = format!("/api/dossiers/{id}/depot");
    assert_eq!(
        t.deposit_with(&id, &jeton, &full_dossier()).await.status,
        200
    );
    let after_first = t.table_snapshot().await;
    let mut other = full_dossier();
    other["signataire"]["nom"] = json!("Autre");
    let r = t.post_json(&depot, &other, Some(&jeton)).await;
    assert_eq!(r.status, 409);
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("déjà été déposé"));
    let r = t
        .patch_json(
            &format!("/api/dossiers/{id}"),
            &json!({"approbation": false}),
            &jeton,
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(t.table_snapshot().await, after_first, "nothing changed");
}

#[tokio::test]
async fn malformed_bodies_get_4xx_problems() {
    let t = TestApp::spawn().await;
    let (id, jeton) = draft(&t).await;
    let auth = format!("Bearer {jeton}");
    let path = format!("/api/dossiers/{id}");
    let before = t.table_snapshot().await;

    let r = t
        .call(
            "PATCH",
            &path,
            Some("{\"signataire\": "),
            &[
                ("content-type", "application/json"),
                ("authorization", &auth),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("n’est pas un JSON valide"));

    let big = json!({"signataire": {"nom": "x".repeat(70 * 1024)}}).to_string();
    let r = t
        .call(
            "PATCH",
            &path,
            Some(&big),
            &[
                ("content-type", "application/json"),
                ("authorization", &auth),
            ],
        )
        .await;
    assert_eq!(r.status, 413);

    let r = t
        .call(
            "PATCH",
            &path,
            Some("nom=Martin"),
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("authorization", &auth),
            ],
        )
        .await;
    assert_eq!(r.status, 415);

    let r = t
        .patch_json(
            &path,
            &json!({"signataire": {"nom": "Martin", "telephone": "06"}, "pirate": true}),
            &jeton,
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r
        .error_on("pirate")
        .unwrap()
        .contains("Champ inconnu « pirate »"));
    assert!(r.error_on("signataire.telephone").is_some());

    let r = t
        .patch_json(
            &path,
            &json!({"ecoles": "0350122T", "approbation": "oui"}),
            &jeton,
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.error_on("ecoles").is_some() && r.error_on("approbation").is_some());

    let r = t.patch_json(&path, &json!([1, 2]), &jeton).await;
    assert_eq!(r.status, 422);

    let r = t
        .patch_json(
            &path,
            &json!({"signataire": {"nom": "x".repeat(501)}}),
            &jeton,
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.error_on("signataire.nom").unwrap().contains("trop long"));

    assert_eq!(
        t.table_snapshot().await,
        before,
        "no refused request wrote anything"
    );
}

#[tokio::test]
async fn unknown_ids_and_wrong_jetons_look_the_same() {
    let t = TestApp::spawn().await;
    let (id, jeton) = draft(&t).await;
    let (other_id, other_jeton) = draft(&t).await;
    let cases: Vec<(String, Option<String>)> = vec![
        (format!("/api/dossiers/{id}"), None),
        (format!("/api/dossiers/{id}"), Some("faux".into())),
        (format!("/api/dossiers/{id}"), Some(other_jeton.clone())),
        (
            format!("/api/dossiers/{}", "0".repeat(32)),
            Some(jeton.clone()),
        ),
        ("/api/dossiers/..%2F..%2Fetc".into(), Some(jeton.clone())),
        (
            format!("/api/dossiers/{other_id}/convention"),
            Some(jeton.clone()),
        ),
    ];
    let mut bodies: Vec<Value> = Vec::new();
    for (path, j) in &cases {
        let r = t.get(path, j.as_deref()).await;
        assert_eq!(r.status, 404, "{path}");
        bodies.push(r.json());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    // The right jeton, as header or as query parameter, opens it.
    assert_eq!(
        t.get(&format!("/api/dossiers/{id}"), Some(&jeton))
            .await
            .status,
        200
    );
    assert_eq!(
        t.get(&format!("/api/dossiers/{id}?jeton={jeton}"), None)
            .await
            .status,
        200
    );
    // A header there is the credential: a malformed one is not bypassed by the query.
    for header in ["Basic Zm9vOmJhcg==", "Bearer", "jeton"] {
        let r = t
            .call(
                "GET",
                &format!("/api/dossiers/{id}?jeton={jeton}"),
                None,
                &[("authorization", header)],
            )
            .await;
        assert_eq!(r.status, 404, "{header}");
    }
}
