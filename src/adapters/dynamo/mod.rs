//! Dossiers in DynamoDB: one item per dossier, conditional writes for every state change.

mod counters;
mod exports;
mod expression;
mod table;

use super::describe;
use crate::domain::change::{Change, Update};
use crate::domain::dossier::DossierRecord;
use crate::domain::ids::DossierId;
use crate::domain::journal::{Archives, Entries, Journal, Page};
use crate::domain::life::Step;
use crate::domain::listing::Ligne;
use crate::domain::packed;
use crate::domain::signataire::Quota;
use crate::ports::{DossierStore, ListFilter, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;
use expression::Expression;
use std::collections::HashMap;
pub use table::create_table;

/// Item holding the last dossier number.
const COUNTER_ID: &str = "#compteur-numero";
/// Sparse index on `code_verification`, for the public verification route.
pub const VERIFICATION_INDEX: &str = "par-code-verification";
/// Items naming the dossier of a superseded convention version's code (`dossier`, `version`):
/// the verification index finds current codes only, since an item has one `code_verification`.
const CODE_ITEM_PREFIX: &str = "#code-verification#";
/// Journal pages (`domain::journal`): `#journal#<dossier>#<journal>#<number>`, with `dossier`,
/// `journal`, `page` and `entrees` (the entries, oldest first). No index: the dossier's
/// `archives` says how many there are, so their keys are known.
const PAGE_PREFIX: &str = "#journal#";
/// Sparse index of deposited dossiers by deposit time (`liste` = "depose", `depose_le`),
/// holding the list's row (`domain::listing`) and the attributes its filters read, not the
/// dossier (`par-depot`, the index of earlier versions, held whole items).
pub const DEPOSIT_INDEX: &str = "par-depot-ligne";
/// What the list index copies of a dossier besides its keys (the template's
/// `NonKeyAttributes`, checked by `scripts/check_infra.py`).
pub const LIST_ATTRIBUTES: [&str; 12] = [
    "ligne",
    "statut",
    "gar_ouvertes",
    "correction_demandee",
    "nature",
    "echeance",
    "resiliation",
    "aucun_perimetre",
    "departement",
    "departements",
    "codes_insee",
    "recherche",
];
pub(super) const LISTE_DEPOSES: &str = "depose";

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

    /// The dossier's conditional update and, in the same transaction, the items it brings:
    /// one per superseded convention code naming the dossier (a code stays findable from the
    /// moment its version is superseded) and one per journal page moved out of the dossier
    /// (`domain::journal`). A failed condition writes none. The items are plain overwrites
    /// (the same content on a replay).
    fn transaction_items(
        &self,
        id: &DossierId,
        condition: String,
        x: Expression,
    ) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, StoreError> {
        use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update as UpdateItem};
        let built = |e: aws_sdk_dynamodb::error::BuildError| {
            StoreError::Unavailable(format!("transaction : {e}"))
        };
        let dossier = UpdateItem::builder()
            .table_name(&self.table)
            .key("id", s(id.as_str()))
            .update_expression(x.update_expression())
            .condition_expression(condition)
            .set_expression_attribute_values(Some(x.values.clone()).filter(|v| !v.is_empty()))
            .build()
            .map_err(built)?;
        let mut items = vec![TransactWriteItem::builder().update(dossier).build()];
        for (code, version) in &x.superseded_codes {
            let index = UpdateItem::builder()
                .table_name(&self.table)
                .key("id", s(&format!("{CODE_ITEM_PREFIX}{code}")))
                .update_expression("SET dossier = :d, version = :v")
                .expression_attribute_values(":d", s(id.as_str()))
                .expression_attribute_values(":v", n(i64::from(*version)))
                .build()
                .map_err(built)?;
            items.push(TransactWriteItem::builder().update(index).build());
        }
        for (journal, number, entries) in x.pages {
            let page = Put::builder()
                .table_name(&self.table)
                .item("id", s(&page_key(id, journal, number)))
                .item("dossier", s(id.as_str()))
                .item("journal", s(journal.attribute()))
                .item("page", n(i64::from(number)))
                .item("entrees", entries)
                .build()
                .map_err(built)?;
            items.push(TransactWriteItem::builder().put(page).build());
        }
        Ok(items)
    }

    async fn transact(
        &self,
        items: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    ) -> Result<(), StoreError> {
        // One token per write: the SDK's retry of a transaction whose answer was lost is then
        // recognised by DynamoDB (idempotent for ten minutes) instead of failing its condition.
        let token = hex::encode(rand::random::<[u8; 16]>());
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(token)
            .send()
            .await
            .map_err(map_transaction_err)?;
        Ok(())
    }

    /// The item of `key` (a consistent read).
    pub(super) async fn get_item(
        &self,
        key: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_err)?;
        Ok(out.item)
    }

    /// Writes `item` whole, unconditionally.
    pub(super) async fn put_item(
        &self,
        item: HashMap<String, AttributeValue>,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    /// Deletes the item of `key`, unconditionally.
    pub(super) async fn delete_item(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(key))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    /// The items of these keys (consistent reads; absent ones are left out), 100 keys per
    /// BatchGetItem, the keys it leaves unprocessed asked again (ten times at most).
    async fn batch_get(
        &self,
        keys: &[String],
        what: &str,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut items = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(
                        chunk
                            .iter()
                            .map(|k| HashMap::from([("id".to_string(), s(k))]))
                            .collect(),
                    ))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Unavailable(format!("lecture : {e}")))?,
            );
            for _ in 0..10 {
                let Some(request) = pending.take() else {
                    break;
                };
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(map_err)?;
                if let Some(found) = out.responses().and_then(|r| r.get(&self.table)) {
                    items.extend(found.iter().cloned());
                }
                pending = out
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
            }
            if pending.is_some() {
                return Err(StoreError::Unavailable(format!(
                    "lecture inachevée après dix essais : {what}"
                )));
            }
        }
        Ok(items)
    }
}

/// The item of page `number` of a dossier's journal.
fn page_key(id: &DossierId, journal: Journal, number: u32) -> String {
    format!("{PAGE_PREFIX}{id}#{}#{number}", journal.attribute())
}

pub(super) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

pub(super) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn av<T: serde::Serialize>(v: &T) -> Result<AttributeValue, StoreError> {
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

/// The lease value a claim writes (unique per attempt).
fn lease_of(change: &Change) -> Option<i64> {
    change.updates.iter().find_map(|u| match u {
        Update::Lease(l) | Update::AvisBail(l) => *l,
        _ => None,
    })
}

/// A cancelled transaction is a Conflict when a condition failed or another transaction held
/// one of its items (`DossierStore::write_bounded` reads the dossier again and retries),
/// anything else Unavailable.
fn map_transaction_err<R>(
    err: SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> StoreError
where
    R: std::fmt::Debug + 'static,
{
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    if let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error() {
        let condition_failed = e.cancellation_reasons().iter().any(|r| {
            matches!(
                r.code(),
                Some("ConditionalCheckFailed" | "TransactionConflict")
            )
        }) || e.message().is_some_and(|m| {
            m.contains("ConditionalCheckFailed") || m.contains("TransactionConflict")
        });
        if condition_failed {
            return StoreError::Conflict;
        }
    }
    StoreError::Unavailable(describe(&err))
}

#[async_trait]
impl DossierStore for DynamoDossiers {
    fn stored_bytes(&self, r: &DossierRecord) -> Result<usize, StoreError> {
        super::item_size::of(r).map_err(|e| StoreError::Unavailable(format!("sérialisation : {e}")))
    }

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
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await
            .map_err(map_err);
        match res {
            // Ids are 128 random bits: a conflict is our own write whose answer was lost and
            // that the SDK retried. The jeton hash, unique to this creation, recognises it.
            Err(StoreError::Conflict) => match self.get(&record.id).await? {
                Some(stored) if stored.jeton_sha256 == record.jeton_sha256 => Ok(()),
                _ => Err(StoreError::Conflict),
            },
            r => r.map(|_| ()),
        }
    }

    async fn get(&self, id: &DossierId) -> Result<Option<DossierRecord>, StoreError> {
        match self.get_item(id.as_str()).await? {
            // Items without a statut (the counter) are not dossiers.
            Some(item) if item.contains_key("statut") => serde_dynamo::from_item(item)
                .map(Some)
                .map_err(|e| StoreError::Unavailable(format!("dossier {id} illisible : {e}"))),
            _ => Ok(None),
        }
    }

    async fn write(&self, id: &DossierId, change: &Change) -> Result<(), StoreError> {
        let (condition, x) = Expression::of(change)?;
        if !x.superseded_codes.is_empty() || !x.pages.is_empty() {
            let items = self.transaction_items(id, condition, x)?;
            return self.transact(items).await;
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id.as_str()))
            .update_expression(x.update_expression())
            .condition_expression(condition)
            // DynamoDB refuses an empty ExpressionAttributeValues (a release has no value).
            .set_expression_attribute_values(Some(x.values).filter(|v| !v.is_empty()))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn write_both(
        &self,
        first: (&DossierId, &Change),
        second: (&DossierId, &Change),
    ) -> Result<(), StoreError> {
        let mut items = Vec::new();
        for (id, change) in [first, second] {
            let (condition, x) = Expression::of(change)?;
            items.extend(self.transaction_items(id, condition, x)?);
        }
        self.transact(items).await
    }

    async fn delete(&self, id: &DossierId, change: &Change) -> Result<(), StoreError> {
        let mut x = Expression::default();
        let condition = x.condition(&change.condition);
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(id.as_str()))
            .condition_expression(condition)
            .set_expression_attribute_values(Some(x.values).filter(|v| !v.is_empty()))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn take_quota(&self, quota: &Quota) -> Result<(), StoreError> {
        // One item per quota and window; the TTL removes it a day after the window.
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(&format!("#quota#{}", quota.key)))
            .update_expression("ADD pris :un SET expire_le = :fin")
            .condition_expression("attribute_not_exists(pris) OR pris < :limite")
            .expression_attribute_values(":un", n(1))
            .expression_attribute_values(":fin", n(quota.window_end + 86_400))
            .expression_attribute_values(":limite", n(i64::from(quota.limit)))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn remember(&self, key: &str, until: i64) -> Result<(), StoreError> {
        self.put_item(HashMap::from([
            ("id".to_string(), s(&format!("#souvenir#{key}"))),
            ("expire_le".to_string(), n(until)),
        ]))
        .await
    }

    async fn remembers(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.get_item(&format!("#souvenir#{key}")).await?.is_some())
    }

    async fn claim_acknowledgement(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        let id = &r.id;
        debug_assert!(change.step == Step::ClaimAcknowledgement);
        match self.write_bounded(r, change).await {
            // The condition failed: either someone else holds the lease, or our own write went
            // through and its answer was lost (the SDK retried it). The lease value is unique
            // to this attempt, so finding it stored means the lease is ours.
            Err(StoreError::Conflict) => {
                let until = lease_of(change);
                match self.get(id).await? {
                    Some(d) if d.accuse.is_none() && until.is_some() && d.accuse_bail == until => {
                        Ok(())
                    }
                    _ => Err(StoreError::Conflict),
                }
            }
            r => r,
        }
    }

    async fn claim_acceptance_email(
        &self,
        r: &DossierRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        let id = &r.id;
        debug_assert!(change.step == Step::ClaimAcceptanceEmail);
        match self.write_bounded(r, change).await {
            // As for the acknowledgement: our own lease, written, its answer lost.
            Err(StoreError::Conflict) => {
                let until = lease_of(change);
                match self.get(id).await? {
                    Some(d)
                        if until.is_some()
                            && d.avis_acceptation
                                .as_ref()
                                .is_some_and(|a| a.envoi.is_none() && a.bail == until) =>
                    {
                        Ok(())
                    }
                    _ => Err(StoreError::Conflict),
                }
            }
            r => r,
        }
    }

    async fn find_by_verification_code(
        &self,
        code: &str,
    ) -> Result<Option<DossierRecord>, StoreError> {
        // A current code (most checks: the printed convention in force): the index.
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
        if let Some(id) = out
            .items()
            .first()
            .and_then(|i| i.get("id"))
            .and_then(|v| v.as_s().ok())
            .and_then(|id| DossierId::parse(id))
        {
            return self.get(&id).await;
        }
        // A superseded version's code: its own item names the dossier.
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(&format!("{CODE_ITEM_PREFIX}{code}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_err)?;
        match item
            .item()
            .and_then(|i| i.get("dossier"))
            .and_then(|v| v.as_s().ok())
            .and_then(|id| DossierId::parse(id))
        {
            Some(id) => self.get(&id).await,
            None => Ok(None),
        }
    }

    async fn archived_pages(
        &self,
        id: &DossierId,
        archives: &Archives,
    ) -> Result<Vec<Page>, StoreError> {
        let keys: Vec<String> = Journal::ALL
            .into_iter()
            .flat_map(|j| (0..archives.of(j).pages).map(move |p| page_key(id, j, p)))
            .collect();
        self.batch_get(&keys, "pages du journal")
            .await?
            .iter()
            .map(read_page)
            .collect()
    }

    async fn erase_archives(
        &self,
        id: &DossierId,
        archives: &Archives,
    ) -> Result<usize, StoreError> {
        let mut erased = 0;
        for j in Journal::ALL {
            for p in 0..archives.of(j).pages {
                let out = self
                    .client
                    .delete_item()
                    .table_name(&self.table)
                    .key("id", s(&page_key(id, j, p)))
                    .return_values(ReturnValue::AllOld)
                    .send()
                    .await
                    .map_err(map_err)?;
                // moto answers an empty map for an absent item.
                erased += usize::from(out.attributes().is_some_and(|a| !a.is_empty()));
            }
        }
        Ok(erased)
    }

    async fn pack_school_lists(&self, r: &DossierRecord) -> Result<bool, StoreError> {
        let Some(depot) = &r.depot else {
            return Ok(false);
        };
        let mut values = HashMap::from([
            (":l".to_string(), s("L")),
            (":ecoles".to_string(), s(&packed::pack(&depot.ecoles))),
        ]);
        // Each list written as the record read it, if one of them is still a plain list (the
        // `attribute_type` tests), under the revision read: nothing changed it meanwhile.
        let mut set = vec!["depot.ecoles = :ecoles".to_string()];
        let mut plain = vec!["attribute_type(depot.ecoles, :l)".to_string()];
        if let Some(p) = &r.perimetre {
            values.insert(":perimetre".into(), s(&packed::pack(p)));
            set.push("perimetre = :perimetre".into());
            plain.push("attribute_type(perimetre, :l)".into());
        }
        if let Some(a) = &r.avenant {
            values.insert(":avenant".into(), s(&packed::pack(&a.perimetre)));
            set.push("avenant.perimetre = :avenant".into());
            plain.push("attribute_type(avenant.perimetre, :l)".into());
        }
        if !r.avenants.is_empty() {
            values.insert(":avenants".into(), av(&r.avenants)?);
            set.push("avenants = :avenants".into());
            for (i, a) in r.avenants.iter().enumerate() {
                for (list, field) in [(&a.ajouts, "ajouts"), (&a.retraits, "retraits")] {
                    if !list.is_empty() {
                        plain.push(format!("attribute_type(avenants[{i}].{field}, :l)"));
                    }
                }
            }
        }
        let revision = if r.revision == 0 {
            "attribute_not_exists(revision)".to_string()
        } else {
            values.insert(":revision".into(), n(r.revision as i64));
            "revision = :revision".to_string()
        };
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(r.id.as_str()))
            .update_expression(format!("SET {}", set.join(", ")))
            .condition_expression(format!("{revision} AND ({})", plain.join(" OR ")))
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(map_err);
        match res {
            Ok(_) => Ok(true),
            // Nothing plain left, or the dossier changed: the record read again says which.
            Err(StoreError::Conflict) => match self.get(&r.id).await? {
                Some(fresh) if fresh.revision == r.revision => Ok(false),
                _ => Err(StoreError::Conflict),
            },
            Err(e) => Err(e),
        }
    }

    async fn scan_dossiers(
        &self,
        cursor: Option<&str>,
    ) -> Result<(Vec<DossierRecord>, Option<String>), StoreError> {
        let start = cursor.map(|c| HashMap::from([("id".to_string(), s(c))]));
        let page = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("attribute_exists(statut)")
            .set_exclusive_start_key(start)
            .limit(100)
            .send()
            .await
            .map_err(map_err)?;
        let out = dossiers_in(page.items())?;
        let next = page
            .last_evaluated_key()
            .and_then(|k| k.get("id"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        Ok((out, next))
    }

    /// A scan of the table, once a day: drafts are on no index (the list index holds deposited
    /// dossiers), and the confirmed ones due for a warning are few.
    async fn drafts_expiring(&self, before: i64) -> Result<Vec<DossierRecord>, StoreError> {
        let values = HashMap::from([
            (
                ":b".to_string(),
                s(crate::domain::dossier::Statut::Brouillon.as_str()),
            ),
            (":t".to_string(), n(before)),
        ]);
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(
                    "statut = :b AND expire_le < :t AND attribute_exists(confirmation_signataire)",
                )
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(map_err)?;
            out.extend(dossiers_in(page.items())?);
            match page.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return Ok(out),
            }
        }
    }

    async fn list_deposited(
        &self,
        filter: &ListFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<DossierRecord>, Option<String>), StoreError> {
        let (items, next) = self.query_deposited(filter, cursor, limit).await?;
        Ok((self.dossiers_of(&items).await?, next))
    }

    async fn list_rows(
        &self,
        filter: &ListFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Ligne>, Option<String>), StoreError> {
        let (items, next) = self.query_deposited(filter, cursor, limit).await?;
        let mut rows: Vec<Option<Ligne>> = items
            .iter()
            .map(|i| {
                i.get("ligne")
                    .cloned()
                    .map(serde_dynamo::from_attribute_value)
            })
            .map(|l| l.transpose())
            .collect::<Result<_, _>>()
            .map_err(|e| StoreError::Unavailable(format!("ligne de la liste illisible : {e}")))?;
        // Dossiers stored before rows existed (until `admin compacter-journaux`): read whole.
        let legacy: Vec<Item> = items
            .iter()
            .zip(&rows)
            .filter(|(_, row)| row.is_none())
            .map(|(i, _)| i.clone())
            .collect();
        if !legacy.is_empty() {
            let mut read = self.dossiers_of(&legacy).await?.into_iter().peekable();
            for (item, row) in items.iter().zip(rows.iter_mut()) {
                if row.is_none()
                    && read
                        .peek()
                        .is_some_and(|r| Some(r.id.as_str()) == key_of(item))
                {
                    *row = read.next().map(|r| Ligne::of(&r));
                }
            }
        }
        Ok((rows.into_iter().flatten().collect(), next))
    }
}

impl DynamoDossiers {
    /// One page of the list index's items (the row and the filtered attributes,
    /// `LIST_ATTRIBUTES`) under the filter, and the cursor after it.
    async fn query_deposited(
        &self,
        filter: &ListFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let mut key_cond = "liste = :liste".to_string();
        let mut values: HashMap<String, AttributeValue> =
            HashMap::from([(":liste".into(), s(LISTE_DEPOSES))]);
        match (&filter.depose_du, &filter.depose_au) {
            (Some(du), Some(au)) => {
                key_cond.push_str(" AND depose_le BETWEEN :du AND :au");
                values.insert(":du".into(), s(du));
                values.insert(":au".into(), s(&format!("{au}T99")));
            }
            (Some(du), None) => {
                key_cond.push_str(" AND depose_le >= :du");
                values.insert(":du".into(), s(du));
            }
            (None, Some(au)) => {
                key_cond.push_str(" AND depose_le <= :au");
                values.insert(":au".into(), s(&format!("{au}T99")));
            }
            (None, None) => {}
        }
        let mut filters = Vec::new();
        if !filter.statuts.is_empty() {
            let names: Vec<String> = (0..filter.statuts.len())
                .map(|i| format!(":st{i}"))
                .collect();
            for (n, st) in names.iter().zip(&filter.statuts) {
                values.insert(n.clone(), s(st.as_str()));
            }
            filters.push(format!("statut IN ({})", names.join(", ")));
        }
        if filter.gar_en_attente {
            // Accepted, with fewer schools open than the perimeter has (`Update::Gar` keeps
            // `gar_ouvertes`; none before the editor's first answer).
            // (The index holds no deposit: the row counts its schools. A dossier stored
            // before rows existed is kept, rather than hidden, until the migration.)
            filters.push(
                "statut = :gar_accepte AND (attribute_not_exists(gar_ouvertes) OR \
                 attribute_not_exists(ligne) OR gar_ouvertes < ligne.ecoles)"
                    .into(),
            );
            values.insert(
                ":gar_accepte".into(),
                s(crate::domain::dossier::Statut::Accepte.as_str()),
            );
        }
        if filter.correction_demandee {
            filters.push("attribute_exists(correction_demandee)".into());
        }
        match filter.nature {
            // A convention's record has no `nature` (the default is not written).
            Some(crate::domain::dossier::NatureDossier::Convention) => {
                filters.push("attribute_not_exists(nature)".into())
            }
            Some(n) => {
                filters.push("nature = :nature".into());
                values.insert(":nature".into(), av(&n)?);
            }
            None => {}
        }
        if let Some(d) = &filter.fin_avant {
            // Accepted conventions in force whose term ends by that day (`Update::Echeance`).
            filters.push(
                "statut = :fin_accepte AND echeance.fin_le <= :fin AND \
                 attribute_not_exists(resiliation)"
                    .into(),
            );
            values.insert(":fin".into(), s(d));
            values.insert(
                ":fin_accepte".into(),
                s(crate::domain::dossier::Statut::Accepte.as_str()),
            );
        }
        if let Some(scope) = &filter.perimetre {
            // Dossiers deposited before `departement` was stored belong to their schools'
            // département (`Depot::departement`): close enough for the filter, which then lets
            // through a dossier with a school there; `http::instructeur::scope` checks each.
            let names: Vec<String> = (0..scope.len()).map(|i| format!(":p{i}")).collect();
            let any_school: Vec<String> = names
                .iter()
                .map(|n| format!("contains(departements, {n})"))
                .collect();
            filters.push(if scope.is_empty() {
                "attribute_exists(aucun_perimetre)".into()
            } else {
                format!(
                    "(departement IN ({}) OR (attribute_not_exists(departement) AND ({})))",
                    names.join(", "),
                    any_school.join(" OR ")
                )
            });
            for (n, code) in names.iter().zip(scope) {
                values.insert(n.clone(), s(code));
            }
        }
        if let Some(d) = &filter.departement {
            filters.push("contains(departements, :dep)".into());
            values.insert(":dep".into(), s(d));
        }
        if let Some(c) = &filter.commune {
            filters.push("contains(codes_insee, :commune)".into());
            values.insert(":commune".into(), s(c));
        }
        if let Some(t) = &filter.texte {
            for (i, word) in crate::reference::search_key(t)
                .split(' ')
                .filter(|w| !w.is_empty())
                .enumerate()
            {
                filters.push(format!("contains(recherche, :w{i})"));
                values.insert(format!(":w{i}"), s(word));
            }
        }
        let mut start = match cursor {
            Some(c) => Some(decode_cursor(c).ok_or(StoreError::Conflict)?),
            None => None,
        };
        let mut out = Vec::new();
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(DEPOSIT_INDEX)
                .key_condition_expression(&key_cond)
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(filter.chronologique)
                .limit((limit.saturating_sub(out.len())).clamp(1, 100) as i32)
                .set_exclusive_start_key(start.take());
            if !filters.is_empty() {
                q = q.filter_expression(filters.join(" AND "));
            }
            let page = q.send().await.map_err(map_err)?;
            out.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(k) if out.len() < limit => start = Some(k.clone()),
                Some(k) => return Ok((out, Some(encode_cursor(k)))),
                None => return Ok((out, None)),
            }
        }
    }

    /// The dossiers of these index items, in their order, read whole and consistently
    /// (BatchGetItem); one removed meanwhile is left out.
    async fn dossiers_of(&self, items: &[Item]) -> Result<Vec<DossierRecord>, StoreError> {
        let keys: Vec<String> = items
            .iter()
            .filter_map(key_of)
            .map(str::to_string)
            .collect();
        let mut found: HashMap<String, DossierRecord> =
            dossiers_in(&self.batch_get(&keys, "dossiers de la liste").await?)?
                .into_iter()
                .map(|r| (r.id.as_str().to_string(), r))
                .collect();
        Ok(keys.iter().filter_map(|k| found.remove(k)).collect())
    }
}

type Item = HashMap<String, AttributeValue>;

/// An item's `id`.
fn key_of(item: &Item) -> Option<&str> {
    item.get("id")
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// Cursors are the index's LastEvaluatedKey, as opaque base64url JSON.
fn encode_cursor(key: &HashMap<String, AttributeValue>) -> String {
    use base64::Engine;
    let plain: std::collections::BTreeMap<&str, &str> = key
        .iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str())))
        .collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&plain).unwrap_or_default())
}

fn decode_cursor(c: &str) -> Option<HashMap<String, AttributeValue>> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()?;
    let plain: std::collections::BTreeMap<String, String> = serde_json::from_slice(&bytes).ok()?;
    let allowed = ["id", "liste", "depose_le"];
    if plain.len() != 3 || !plain.keys().all(|k| allowed.contains(&k.as_str())) {
        return None;
    }
    Some(
        plain
            .into_iter()
            .map(|(k, v)| (k, AttributeValue::S(v)))
            .collect(),
    )
}

/// The dossiers of a page of scanned or queried items.
fn dossiers_in(
    items: &[HashMap<String, AttributeValue>],
) -> Result<Vec<DossierRecord>, StoreError> {
    items
        .iter()
        .map(|item| {
            serde_dynamo::from_item(item.clone())
                .map_err(|e| StoreError::Unavailable(format!("dossier illisible : {e}")))
        })
        .collect()
}

/// A page item read back.
fn read_page(item: &HashMap<String, AttributeValue>) -> Result<Page, StoreError> {
    let bad = || StoreError::Unavailable("page de journal illisible".into());
    let journal = item
        .get("journal")
        .and_then(|v| v.as_s().ok())
        .and_then(|j| Journal::parse(j))
        .ok_or_else(bad)?;
    let number = item
        .get("page")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(bad)?;
    let list = item.get("entrees").cloned().ok_or_else(bad)?;
    fn entries<T: serde::de::DeserializeOwned>(list: AttributeValue) -> Option<Vec<T>> {
        serde_dynamo::from_attribute_value(list).ok()
    }
    let entries = match journal {
        Journal::Historique => entries(list).map(Entries::Historique),
        Journal::Messages => entries(list).map(Entries::Messages),
        Journal::WebhookTentatives => entries(list).map(Entries::WebhookTentatives),
    }
    .ok_or_else(bad)?;
    Ok(Page { number, entries })
}
