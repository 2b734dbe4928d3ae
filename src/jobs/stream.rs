//! DynamoDB stream batches: decode each record's NewImage as a dossier, run a step on it,
//! and report failures the way Lambda expects (ReportBatchItemFailures).

use super::{JobError, Outcome};
use crate::domain::dossier::{DossierRecord, Etape, Statut};
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use std::borrow::Borrow;
use std::future::Future;

/// The dossier in a record's NewImage, when it is one at `etape` (inserts and updates only).
pub fn dossier_at(record: &EventRecord, etape: Etape) -> Option<DossierRecord> {
    if record.event_name == "REMOVE" {
        return None;
    }
    dossier_in(record, &record.change.new_image).filter(|d| d.etape == etape)
}

/// The dossier in a record's NewImage, when this change moved it into `statut` from another
/// one (the template's filter: NewImage in it, OldImage not).
pub fn became(record: &EventRecord, statut: Statut) -> Option<DossierRecord> {
    if record.event_name != "MODIFY" {
        return None;
    }
    let before = record.change.old_image.get("statut").and_then(|v| match v {
        serde_dynamo::AttributeValue::S(s) => Some(s.as_str()),
        _ => None,
    });
    if before.is_none() || before == Some(statut.as_str()) {
        return None;
    }
    dossier_in(record, &record.change.new_image).filter(|d| d.statut == statut)
}

/// The dossier in a record's NewImage, when a step just scheduled something on it: `field`
/// (a map) has `etat` = `value` in the NewImage and not in the OldImage (absent, or at another
/// state: an acceptance email sent, then due again after a correction; the template's
/// filters). Later writes on it, a lease, do not match.
pub fn scheduled_now(record: &EventRecord, field: &str, value: &str) -> Option<DossierRecord> {
    let etat = |image: &serde_dynamo::Item| match image.get(field) {
        Some(serde_dynamo::AttributeValue::M(m)) => match m.get("etat") {
            Some(serde_dynamo::AttributeValue::S(s)) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    };
    if record.event_name != "MODIFY" || etat(&record.change.old_image).as_deref() == Some(value) {
        return None;
    }
    match etat(&record.change.new_image) {
        Some(s) if s == value => dossier_in(record, &record.change.new_image),
        _ => None,
    }
}

/// The dossier in a record's OldImage, when the table's TTL removed it (retention), not a
/// person: AWS marks those records with the DynamoDB service as their user identity.
pub fn expired_dossier(record: &EventRecord) -> Option<DossierRecord> {
    let by_ttl = record
        .user_identity
        .as_ref()
        .is_some_and(|u| u.type_ == "Service" && u.principal_id == "dynamodb.amazonaws.com");
    if record.event_name != "REMOVE" || !by_ttl {
        return None;
    }
    dossier_in(record, &record.change.old_image)
}

fn dossier_in(record: &EventRecord, image: &serde_dynamo::Item) -> Option<DossierRecord> {
    if !image.contains_key("statut") {
        return None; // not a dossier (the numbering counter)
    }
    serde_dynamo::from_item::<_, DossierRecord>(image.clone())
        .map_err(|e| {
            tracing::warn!(error = %e, event_id = %record.event_id, "unreadable dossier image, skipped");
        })
        .ok()
}

/// Runs `step` on each record of the batch, in order. At the first failure it stops and
/// reports that record: Lambda retries the batch from there (records of a shard must stay in
/// order), and every step is idempotent, so the records before it are safe to replay.
pub async fn process<F, Fut>(event: &Event, etape: Etape, step: F) -> DynamoDbEventResponse
where
    F: Fn(DossierRecord) -> Fut,
    Fut: Future<Output = Result<Outcome, JobError>>,
{
    process_selected(event, |r| dossier_at(r, etape), step).await
}

/// Same as [`process`], for the records `select` picks (a dossier, or anything naming one).
pub async fn process_selected<T, S, F, Fut>(
    event: &Event,
    select: S,
    step: F,
) -> DynamoDbEventResponse
where
    T: Borrow<DossierRecord>,
    S: Fn(&EventRecord) -> Option<T>,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<Outcome, JobError>>,
{
    let mut response = DynamoDbEventResponse::default();
    for record in &event.records {
        let Some(selected) = select(record) else {
            continue;
        };
        let id = selected.borrow().id.clone();
        match step(selected).await {
            Ok(outcome) => tracing::info!(dossier = %id, ?outcome, "stream record processed"),
            Err(e) => {
                tracing::error!(dossier = %id, error = %e, "stream record failed, batch will be retried from it");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = record.change.sequence_number.clone();
                response.batch_item_failures.push(failure);
                break;
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Mutex;

    /// A dossier id made of one repeated hex digit.
    fn id(c: char) -> String {
        c.to_string().repeat(32)
    }

    fn record(seq: &str, id: &str, etape: &str) -> serde_json::Value {
        json!({
            "eventID": seq, "eventName": "MODIFY", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-3",
            "dynamodb": {
                "ApproximateCreationDateTime": 1795896000.0,
                "Keys": {"id": {"S": id}},
                "NewImage": {
                    "id": {"S": id}, "numero": {"S": "ENT-000001"}, "jeton_sha256": {"S": "00"},
                    "statut": {"S": "en_construction"}, "etape": {"S": etape},
                    "cree_le": {"S": "2026-11-28T20:00:00Z"}, "modifie_le": {"S": "2026-11-28T20:00:00Z"}
                },
                "SequenceNumber": seq, "SizeBytes": 100, "StreamViewType": "NEW_AND_OLD_IMAGES"
            }
        })
    }

    #[tokio::test]
    async fn reports_the_first_failure_and_stops_there() {
        let event: Event = serde_json::from_value(json!({"Records": [
            record("1", &id('a'), "depose"),
            record("2", &id('b'), "brouillon"),
            record("3", &id('c'), "depose"),
            record("4", &id('d'), "depose"),
        ]}))
        .unwrap();
        let seen = Mutex::new(Vec::new());
        let resp = process(&event, Etape::Depose, |d| {
            seen.lock().unwrap().push(d.id.to_string());
            async move {
                if d.id.as_str() == id('c') {
                    Err(JobError::Incoherent(
                        d.id.to_string(),
                        "panne simulée".into(),
                    ))
                } else {
                    Ok(Outcome::Done)
                }
            }
        })
        .await;
        assert_eq!(
            *seen.lock().unwrap(),
            [id('a'), id('c')],
            "b is filtered out, d waits for the retry"
        );
        let failed: Vec<_> = resp
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone().unwrap())
            .collect();
        assert_eq!(failed, ["3"]);
    }
}
