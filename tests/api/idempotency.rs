//! Stream records come twice, Lambdas retry: every step must do its work exactly once.

use crate::helpers::*;

async fn deposited(t: &TestApp) -> String {
    // Versioning makes a second write of the same key visible.
    t.enable_versioning().await;
    let (id, _) = t.deposit_new(&full_dossier()).await;
    id
}

#[tokio::test]
async fn replayed_generation_writes_one_object_and_changes_nothing() {
    let t = TestApp::spawn().await;
    let id = deposited(&t).await;
    let event = t.stream_event().await;
    assert!(t.run_generate(&event).await.batch_item_failures.is_empty());
    let first = t.stored(&id).await.unwrap();
    let snapshot = t.table_snapshot().await;
    for _ in 0..2 {
        assert!(t.run_generate(&event).await.batch_item_failures.is_empty());
    }
    assert_eq!(t.objects().await.len(), 1, "one object version");
    assert_eq!(t.table_snapshot().await, snapshot);
    assert_eq!(t.stored(&id).await.unwrap().convention, first.convention);
}

#[tokio::test]
async fn replayed_acknowledgement_sends_one_email() {
    let t = TestApp::spawn().await;
    deposited(&t).await;
    let event = t.stream_event().await;
    t.run_generate(&event).await;
    let event = t.stream_event().await;
    // The same record delivered three times, twice concurrently.
    let (a, b) = tokio::join!(t.run_acknowledge(&event), t.run_acknowledge(&event));
    assert!(a.batch_item_failures.is_empty() && b.batch_item_failures.is_empty());
    assert!(t
        .run_acknowledge(&event)
        .await
        .batch_item_failures
        .is_empty());
    // The acknowledgement's own stream record is not for any step.
    let later = t.stream_event().await;
    assert!(t
        .run_acknowledge(&later)
        .await
        .batch_item_failures
        .is_empty());
    assert!(t.run_generate(&later).await.batch_item_failures.is_empty());
    assert_eq!(t.sent_emails().await.len(), 1);
}

/// SES refusing the send (here: a sender identity the emulator does not know) gives the lease
/// back at once, so that the retry of the record sends without waiting for it to expire.
#[tokio::test]
async fn a_failed_send_releases_the_lease_and_the_retry_sends() {
    let mut t = TestApp::spawn().await;
    let id = deposited(&t).await;
    let event = t.stream_event().await;
    t.run_generate(&event).await;
    let event = t.stream_event().await;
    let sender = t.app.config.sender_email.clone();
    t.app.config.sender_email = "jamais-verifiee@ac-test.fr".into();
    let failed = t.run_acknowledge(&event).await;
    assert_eq!(failed.batch_item_failures.len(), 1, "the record is retried");
    let stored = t.stored(&id).await.unwrap();
    assert_eq!(stored.accuse_bail, None, "lease given back");
    assert!(stored.accuse.is_none());
    t.app.config.sender_email = sender;
    assert!(t
        .run_acknowledge(&event)
        .await
        .batch_item_failures
        .is_empty());
    assert!(t.stored(&id).await.unwrap().accuse.is_some());
    assert_eq!(t.sent_emails().await.len(), 1);
}

#[tokio::test]
async fn control_characters_in_names_cannot_reach_headers() {
    // The deposit refuses CR/LF in names (see deposit.rs); the subject is built single-line
    // whatever the data says, as a second line of defence.
    let subject = conventions_ent::domain::text::single_line(
        "Dossier n° 1 — Mairie\r\nBcc: pirate@exemple.fr",
    );
    assert!(!subject.contains('\r') && !subject.contains('\n'));
}
