//! The list index holds the list's rows (`domain::listing`), not the dossiers: against moto,
//! which applies the index's INCLUDE projection to what a query returns, as DynamoDB does.

use crate::helpers::*;
use aws_sdk_dynamodb::types::AttributeValue;
use conventions_ent::adapters::dynamo::{DEPOSIT_INDEX, LIST_ATTRIBUTES};
use conventions_ent::domain::change::{Change, Condition, Update};
use conventions_ent::domain::dossier::{Auteur, Message};
use conventions_ent::domain::life::Step;
use conventions_ent::domain::listing;
use conventions_ent::ports::StoreError;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The list index's copy of each deposited dossier, by id, as a query of the index reads it.
async fn index_items(t: &TestApp) -> HashMap<String, HashMap<String, AttributeValue>> {
    let page = aws_sdk_dynamodb::Client::new(&t.sdk)
        .query()
        .table_name(&t.table)
        .index_name(DEPOSIT_INDEX)
        .key_condition_expression("liste = :l")
        .expression_attribute_values(":l", AttributeValue::S("depose".into()))
        .send()
        .await
        .unwrap();
    page.items()
        .iter()
        .map(|i| (i["id"].as_s().unwrap().clone(), i.clone()))
        .collect()
}

fn json_size(item: &HashMap<String, AttributeValue>) -> usize {
    serde_dynamo::from_item::<_, Value>(item.clone())
        .unwrap()
        .to_string()
        .len()
}

fn message(texte: &str) -> Change {
    Change {
        step: Step::Message,
        condition: Condition::Exists,
        updates: vec![Update::AppendMessage(Message {
            le: "2026-12-03T10:00:00.000Z".into(),
            auteur: Auteur::Instructeur,
            nom: "instructrice@ac-rennes.fr".into(),
            texte: texte.into(),
        })],
        notices: Vec::new(),
    }
}

#[tokio::test]
async fn the_list_index_holds_rows_and_the_list_shows_them() {
    let t = TestApp::spawn().await;
    let (id, _) = t.deposit_new(&full_dossier()).await;
    let path = format!("/api/instructeur/dossiers/{id}/messages");
    for i in 0..3 {
        let long = format!("Message {i} : {}", "pièce attendue ".repeat(200));
        let r = t
            .as_instructeur("POST", &path, Some(&json!({ "texte": long })))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }

    // The index's copy: its keys, the row and the filtered attributes, never the deposit or
    // the journals.
    let copy = index_items(&t).await.remove(&id).expect("on the index");
    let allowed: Vec<&str> = ["id", "liste", "depose_le"]
        .into_iter()
        .chain(LIST_ATTRIBUTES)
        .collect();
    let mut names: Vec<&String> = copy.keys().collect();
    names.sort();
    assert!(
        names.iter().all(|n| allowed.contains(&n.as_str())),
        "{names:?}"
    );
    for absent in [
        "depot",
        "messages",
        "historique",
        "conventions",
        "brouillon",
    ] {
        assert!(!copy.contains_key(absent), "{absent} copied to the index");
    }
    let whole = t.get_raw(&id).await;
    assert!(
        json_size(&copy) * 5 < json_size(&whole),
        "index copy {} bytes, dossier {} bytes",
        json_size(&copy),
        json_size(&whole)
    );

    // The list answers from it, as the dossier is now.
    let row = t.list_row(&id).await;
    let stored = t.stored(&id).await.unwrap();
    assert_eq!(row["messages"], 3);
    assert_eq!(row["ecoles"], 2);
    assert_eq!(row["statut"], "en_construction");
    assert_eq!(row["departement"], "35");
    assert_eq!(
        row,
        serde_json::to_value(listing::Ligne::of(&stored)).unwrap()
    );
    assert_eq!(stored.ligne, Some(listing::Ligne::of(&stored)));
    // Every filter still selects on what the index holds.
    for query in [
        "statut=en_construction",
        "departement=35",
        "commune=35016",
        "q=baulon",
    ] {
        let list = t
            .as_instructeur("GET", &format!("/api/instructeur/dossiers?{query}"), None)
            .await
            .json();
        assert!(
            list["dossiers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["id"] == id),
            "{query}: {list}"
        );
    }
}

#[tokio::test]
async fn a_write_decided_on_a_stale_dossier_is_refused_then_written_on_the_fresh_one() {
    let t = TestApp::spawn().await;
    let (id, _) = t.deposit_new(&full_dossier()).await;
    let read = t.stored(&id).await.unwrap();
    // Two messages decided on the same read: the first moves the revision on.
    t.app
        .dossiers
        .write_bounded(&read, &message("Premier"))
        .await
        .unwrap();
    let stale = listing::stamp(&read, message("Second"));
    assert!(matches!(
        t.app.dossiers.write(&read.id, &stale).await,
        Err(StoreError::Conflict)
    ));
    // `write_bounded` reads the dossier again and writes the second on it: both are counted.
    t.app
        .dossiers
        .write_bounded(&read, &message("Second"))
        .await
        .unwrap();
    let after = t.stored(&id).await.unwrap();
    assert_eq!(after.messages.len(), 2);
    assert_eq!(after.ligne.as_ref().map(|l| l.messages), Some(2));
    assert_eq!(t.list_row(&id).await["messages"], 2);
}

#[tokio::test]
async fn a_dossier_stored_before_rows_is_listed_and_the_migration_writes_its_row_once() {
    let t = TestApp::spawn().await;
    let (id, _) = t.deposit_new(&full_dossier()).await;
    // As an earlier version stored it: no row, no revision.
    aws_sdk_dynamodb::Client::new(&t.sdk)
        .update_item()
        .table_name(&t.table)
        .key("id", AttributeValue::S(id.clone()))
        .update_expression("REMOVE ligne, revision")
        .send()
        .await
        .unwrap();
    assert!(!index_items(&t).await[&id].contains_key("ligne"));
    // Listed all the same, read whole.
    let stored = t.stored(&id).await.unwrap();
    assert!(stored.ligne.is_none());
    assert_eq!(
        t.list_row(&id).await,
        serde_json::to_value(listing::Ligne::of(&stored)).unwrap()
    );

    let done = conventions_ent::jobs::compact::compact_journals(&*t.app.dossiers)
        .await
        .unwrap();
    assert_eq!(done.lignes, 1, "{done}");
    assert!(index_items(&t).await[&id].contains_key("ligne"));
    let again = conventions_ent::jobs::compact::compact_journals(&*t.app.dossiers)
        .await
        .unwrap();
    assert_eq!(again.lignes, 0, "{again}");
    // And its next write is decided on the revision the migration left.
    let r = t
        .as_instructeur(
            "POST",
            &format!("/api/instructeur/dossiers/{id}/messages"),
            Some(&json!({"texte": "Bien reçu."})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(t.list_row(&id).await["messages"], 1);
}

/// A hot dossier: eight instructeur messages and an editor's answer at once. Each write is
/// decided on the revision it read, so all but one find it moved; each is decided again on the
/// fresh dossier after a short random pause (`write_bounded`, `ports::WRITE_TRIES`). Every one
/// is kept, once, and counted in the row (three tries without a pause kept 3 of 8; a refusal
/// would be a French 409).
#[tokio::test]
async fn concurrent_writes_on_one_dossier_are_all_kept_once() {
    let t = TestApp::spawn().await;
    let (id, _) = t.deposit_new(&full_dossier()).await;
    crate::editor::accept(&t, &id).await;
    let path = format!("/api/instructeur/dossiers/{id}/messages");
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let answer = json!({"ecoles": [{"uai": UAI_BAULON, "etat": "ouverte", "le": day}]}).to_string();
    let messages = futures::future::join_all((0..8).map(|i| {
        let (t, path) = (&t, &path);
        async move {
            let texte = format!("Message simultané {i}");
            let r = t
                .as_instructeur("POST", path, Some(&json!({ "texte": texte })))
                .await;
            (texte, r)
        }
    }));
    let editor = crate::editor::post_signed(&t, &answer, EDITOR_ANSWER_SECRET, None);
    let (messages, editor) = futures::future::join(messages, editor).await;
    let stored = t.stored(&id).await.unwrap();
    let texts: Vec<&str> = stored.messages.iter().map(|m| m.texte.as_str()).collect();
    let mut kept = 0;
    for (texte, r) in &messages {
        match r.status {
            201 => {
                kept += 1;
                assert_eq!(texts.iter().filter(|t| **t == texte).count(), 1, "{texte}");
            }
            409 => {
                assert!(
                    r.json()["detail"].as_str().unwrap().contains("changé"),
                    "{}",
                    r.body
                );
                assert!(
                    !texts.contains(&texte.as_str()),
                    "{texte} refused yet stored"
                );
            }
            s => panic!("{s}: {}", r.body),
        }
    }
    eprintln!(
        "concurrent messages kept: {kept} of 8, editor answer {}",
        editor.status
    );
    assert_eq!(kept, 8);
    assert_eq!(texts.len(), kept);
    assert_eq!(editor.status, 200, "{}", editor.body);
    assert!(stored.depot.as_ref().unwrap().ecoles[0].gar.is_some());
    // The row counts what is stored.
    assert_eq!(stored.ligne.as_ref().unwrap().messages, kept);
    assert_eq!(stored.ligne.as_ref(), Some(&listing::Ligne::of(&stored)));
}
