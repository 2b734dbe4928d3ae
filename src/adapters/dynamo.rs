//! Dossiers in DynamoDB: one item per dossier, conditional writes for every state change.

use super::describe;
use crate::domain::deposit::Depot;
use crate::domain::dossier::{AccuseRecord, ConventionRecord, DossierRecord, Etape, Statut};
use crate::domain::draft::Draft;
use crate::ports::{DossierStore, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

/// Item holding the last dossier number.
const COUNTER_ID: &str = "#compteur-numero";
/// Sparse index on `code_verification`, for the public verification route.
pub const VERIFICATION_INDEX: &str = "par-code-verification";

pub struct DynamoDossiers {
    client: Client,
    table: String,
}

impl DynamoDossiers {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoDossiers {
            client,
            table: table.into(),
        }
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn av<T: serde::Serialize>(v: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(v)
        .map_err(|e| StoreError::Unavailable(format!("sérialisation : {e}")))
}

/// Maps an SDK error: a failed condition is a Conflict, anything else Unavailable.
fn map_err<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug + 'static,
{
    if err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException") {
        StoreError::Conflict
    } else {
        StoreError::Unavailable(describe(&err))
    }
}

/// Ok(false) for a failed condition: the write had already happened.
fn done_unless_conflict(r: Result<(), StoreError>) -> Result<bool, StoreError> {
    match r {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl DossierStore for DynamoDossiers {
    async fn next_numero(&self) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(COUNTER_ID))
            .update_expression("ADD valeur :un")
            .expression_attribute_values(":un", AttributeValue::N("1".into()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(map_err)?;
        out.attributes()
            .and_then(|a| a.get("valeur"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| StoreError::Unavailable("compteur de numéros illisible".into()))
    }

    async fn create(&self, record: &DossierRecord) -> Result<(), StoreError> {
        let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(record)
            .map_err(|e| StoreError::Unavailable(format!("sérialisation : {e}")))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<DossierRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_err)?;
        match out.item {
            // Items without a statut (the counter) are not dossiers.
            Some(item) if item.contains_key("statut") => serde_dynamo::from_item(item)
                .map(Some)
                .map_err(|e| StoreError::Unavailable(format!("dossier {id} illisible : {e}"))),
            _ => Ok(None),
        }
    }

    async fn save_draft(&self, id: &str, draft: &Draft, now: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
            .update_expression("SET brouillon = :b, modifie_le = :now")
            .condition_expression("statut = :brouillon")
            .expression_attribute_values(":b", av(draft)?)
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":brouillon", s(Statut::Brouillon.as_str()))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn deposit(
        &self,
        id: &str,
        draft: &Draft,
        depot: &Depot,
        now: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
            .update_expression(
                "SET brouillon = :b, depot = :d, statut = :statut, etape = :etape, depose_le = :now, modifie_le = :now",
            )
            .condition_expression("statut = :brouillon")
            .expression_attribute_values(":b", av(draft)?)
            .expression_attribute_values(":d", av(depot)?)
            .expression_attribute_values(":statut", s(Statut::EnConstruction.as_str()))
            .expression_attribute_values(":etape", s(Etape::Depose.as_str()))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":brouillon", s(Statut::Brouillon.as_str()))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn record_convention(&self, id: &str, c: &ConventionRecord) -> Result<bool, StoreError> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
            .update_expression("SET convention = :c, code_verification = :code, etape = :next")
            .condition_expression("etape = :depose AND attribute_not_exists(convention)")
            .expression_attribute_values(":c", av(c)?)
            .expression_attribute_values(":code", s(&c.code_verification))
            .expression_attribute_values(":next", s(Etape::ConventionEnregistree.as_str()))
            .expression_attribute_values(":depose", s(Etape::Depose.as_str()))
            .send()
            .await
            .map(|_| ())
            .map_err(map_err);
        done_unless_conflict(r)
    }

    async fn claim_acknowledgement(
        &self,
        id: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
            .update_expression("SET accuse_bail = :until")
            .condition_expression(
                "etape = :enregistree AND attribute_not_exists(accuse) AND (attribute_not_exists(accuse_bail) OR accuse_bail < :now)",
            )
            .expression_attribute_values(":until", AttributeValue::N(until.to_string()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":enregistree", s(Etape::ConventionEnregistree.as_str()))
            .send()
            .await
            .map(|_| ())
            .map_err(map_err);
        done_unless_conflict(r)
    }

    async fn record_acknowledgement(
        &self,
        id: &str,
        accuse: &AccuseRecord,
    ) -> Result<(), StoreError> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
            .update_expression("SET accuse = :a, etape = :next REMOVE accuse_bail")
            .condition_expression("attribute_not_exists(accuse)")
            .expression_attribute_values(":a", av(accuse)?)
            .expression_attribute_values(":next", s(Etape::AccuseEnvoye.as_str()))
            .send()
            .await
            .map(|_| ())
            .map_err(map_err);
        done_unless_conflict(r).map(|_| ())
    }

    async fn release_acknowledgement(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
            .update_expression("REMOVE accuse_bail")
            .condition_expression("attribute_exists(id)")
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn find_by_verification_code(
        &self,
        code: &str,
    ) -> Result<Option<DossierRecord>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(VERIFICATION_INDEX)
            .key_condition_expression("code_verification = :c")
            .expression_attribute_values(":c", s(code))
            .limit(1)
            .send()
            .await
            .map_err(map_err)?;
        // The index projects keys only; read the item itself, consistently.
        match out
            .items()
            .first()
            .and_then(|i| i.get("id"))
            .and_then(|v| v.as_s().ok())
        {
            Some(id) => self.get(id).await,
            None => Ok(None),
        }
    }
}

/// Creates the dossiers table as `infra/template.yaml` declares it (key, verification index,
/// stream with both images, on-demand billing). For the local stack and the tests; on AWS the
/// template creates it.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("complete definition")
    };
    let hash = |name: &str| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(KeyType::Hash)
            .build()
            .expect("complete key")
    };
    let res = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("id"))
        .attribute_definitions(attr("code_verification"))
        .key_schema(hash("id"))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(VERIFICATION_INDEX)
                .key_schema(hash("code_verification"))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .expect("complete index"),
        )
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .expect("complete stream"),
        )
        .send()
        .await;
    match res {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(StoreError::Unavailable(describe(&e))),
    }
}
