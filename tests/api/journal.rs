//! Journals that stay bounded (`domain::journal`), against moto, which enforces DynamoDB's
//! 400 KB item limit: before them, 34 messages of 3,000 characters made a dossier unwritable.

use crate::helpers::*;
use serde_json::{json, Value};

/// Every item of the table with its size (DynamoDB's count, `adapters::item_size`).
async fn item_sizes(t: &TestApp) -> Vec<(String, usize)> {
    let client = aws_sdk_dynamodb::Client::new(&t.sdk);
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&t.table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        for item in page.items() {
            let v: Value = serde_dynamo::from_item(item.clone()).unwrap();
            out.push((
                v["id"].as_str().unwrap_or("").to_string(),
                conventions_ent::adapters::item_size::of_item(&item.clone().into()),
            ));
        }
        match page.last_evaluated_key() {
            Some(k) => start = Some(k.clone()),
            None => return out,
        }
    }
}

fn texte(i: usize) -> String {
    format!("Message {i:03} : {}", "Pièce jointe attendue. ".repeat(130))
}

#[tokio::test]
async fn a_dossier_with_500_messages_and_200_decisions_still_takes_one_more_of_each() {
    let t = TestApp::spawn().await;
    let (id, jeton) = t.deposit_new(&full_dossier()).await;
    let messages = format!("/api/instructeur/dossiers/{id}/messages");
    let decision = format!("/api/instructeur/dossiers/{id}/decision");
    assert!(texte(0).chars().count() >= 3000);
    for i in 0..500 {
        let r = t
            .as_instructeur("POST", &messages, Some(&json!({ "texte": texte(i) })))
            .await;
        assert_eq!(r.status, 201, "message {i}: {}", r.body);
    }
    for i in 0..200 {
        let action = if i % 2 == 0 {
            "passer_en_instruction"
        } else {
            "repasser_en_construction"
        };
        let body = json!({"action": action, "motif": format!("Décision {i}.")});
        let r = t.as_instructeur("POST", &decision, Some(&body)).await;
        assert_eq!(r.status, 200, "decision {i}: {}", r.body);
    }
    // One more of each, as on the first day.
    let r = t
        .as_instructeur("POST", &messages, Some(&json!({ "texte": texte(500) })))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = t
        .as_instructeur(
            "POST",
            &decision,
            Some(&json!({"action": "passer_en_instruction"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // No item grows with the history: the dossier and each page stay far below 64 KB.
    let sizes = item_sizes(&t).await;
    let (largest_id, largest) = sizes.iter().max_by_key(|(_, s)| *s).unwrap();
    assert!(
        *largest <= 64 * 1024,
        "largest item {largest_id}: {largest} bytes"
    );
    let pages = sizes
        .iter()
        .filter(|(k, _)| k.starts_with("#journal#"))
        .count();
    assert!(pages >= 20, "{pages} pages");

    // The instructeur still sees everything, in order: the 501 messages and every decision.
    let detail = t
        .as_instructeur("GET", &format!("/api/instructeur/dossiers/{id}"), None)
        .await
        .json();
    let shown: Vec<&str> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["texte"].as_str().unwrap())
        .collect();
    assert_eq!(shown.len(), 501);
    assert!(shown
        .iter()
        .enumerate()
        .all(|(i, m)| m.starts_with(&format!("Message {i:03} "))));
    let trail = detail["historique"].as_array().unwrap();
    let decisions: Vec<&str> = trail
        .iter()
        .filter_map(|e| e["detail"].as_str())
        .filter(|d| d.starts_with("Décision "))
        .collect();
    assert_eq!(decisions.len(), 200);
    assert!(decisions
        .iter()
        .enumerate()
        .all(|(i, d)| d.starts_with(&format!("Décision {i}."))));
    assert_eq!(
        trail.first().unwrap()["action"],
        "dossier déposé, convention signée"
    );
    // So does the collectivité, and the list counts them all.
    let mine = t
        .get(&format!("/api/dossiers/{id}/messages"), Some(&jeton))
        .await;
    assert_eq!(mine.json()["messages"].as_array().unwrap().len(), 501);
    assert_eq!(t.list_row(&id).await["messages"], 501);
}

#[tokio::test]
async fn the_migration_moves_a_dossier_stored_whole_and_a_second_run_does_nothing() {
    let t = TestApp::spawn().await;
    let (id, _) = t.deposit_new(&full_dossier()).await;
    let (small, _) = t.deposit_new(&full_dossier()).await;
    // A dossier as the first release stored it: 90 long messages inside its item (about
    // 300 KB: writable, but the next few messages would make it unwritable).
    let mut legacy = t.stored(&id).await.unwrap();
    legacy.messages = (0..90)
        .map(|i| conventions_ent::domain::dossier::Message {
            le: format!("2026-09-01T10:{:02}:{:02}.000Z", i / 60, i % 60),
            auteur: conventions_ent::domain::dossier::Auteur::Collectivite,
            nom: "Camille MARTIN".into(),
            texte: texte(i),
        })
        .collect();
    t.put_raw(serde_dynamo::to_item(&legacy).unwrap())
        .await
        .unwrap();
    let size_of =
        |sizes: &[(String, usize)], key: &str| sizes.iter().find(|(k, _)| k == key).unwrap().1;
    let before = size_of(&item_sizes(&t).await, &id);
    assert!(before > 250_000, "{before}");
    let small_before = t.stored(&small).await.unwrap();

    let done = conventions_ent::jobs::compact::compact_journals(&*t.app.dossiers)
        .await
        .unwrap();
    assert_eq!(done.compactes, 1, "{done}");
    assert!(done.lus >= 2 && done.pages >= 8, "{done}");
    let after = size_of(&item_sizes(&t).await, &id);
    assert!(after < 64 * 1024, "{after}");
    assert_eq!(
        t.stored(&small).await.unwrap(),
        small_before,
        "left as it was"
    );
    // Nothing lost, nothing reordered.
    let detail = t
        .as_instructeur("GET", &format!("/api/instructeur/dossiers/{id}"), None)
        .await
        .json();
    let texts: Vec<String> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["texte"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, (0..90).map(texte).collect::<Vec<_>>());

    let again = conventions_ent::jobs::compact::compact_journals(&*t.app.dossiers)
        .await
        .unwrap();
    assert_eq!((again.compactes, again.pages), (0, 0), "{again}");
    // And it takes messages again.
    let r = t
        .as_instructeur(
            "POST",
            &format!("/api/instructeur/dossiers/{id}/messages"),
            Some(&json!({"texte": "Bien reçu."})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn the_retention_erases_a_dossiers_pages_with_it() {
    let t = TestApp::spawn().await;
    let (id, _) = t.deposit_new(&full_dossier()).await;
    // The deposit's own records: its convention.
    let deposit = t.stream_event().await;
    assert!(t
        .run_generate(&deposit)
        .await
        .batch_item_failures
        .is_empty());
    for i in 0..30 {
        let r = t
            .as_instructeur(
                "POST",
                &format!("/api/instructeur/dossiers/{id}/messages"),
                Some(&json!({ "texte": texte(i) })),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let record = t.stored(&id).await.unwrap();
    assert!(record.archives.messages.pages >= 2);
    // The stream records of the messages and of the pages start nothing (a page has no statut:
    // no consumer's filter takes it).
    let event = t.stream_event().await;
    assert!(event
        .records
        .iter()
        .any(|r| r.change.new_image.get("journal").is_some()));
    let before = t.objects().await;
    assert!(t.run_generate(&event).await.batch_item_failures.is_empty());
    assert!(t
        .run_acknowledge(&event)
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(t.objects().await, before, "no convention made again");

    let pages = |sizes: Vec<(String, usize)>| {
        sizes
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("#journal#{id}#")))
            .count()
    };
    assert_eq!(
        pages(item_sizes(&t).await),
        record.archives.messages.pages as usize
    );
    // The TTL removes the dossier item; the stream's removal record runs the erasure.
    aws_sdk_dynamodb::Client::new(&t.sdk)
        .delete_item()
        .table_name(&t.table)
        .key("id", aws_sdk_dynamodb::types::AttributeValue::S(id.clone()))
        .send()
        .await
        .unwrap();
    let outcome = conventions_ent::jobs::generate::erase(&t.app, record.clone())
        .await
        .unwrap();
    assert_eq!(outcome, conventions_ent::jobs::Outcome::Done);
    assert_eq!(pages(item_sizes(&t).await), 0);
    // A replay finds nothing left to erase.
    let outcome = conventions_ent::jobs::generate::erase(&t.app, record)
        .await
        .unwrap();
    assert_eq!(outcome, conventions_ent::jobs::Outcome::AlreadyDone);
}

/// The documented maximum (README « Bounded journals »): the form's ceiling — 1,000 schools
/// with long names, every one answered by the editor with a motif, an amended perimeter, every
/// journal at its budget — fits in one item with its schools packed (`domain::packed`; moto
/// refuses an item over 400 KB), well under the store's own maximum, and takes one more message
/// and one more answer. What would pass the maximum — motifs no compression shrinks — is
/// refused in French on `ecoles`, nothing written.
#[tokio::test]
async fn the_form_ceiling_fits_in_one_item_and_what_would_pass_it_is_refused_in_french() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use conventions_ent::adapters::item_size;
    use conventions_ent::domain::draft::DraftEcole;
    use conventions_ent::domain::gar::{AccesGar, EtatGar};
    use conventions_ent::ports::MAX_DOSSIER_ITEM_BYTES;
    const SCHOOLS: usize = conventions_ent::domain::draft::MAX_ECOLES;
    const NAMES: [&str; 12] = [
        "JEAN MOULIN",
        "JULES FERRY",
        "LOUIS PASTEUR",
        "VICTOR HUGO",
        "JACQUES PRÉVERT",
        "MARIE CURIE",
        "JEAN JAURÈS",
        "PAUL ÉLUARD",
        "ANATOLE FRANCE",
        "GEORGE SAND",
        "SIMONE VEIL",
        "ALBERT CAMUS",
    ];
    // A valid UAI (its check letter) per school.
    let uai = |i: usize| -> String {
        ('A'..='Z')
            .map(|l| format!("{:07}{l}", 350_0000 + i))
            .find(|u| conventions_ent::domain::uai::Uai::parse(u).is_ok())
            .unwrap()
    };
    let t = TestApp::spawn().await;
    let (id, _) = t.deposit_new(&full_dossier()).await;
    crate::editor::accept(&t, &id).await;
    let mut r = t.stored(&id).await.unwrap();
    let model = r.depot.as_ref().unwrap().ecoles[0].clone();
    let ecoles: Vec<_> = (0..SCHOOLS)
        .map(|i| {
            let mut e = model.clone();
            e.uai = uai(i);
            e.nom = format!(
                "ÉCOLE ÉLÉMENTAIRE PUBLIQUE {} {i:04} — GROUPE SCOLAIRE DU QUARTIER {}",
                NAMES[i % NAMES.len()],
                NAMES[(i / 12) % NAMES.len()]
            );
            e.commune = format!("PARIS {}E ARRONDISSEMENT", 1 + i % 20);
            e.gar = Some(AccesGar {
                etat: EtatGar::Rejetee,
                le: "2026-09-15".into(),
                motif: Some(format!(
                    "Établissement {i:04} absent de l’annuaire fédérateur de l’ENT : \
                     rattachement à demander à l’éditeur."
                )),
            });
            e
        })
        .collect();
    r.brouillon.ecoles = Some(
        ecoles
            .iter()
            .map(|e| DraftEcole {
                uai: Some(e.uai.clone()),
            })
            .collect(),
    );
    r.perimetre = Some(ecoles.clone());
    r.depot.as_mut().unwrap().ecoles = ecoles;
    let message = |i: usize| conventions_ent::domain::dossier::Message {
        le: "2026-09-01T10:00:00.000Z".into(),
        auteur: conventions_ent::domain::dossier::Auteur::Instructeur,
        nom: "instructeur@ac-rennes.fr".into(),
        texte: texte(i),
    };
    // Each tail just under its budget, as `journal::bound` leaves it at most.
    r.messages = (0..7).map(message).collect();
    let event = r.historique[0].clone();
    r.historique = (0..40)
        .map(|i| {
            let mut e = event.clone();
            e.detail = Some(format!("Décision {i}. {}", "Motif détaillé. ".repeat(14)));
            e
        })
        .collect();
    // The stored item with these attributes replaced (its index copies stay).
    let mut item = t.get_raw(&id).await;
    let record: std::collections::HashMap<String, AttributeValue> =
        serde_dynamo::to_item(&r).unwrap();
    for k in ["brouillon", "depot", "perimetre", "messages", "historique"] {
        item.insert(k.into(), record[k].clone());
    }
    let bytes = item_size::of_item(&item.clone().into());
    eprintln!("the form's ceiling, full journals: {bytes} bytes (DynamoDB's count)");
    assert!(bytes * 2 < MAX_DOSSIER_ITEM_BYTES, "{bytes} bytes");
    t.put_raw(item).await.expect("fits in one item");

    let r = t
        .as_instructeur(
            "POST",
            &format!("/api/instructeur/dossiers/{id}/messages"),
            Some(&json!({ "texte": texte(7) })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(t.stored(&id).await.unwrap().archives.messages.pages >= 1);
    // The editor opens one school: that school changes, the 999 others stay as they were.
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let body = json!({"ecoles": [{"uai": uai(500), "etat": "ouverte", "le": day}]});
    let r = crate::editor::post_signed(&t, &body.to_string(), EDITOR_ANSWER_SECRET, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = t.stored(&id).await.unwrap();
    let schools = &after.depot.as_ref().unwrap().ecoles;
    assert_eq!(schools.len(), SCHOOLS);
    assert_eq!(schools[500].gar.as_ref().unwrap().etat, EtatGar::Ouverte);
    assert!(schools
        .iter()
        .enumerate()
        .all(|(i, e)| i == 500 || e.gar.as_ref().unwrap().etat == EtatGar::Rejetee));
    assert_eq!(after.current_perimeter().len(), SCHOOLS);

    // Motifs of random characters on 700 schools: no compression shrinks them.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let alphabet: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    let mut random_text = |n: usize| -> String {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                alphabet[(seed % alphabet.len() as u64) as usize]
            })
            .collect()
    };
    let answers: Vec<Value> = (0..700)
        .map(|i| {
            json!({"uai": uai(i), "etat": "rejetee", "le": day,
                   "motif": random_text(500)})
        })
        .collect();
    let before = t.get_raw(&id).await;
    let body = json!({ "ecoles": answers }).to_string();
    let r = crate::editor::post_signed(&t, &body, EDITOR_ANSWER_SECRET, None).await;
    assert_eq!(r.status, 422, "{}", r.body);
    let message = r.error_on("ecoles").expect("the field named");
    assert!(
        message.contains("1000 écoles") && message.contains("taille maximale"),
        "{message}"
    );
    assert_eq!(t.get_raw(&id).await, before, "nothing written");
}

/// A write decided on a record read before another write moved the journal: moto refuses its
/// move (the journal is no longer as read), and the store writes it on the dossier read again,
/// nothing lost, nothing twice.
#[tokio::test]
async fn a_message_decided_before_a_move_is_written_on_the_dossier_read_again() {
    use conventions_ent::domain::{journal, life::Actor, steps, text::LongText, time::Now};
    let t = TestApp::spawn().await;
    let (id, _) = t.deposit_new(&full_dossier()).await;
    let path = format!("/api/instructeur/dossiers/{id}/messages");
    let mut sent = 0;
    // The record as it was just before a message moved the journal.
    let stale = loop {
        let before = t.stored(&id).await.unwrap();
        let r = t
            .as_instructeur("POST", &path, Some(&json!({ "texte": texte(sent) })))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        sent += 1;
        if t.stored(&id).await.unwrap().archives.version > before.archives.version {
            break before;
        }
    };
    let actor = Actor::Instructeur {
        sub: "a1".into(),
        email: "instructeur@ac-rennes.fr".into(),
        nom: None,
    };
    let late = LongText::parse(&texte(999)).unwrap();
    let change = steps::message(&stale, late, &actor, &Now::system()).unwrap();
    let moving = journal::bound(&stale, change.clone());
    assert!(moving.moved().is_some());
    assert!(matches!(
        t.app.dossiers.write(&stale.id, &moving).await,
        Err(conventions_ent::ports::StoreError::Conflict)
    ));
    t.app.dossiers.add_message(&stale, &change).await.unwrap();
    let now = t.stored(&id).await.unwrap();
    let texts: Vec<String> = t
        .app
        .dossiers
        .journals(&now)
        .await
        .unwrap()
        .messages
        .into_iter()
        .map(|m| m.texte)
        .collect();
    // Each message once, in order (the texts as stored: trimmed).
    let mut expected: Vec<String> = (0..sent).map(|i| texte(i).trim().to_string()).collect();
    expected.push(texte(999).trim().to_string());
    let heads = |v: &[String]| v.iter().map(|t| t[..12].to_string()).collect::<Vec<_>>();
    assert_eq!(heads(&texts), heads(&expected));
    assert!(texts == expected, "same texts");
}

/// A dossier stored before schools were packed (plain lists of maps) reads as before; the
/// migration packs its lists once (a second run packs nothing), and so does its next editor's
/// answer.
#[tokio::test]
async fn schools_stored_as_plain_lists_read_and_are_packed_at_their_next_write() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let t = TestApp::spawn().await;
    let (id, _) = t.deposit_new(&full_dossier()).await;
    crate::editor::accept(&t, &id).await;
    let schools = t.stored(&id).await.unwrap().depot.unwrap().ecoles;
    let mut item = t.get_raw(&id).await;
    let mut depot = item["depot"].as_m().unwrap().clone();
    assert!(matches!(&depot["ecoles"], AttributeValue::S(s) if s.starts_with("z1:")));
    let plain: AttributeValue =
        serde_dynamo::to_attribute_value(serde_json::to_value(&schools).unwrap()).unwrap();
    assert!(plain.is_l());
    depot.insert("ecoles".into(), plain);
    item.insert("depot".into(), AttributeValue::M(depot));
    t.put_raw(item.clone()).await.unwrap();
    assert_eq!(t.stored(&id).await.unwrap().depot.unwrap().ecoles, schools);
    fn packed(item: &std::collections::HashMap<String, AttributeValue>) -> bool {
        matches!(&item["depot"].as_m().unwrap()["ecoles"],
            AttributeValue::S(s) if s.starts_with("z1:"))
    }

    // The migration packs them, once.
    let done = conventions_ent::jobs::compact::compact_journals(&*t.app.dossiers)
        .await
        .unwrap();
    assert_eq!(done.ecoles_compactees, 1, "{done}");
    assert!(packed(&t.get_raw(&id).await));
    assert_eq!(t.stored(&id).await.unwrap().depot.unwrap().ecoles, schools);
    let again = conventions_ent::jobs::compact::compact_journals(&*t.app.dossiers)
        .await
        .unwrap();
    assert_eq!(again.ecoles_compactees, 0, "{again}");

    // Stored plain again: the next answer packs them too.
    t.put_raw(item).await.unwrap();
    assert!(!packed(&t.get_raw(&id).await));

    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let body = json!({"ecoles": [{"uai": UAI_BAULON, "etat": "ouverte", "le": day}]});
    let r = crate::editor::post_signed(&t, &body.to_string(), EDITOR_ANSWER_SECRET, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = t.stored(&id).await.unwrap().depot.unwrap().ecoles;
    assert_eq!(after.len(), schools.len());
    let opened: Vec<_> = after.iter().filter(|e| e.gar.is_some()).collect();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].uai, UAI_BAULON);
    assert!(packed(&t.get_raw(&id).await));
}
