//! Dossiers in DynamoDB: one item per dossier, conditional writes for every state change.

use super::describe;
use crate::domain::deposit::Depot;
use crate::domain::dossier::WebhookTentative;
use crate::domain::dossier::{
    AccuseRecord, ConventionRecord, DossierRecord, Etape, Evenement, Message, Statut,
};
use crate::domain::draft::Draft;
use crate::ports::{DossierStore, ListFilter, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

/// Item holding the last dossier number.
const COUNTER_ID: &str = "#compteur-numero";
/// Sparse index on `code_verification`, for the public verification route.
pub const VERIFICATION_INDEX: &str = "par-code-verification";
/// Sparse index of deposited dossiers by deposit time (`liste` = "depose", `depose_le`).
pub const DEPOSIT_INDEX: &str = "par-depot";
const LISTE_DEPOSES: &str = "depose";

pub struct DynamoDossiers {
    client: Client,
    table: String,
}

/// Appends `:evt` (set by [`with_event`]) to the dossier's audit trail.
const APPEND_EVENT: &str = "historique = list_append(if_not_exists(historique, :vide), :evt)";

/// The values [`APPEND_EVENT`] refers to.
fn with_event(
    update: UpdateItemFluentBuilder,
    evenement: &Evenement,
) -> Result<UpdateItemFluentBuilder, StoreError> {
    Ok(update
        .expression_attribute_values(":vide", AttributeValue::L(Vec::new()))
        .expression_attribute_values(":evt", av(&vec![evenement])?))
}

impl DynamoDossiers {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoDossiers {
            client,
            table: table.into(),
        }
    }

    /// An update of one dossier.
    fn update(&self, id: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

/// The words an instructeur searches a dossier by: collectivité name and SIRET, folded.
fn search_text(depot: &Depot) -> String {
    let c = &depot.collectivite;
    crate::reference::search_key(&format!("{} {}", c.nom.as_deref().unwrap_or(""), c.siret))
}

/// A list of distinct strings, in first-seen order.
fn string_list(items: impl Iterator<Item = String>) -> AttributeValue {
    let mut seen: Vec<String> = Vec::new();
    for i in items {
        if !seen.contains(&i) {
            seen.push(i);
        }
    }
    AttributeValue::L(seen.into_iter().map(AttributeValue::S).collect())
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
        self.update(id)
            .update_expression("SET brouillon = :b, modifie_le = :now, expire_le = :exp")
            .condition_expression("statut = :brouillon")
            .expression_attribute_values(
                ":exp",
                AttributeValue::N(crate::http::dossiers::draft_expiry().to_string()),
            )
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
        let evenement = Evenement {
            le: now.to_string(),
            par: "collectivité".into(),
            action: "dossier déposé, convention signée".into(),
            detail: Some(format!("{} école(s)", depot.ecoles.len())),
        };
        let update = self
            .update(id)
            .update_expression(format!(
                "SET brouillon = :b, depot = :d, statut = :statut, etape = :etape, depose_le = :now, modifie_le = :now, \
                 liste = :liste, recherche = :recherche, codes_insee = :codes, departements = :deps, \
                 {APPEND_EVENT} REMOVE expire_le"
            ))
            .condition_expression("statut = :brouillon")
            .expression_attribute_values(":b", av(draft)?)
            .expression_attribute_values(":d", av(depot)?)
            .expression_attribute_values(":liste", s(LISTE_DEPOSES))
            .expression_attribute_values(":recherche", s(&search_text(depot)))
            .expression_attribute_values(":codes", string_list(depot.ecoles.iter().map(|e| e.code_insee.clone())))
            .expression_attribute_values(
                ":deps",
                string_list(depot.ecoles.iter().map(|e| crate::reference::departement_of(&e.code_insee))),
            )
            .expression_attribute_values(":statut", s(Statut::EnConstruction.as_str()))
            .expression_attribute_values(":etape", s(Etape::Depose.as_str()))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":brouillon", s(Statut::Brouillon.as_str()));
        with_event(update, &evenement)?
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn record_convention(&self, id: &str, c: &ConventionRecord) -> Result<bool, StoreError> {
        let r = self
            .update(id)
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
        let r = self.update(id)
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
        match done_unless_conflict(r)? {
            true => Ok(true),
            // The condition failed: either someone else holds the lease, or our own write went
            // through and its answer was lost (the SDK retried it). `until` is unique to this
            // attempt, so finding it stored means the lease is ours.
            false => Ok(self
                .get(id)
                .await?
                .is_some_and(|d| d.accuse.is_none() && d.accuse_bail == Some(until))),
        }
    }

    async fn record_acknowledgement(
        &self,
        id: &str,
        accuse: &AccuseRecord,
    ) -> Result<(), StoreError> {
        let r = self
            .update(id)
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
        self.update(id)
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

    async fn transition(
        &self,
        id: &str,
        from: Statut,
        to: Statut,
        evenement: &Evenement,
        expire_le: Option<i64>,
    ) -> Result<(), StoreError> {
        let update = self
            .update(id)
            .condition_expression("statut = :from")
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":from", s(from.as_str()))
            .expression_attribute_values(":now", s(&evenement.le));
        let update = match expire_le {
            Some(t) => update
                .update_expression(format!(
                    "SET statut = :to, modifie_le = :now, expire_le = :exp, {APPEND_EVENT}"
                ))
                .expression_attribute_values(":exp", AttributeValue::N(t.to_string())),
            None => update.update_expression(format!(
                "SET statut = :to, modifie_le = :now, {APPEND_EVENT} REMOVE expire_le"
            )),
        };
        with_event(update, evenement)?
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn add_message(
        &self,
        id: &str,
        message: &Message,
        evenement: &Evenement,
    ) -> Result<(), StoreError> {
        let update = self
            .update(id)
            .update_expression(format!(
                "SET messages = list_append(if_not_exists(messages, :vide), :m), {APPEND_EVENT}"
            ))
            .condition_expression("attribute_exists(id)")
            .expression_attribute_values(":m", av(&vec![message])?);
        with_event(update, evenement)?
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn request_webhook(&self, id: &str, evenement: &Evenement) -> Result<(), StoreError> {
        let update = self
            .update(id)
            .update_expression(format!("SET webhook_etat = :a, {APPEND_EVENT}"))
            .condition_expression("statut = :accepte")
            .expression_attribute_values(":a", s("a_envoyer"))
            .expression_attribute_values(":accepte", s(Statut::Accepte.as_str()));
        with_event(update, evenement)?
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn record_webhook_attempt(
        &self,
        id: &str,
        attempt: &WebhookTentative,
        delivered: bool,
    ) -> Result<(), StoreError> {
        let mut update =
            "SET webhook_tentatives = list_append(if_not_exists(webhook_tentatives, :vide), :t)"
                .to_string();
        if delivered {
            update.push_str(", webhook_etat = :livre");
        }
        let mut req = self
            .update(id)
            .update_expression(update)
            .condition_expression("attribute_exists(id)")
            .expression_attribute_values(":vide", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":t", av(&vec![attempt])?);
        if delivered {
            req = req.expression_attribute_values(":livre", s("livre"));
        }
        req.send().await.map_err(map_err)?;
        Ok(())
    }

    async fn delete_draft(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(id))
            .condition_expression("statut = :brouillon")
            .expression_attribute_values(":brouillon", s(Statut::Brouillon.as_str()))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn list_deposited(
        &self,
        filter: &ListFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<DossierRecord>, Option<String>), StoreError> {
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
            for item in page.items() {
                out.push(
                    serde_dynamo::from_item(item.clone())
                        .map_err(|e| StoreError::Unavailable(format!("dossier illisible : {e}")))?,
                );
            }
            match page.last_evaluated_key() {
                Some(k) if out.len() < limit => start = Some(k.clone()),
                Some(k) => return Ok((out, Some(encode_cursor(k)))),
                None => return Ok((out, None)),
            }
        }
    }
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
                        .projection_type(ProjectionType::All)
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
