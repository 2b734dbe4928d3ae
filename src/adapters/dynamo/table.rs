//! The dossiers table, as the template declares it, for the local stack and the tests.

use super::{DEPOSIT_INDEX, LIST_ATTRIBUTES, VERIFICATION_INDEX};
use crate::adapters::describe;
use crate::ports::StoreError;
use aws_sdk_dynamodb::Client;

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
        .attribute_definitions(attr("liste"))
        .attribute_definitions(attr("depose_le"))
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
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(DEPOSIT_INDEX)
                .key_schema(hash("liste"))
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("depose_le")
                        .key_type(KeyType::Range)
                        .build()
                        .expect("complete key"),
                )
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .set_non_key_attributes(Some(
                            LIST_ATTRIBUTES.iter().map(|a| a.to_string()).collect(),
                        ))
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
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            return Ok(())
        }
        Err(e) => return Err(StoreError::Unavailable(describe(&e))),
    }
    // Drafts expire through the table's TTL on `expire_le`.
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .attribute_name("expire_le")
                .enabled(true)
                .build()
                .expect("complete TTL"),
        )
        .send()
        .await
        .map_err(|e| StoreError::Unavailable(describe(&e)))?;
    Ok(())
}
