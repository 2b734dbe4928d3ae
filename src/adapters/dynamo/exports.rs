//! Export jobs (`domain::export`) in the dossiers' table: `#export#<id>`, the job's fields,
//! removed by the TTL a day after the request. No `statut`: only export-schools' filter (on
//! `export_etat`) takes their records.

use super::{map_err, s, DynamoDossiers};
use crate::domain::export::ExportJob;
use crate::ports::{ExportStore, StoreError};
use async_trait::async_trait;

const EXPORT_PREFIX: &str = "#export#";

#[async_trait]
impl ExportStore for DynamoDossiers {
    async fn export_job(&self, id: &str) -> Result<Option<ExportJob>, StoreError> {
        let Some(mut item) = self.get_item(&format!("{EXPORT_PREFIX}{id}")).await? else {
            return Ok(None);
        };
        item.insert("id".into(), s(id));
        serde_dynamo::from_item(item)
            .map(Some)
            .map_err(|e| StoreError::Unavailable(format!("export illisible : {e}")))
    }

    async fn put_export_job(
        &self,
        job: &ExportJob,
        previous: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut item: super::counters::Item = serde_dynamo::to_item(job)
            .map_err(|e| StoreError::Unavailable(format!("sérialisation : {e}")))?;
        item.insert("id".into(), s(&format!("{EXPORT_PREFIX}{}", job.id)));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let put = match previous {
            None => put.condition_expression("attribute_not_exists(id)"),
            Some(t) => put
                .condition_expression("tache = :t")
                .expression_attribute_values(":t", s(t)),
        };
        put.send().await.map_err(map_err)?;
        Ok(())
    }
}
