//! The figures' counters in the dossiers' table (`domain::statistics`), as items of their own:
//!
//! - `#statistiques#<département>`: `departement` and one number per statut and per tally
//!   (`ecoles_conventionnees`…), changed by ADD only;
//! - `#statistiques`: `departements`, the set of départements ever counted (the académie-wide
//!   figures sum them);
//! - `#compte#ensemble#<tally>#<département>#<key>`: `dossiers`, the set of the dossiers
//!   citing the key (a SIRET, a UAI), with `tally`, `departement` and `cle`;
//! - `#compte#dossier#<id>`: what was counted for the dossier (`Counted`), removed by the TTL
//!   a week after the dossier left the figures (the stream keeps records for a day).
//!
//! None has a `statut`: the stream filters of every consumer leave them out.

use super::{av, map_err, n, s, DynamoDossiers};
use crate::domain::dossier::Statut;
use crate::domain::ids::DossierId;
use crate::domain::statistics::{Counted, Figures, Membership, Repair, Tallies, Tally};
use crate::ports::{CounterStore, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const FIGURES_PREFIX: &str = "#statistiques#";
const INDEX_ID: &str = "#statistiques";
const MEMBERS_PREFIX: &str = "#compte#ensemble#";
const COUNTED_PREFIX: &str = "#compte#dossier#";
/// How long a dossier's counted item outlives the dossier: longer than the stream keeps a
/// record (24 hours), so that a late replay still finds it.
const COUNTED_KEPT_SECONDS: i64 = 7 * 86_400;

pub(super) type Item = HashMap<String, AttributeValue>;

fn figures_key(departement: &str) -> String {
    format!("{FIGURES_PREFIX}{departement}")
}

fn members_key(tally: Tally, departement: &str, key: &str) -> String {
    format!("{MEMBERS_PREFIX}{}#{departement}#{key}", tally.as_str())
}

fn counted_key(id: &DossierId) -> String {
    format!("{COUNTED_PREFIX}{id}")
}

fn built(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Unavailable(format!("transaction : {e}"))
}

fn number(item: &Item, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(0, |v| v.max(0) as u64)
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn dossier_set(item: &Item) -> BTreeSet<DossierId> {
    item.get("dossiers")
        .and_then(|v| v.as_ss().ok())
        .into_iter()
        .flatten()
        .filter_map(|d| DossierId::parse(d))
        .collect()
}

/// A `#statistiques#<département>` item read as figures (absent counts are zeros).
fn read_figures(item: &Item) -> Figures {
    Figures {
        par_statut: Statut::DEPOSITED
            .iter()
            .map(|st| (*st, number(item, st.as_str())))
            .collect(),
        distinct: Tally::ALL
            .iter()
            .map(|t| (*t, number(item, t.as_str())))
            .collect(),
    }
}

fn read_counted(item: Item) -> Result<Counted, StoreError> {
    serde_dynamo::from_item(item)
        .map_err(|e| StoreError::Unavailable(format!("compteur de dossier illisible : {e}")))
}

/// The counted item of `id` as a whole item (the TTL set once it left the figures).
fn counted_item(id: &DossierId, counted: &Counted) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(counted)
        .map_err(|e| StoreError::Unavailable(format!("sérialisation : {e}")))?;
    item.insert("id".into(), s(&counted_key(id)));
    if counted.contribution.is_none() {
        let until = chrono::Utc::now().timestamp() + COUNTED_KEPT_SECONDS;
        item.insert("expire_le".into(), n(until));
    }
    Ok(item)
}

impl DynamoDossiers {
    /// One change of a département's figures: ADD of each (name, delta).
    fn figures_update(
        &self,
        departement: &str,
        deltas: &[(&str, i64)],
    ) -> Result<Update, StoreError> {
        let mut b = Update::builder()
            .table_name(&self.table)
            .key("id", s(&figures_key(departement)))
            .expression_attribute_values(":dep", s(departement));
        let mut adds = Vec::new();
        for (i, (name, delta)) in deltas.iter().enumerate() {
            adds.push(format!("#a{i} :a{i}"));
            b = b
                .expression_attribute_names(format!("#a{i}"), *name)
                .expression_attribute_values(format!(":a{i}"), n(*delta));
        }
        b.update_expression(format!("SET departement = :dep ADD {}", adds.join(", ")))
            .build()
            .map_err(built)
    }

    /// The membership's set: a conditional update of it (`action` on `dossiers`), alone or
    /// with its département's count moved by `delta` in the same transaction.
    async fn member_write(
        &self,
        id: &DossierId,
        m: &Membership,
        action: &str,
        condition: &str,
        delta: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("id", s(&members_key(m.tally, &m.departement, &m.key)))
            .update_expression(format!(
                "SET tally = :t, departement = :dep, cle = :k {action} dossiers :d"
            ))
            .condition_expression(condition)
            .expression_attribute_values(":t", s(m.tally.as_str()))
            .expression_attribute_values(":dep", s(&m.departement))
            .expression_attribute_values(":k", s(&m.key))
            .expression_attribute_values(":d", AttributeValue::Ss(vec![id.to_string()]));
        // DynamoDB refuses values an expression does not use: the condition's only.
        for (name, value) in [(":ds", s(id.as_str())), (":zero", n(0)), (":un", n(1))] {
            if condition.contains(name) {
                update = update.expression_attribute_values(name, value);
            }
        }
        let update = update.build().map_err(built)?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        if let Some(delta) = delta {
            let figures = self.figures_update(&m.departement, &[(m.tally.as_str(), delta)])?;
            items.push(TransactWriteItem::builder().update(figures).build());
        }
        self.transact(items).await
    }

    /// The addition of départements to the index of those counted (an idempotent ADD).
    fn index_update(&self, departements: Vec<String>) -> Result<Update, StoreError> {
        Update::builder()
            .table_name(&self.table)
            .key("id", s(INDEX_ID))
            .update_expression("ADD departements :d")
            .expression_attribute_values(":d", AttributeValue::Ss(departements))
            .build()
            .map_err(built)
    }

    /// Adds départements to the index of those counted.
    async fn index_departements(&self, departements: Vec<String>) -> Result<(), StoreError> {
        if departements.is_empty() {
            return Ok(());
        }
        let index = self.index_update(departements)?;
        self.transact(vec![TransactWriteItem::builder().update(index).build()])
            .await
    }
}

#[async_trait]
impl CounterStore for DynamoDossiers {
    async fn counted(&self, id: &DossierId) -> Result<Option<Counted>, StoreError> {
        self.get_item(&counted_key(id))
            .await?
            .map(read_counted)
            .transpose()
    }

    async fn apply_membership(&self, id: &DossierId, m: &Membership) -> Result<(), StoreError> {
        // First member (or last one leaving): the set and the count in one transaction. Else
        // the set alone, on condition that it is not at that edge. Either failing means
        // another dossier moved the set meanwhile, or this one is already (not) in it: read it.
        // (`size` is false on an absent set; an emptied set is absent on DynamoDB, empty on
        // some emulators: both are handled.)
        let (action, edge, inside, delta) = if m.joins {
            (
                "ADD",
                "(attribute_not_exists(dossiers) OR size(dossiers) = :zero)",
                "size(dossiers) > :zero AND NOT contains(dossiers, :ds)",
                1,
            )
        } else {
            (
                "DELETE",
                "size(dossiers) = :un AND contains(dossiers, :ds)",
                "size(dossiers) > :un AND contains(dossiers, :ds)",
                -1,
            )
        };
        let key = members_key(m.tally, &m.departement, &m.key);
        for _ in 0..10 {
            match self.member_write(id, m, action, edge, Some(delta)).await {
                Err(StoreError::Conflict) => {}
                other => return other,
            }
            match self.member_write(id, m, action, inside, None).await {
                Err(StoreError::Conflict) => {}
                other => return other,
            }
            let cited = self
                .get_item(&key)
                .await?
                .is_some_and(|item| dossier_set(&item).contains(id));
            if cited == m.joins {
                return Ok(());
            }
        }
        Err(StoreError::Conflict)
    }

    async fn commit(
        &self,
        id: &DossierId,
        previous: Option<&Counted>,
        counted: &Counted,
        statuts: &BTreeMap<String, BTreeMap<Statut, i64>>,
    ) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::Put;
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(counted_item(id, counted)?));
        put = match previous {
            None => put.condition_expression("attribute_not_exists(id)"),
            Some(p) => put
                .condition_expression("revision = :r")
                .expression_attribute_values(":r", av(&p.revision)?),
        };
        let mut items = vec![TransactWriteItem::builder()
            .put(put.build().map_err(built)?)
            .build()];
        for (departement, deltas) in statuts {
            let deltas: Vec<(&str, i64)> = deltas.iter().map(|(st, d)| (st.as_str(), *d)).collect();
            let update = self.figures_update(departement, &deltas)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        // A département this dossier was not counted in before: the académie-wide figures
        // must read it. In the same transaction: once the counted item is written, a replay of
        // the record writes nothing, so a separate write lost here would never be made.
        let departement = |c: Option<&Counted>| {
            c.and_then(|c| c.contribution.as_ref())
                .map(|c| c.departement.clone())
        };
        if let Some(d) = departement(Some(counted)) {
            if departement(previous).as_ref() != Some(&d) {
                let index = self.index_update(vec![d])?;
                items.push(TransactWriteItem::builder().update(index).build());
            }
        }
        self.transact(items).await
    }

    async fn figures(&self, departements: Option<&[String]>) -> Result<Figures, StoreError> {
        let codes: Vec<String> = match departements {
            Some(d) => d.to_vec(),
            None => self
                .get_item(INDEX_ID)
                .await?
                .and_then(|i| i.get("departements").and_then(|v| v.as_ss().ok()).cloned())
                .unwrap_or_default(),
        };
        let keys: Vec<String> = codes.iter().map(|d| figures_key(d)).collect();
        let mut out = Figures::default();
        for item in self.batch_get(&keys, "chiffres des départements").await? {
            out.add(&read_figures(&item));
        }
        Ok(out)
    }

    async fn tallies(&self) -> Result<Tallies, StoreError> {
        let mut out = Tallies::default();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(id, :c) OR begins_with(id, :f)")
                .expression_attribute_values(":c", s("#compte#"))
                .expression_attribute_values(":f", s(FIGURES_PREFIX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(map_err)?;
            for item in page.items() {
                let key = text(item, "id").unwrap_or_default();
                if key.starts_with(FIGURES_PREFIX) {
                    let d = text(item, "departement").unwrap_or_default().to_string();
                    out.figures.insert(d, read_figures(item));
                } else if let Some(id) = key.strip_prefix(COUNTED_PREFIX) {
                    let id = DossierId::parse(id).ok_or_else(|| {
                        StoreError::Unavailable(format!("compteur de dossier mal nommé : {key}"))
                    })?;
                    out.counted.insert(id, read_counted(item.clone())?);
                } else if key.starts_with(MEMBERS_PREFIX) {
                    let set = dossier_set(item);
                    let tally = text(item, "tally").and_then(Tally::parse);
                    let (Some(tally), Some(d), Some(k)) =
                        (tally, text(item, "departement"), text(item, "cle"))
                    else {
                        continue;
                    };
                    if !set.is_empty() {
                        out.members
                            .insert((tally, d.to_string(), k.to_string()), set);
                    }
                }
            }
            match page.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return Ok(out),
            }
        }
    }

    async fn repair(&self, repair: &Repair) -> Result<(), StoreError> {
        for (d, f) in &repair.figures {
            let mut item = Item::from([
                ("id".to_string(), s(&figures_key(d))),
                ("departement".to_string(), s(d)),
            ]);
            for st in Statut::DEPOSITED {
                let v = f.par_statut.get(&st).copied().unwrap_or(0);
                item.insert(st.as_str().into(), av(&v)?);
            }
            for t in Tally::ALL {
                item.insert(t.as_str().into(), av(&f.count(t))?);
            }
            self.put_item(item).await?;
        }
        self.index_departements(repair.figures.keys().cloned().collect())
            .await?;
        for ((tally, d, k), set) in &repair.members {
            let key = members_key(*tally, d, k);
            match set {
                Some(set) if !set.is_empty() => {
                    self.put_item(Item::from([
                        ("id".to_string(), s(&key)),
                        ("tally".to_string(), s(tally.as_str())),
                        ("departement".to_string(), s(d)),
                        ("cle".to_string(), s(k)),
                        (
                            "dossiers".to_string(),
                            AttributeValue::Ss(set.iter().map(|i| i.to_string()).collect()),
                        ),
                    ]))
                    .await?
                }
                _ => self.delete_item(&key).await?,
            }
        }
        for (id, c) in &repair.counted {
            match c {
                Some(c) => self.put_item(counted_item(id, c)?).await?,
                None => self.delete_item(&counted_key(id)).await?,
            }
        }
        Ok(())
    }
}
