//! The ports in memory, for unit tests and the in-process benchmark (`load/bench`): no AWS
//! call. The dossier store applies the domain's [`Change`] with the domain's own
//! [`Condition::holds`](crate::domain::change::Condition::holds) under one lock (a conditional
//! write), and round-trips every record it writes through serde_dynamo as the DynamoDB adapter
//! does (it keeps the record read back, so that reads cost a clone: `make bench-scale` lists
//! 20,000 dossiers through it).

use crate::domain::change::Change;
use crate::domain::dossier::DossierRecord;
use crate::domain::dossier::Statut;
use crate::domain::export::ExportJob;
use crate::domain::ids::DossierId;
use crate::domain::journal::{Archives, Page};
use crate::domain::listing::Ligne;
use crate::domain::signataire::Quota;
use crate::domain::statistics::{Counted, Figures, Membership, Repair, Tallies};
use crate::ports::{
    CounterStore, DocumentStore, DossierStore, ExportStore, Fetched, ListFilter, Mailer,
    OutgoingEmail, PutOutcome, StoreError,
};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryDossiers {
    items: Mutex<HashMap<DossierId, DossierRecord>>,
    counter: AtomicU64,
    quotas: Mutex<HashMap<String, u32>>,
    /// Journal pages by dossier, in the order written.
    pages: Mutex<HashMap<DossierId, Vec<Page>>>,
}

fn read(stored: &DossierRecord) -> Result<DossierRecord, StoreError> {
    Ok(stored.clone())
}

/// The record as DynamoDB would give it back: serialised to an item and read again.
fn round_trip(r: &DossierRecord) -> Result<DossierRecord, StoreError> {
    let item: serde_dynamo::Item = serde_dynamo::to_item(r)
        .map_err(|e| StoreError::Unavailable(format!("sérialisation : {e}")))?;
    serde_dynamo::from_item(item)
        .map_err(|e| StoreError::Unavailable(format!("dossier illisible : {e}")))
}

impl MemoryDossiers {
    /// Keeps the pages a written change moved out of its dossier.
    fn keep_pages(&self, id: &DossierId, change: &Change) {
        if change.moved().is_some() {
            let mut pages = self.pages.lock().expect("lock");
            pages
                .entry(id.clone())
                .or_default()
                .extend(change.pages().cloned());
        }
    }

    fn all(&self) -> Result<Vec<DossierRecord>, StoreError> {
        self.items
            .lock()
            .expect("lock")
            .values()
            .map(read)
            .collect()
    }
}

#[async_trait]
impl DossierStore for MemoryDossiers {
    fn stored_bytes(&self, r: &DossierRecord) -> Result<usize, StoreError> {
        super::item_size::of(r).map_err(|e| StoreError::Unavailable(format!("sérialisation : {e}")))
    }
    async fn next_numero(&self) -> Result<u64, StoreError> {
        Ok(self.counter.fetch_add(1, Ordering::SeqCst) + 1)
    }

    async fn create(&self, record: &DossierRecord) -> Result<(), StoreError> {
        let mut items = self.items.lock().expect("lock");
        if items.contains_key(&record.id) {
            return Err(StoreError::Conflict);
        }
        items.insert(record.id.clone(), round_trip(record)?);
        Ok(())
    }

    async fn get(&self, id: &DossierId) -> Result<Option<DossierRecord>, StoreError> {
        let items = self.items.lock().expect("lock");
        items.get(id).map(read).transpose()
    }

    async fn write(&self, id: &DossierId, change: &Change) -> Result<(), StoreError> {
        let mut items = self.items.lock().expect("lock");
        let Some(stored) = items.get(id) else {
            return Err(StoreError::Conflict);
        };
        let mut r = read(stored)?;
        if !change.holds(&r) {
            return Err(StoreError::Conflict);
        }
        change.apply(&mut r);
        items.insert(id.clone(), round_trip(&r)?);
        self.keep_pages(id, change);
        Ok(())
    }

    async fn write_both(
        &self,
        first: (&DossierId, &Change),
        second: (&DossierId, &Change),
    ) -> Result<(), StoreError> {
        let mut items = self.items.lock().expect("lock");
        let mut written = Vec::new();
        for (id, change) in [first, second] {
            let Some(stored) = items.get(id) else {
                return Err(StoreError::Conflict);
            };
            let mut r = read(stored)?;
            if !change.holds(&r) {
                return Err(StoreError::Conflict);
            }
            change.apply(&mut r);
            written.push((id.clone(), round_trip(&r)?));
        }
        items.extend(written);
        self.keep_pages(first.0, first.1);
        self.keep_pages(second.0, second.1);
        Ok(())
    }

    async fn delete(&self, id: &DossierId, change: &Change) -> Result<(), StoreError> {
        let mut items = self.items.lock().expect("lock");
        match items.get(id).map(read).transpose()? {
            Some(r) if change.condition.holds(&r) => {
                items.remove(id);
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn take_quota(&self, quota: &Quota) -> Result<(), StoreError> {
        let mut quotas = self.quotas.lock().expect("lock");
        let n = quotas.entry(quota.key.clone()).or_default();
        if *n >= quota.limit {
            return Err(StoreError::Conflict);
        }
        *n += 1;
        Ok(())
    }

    async fn remember(&self, key: &str, _until: i64) -> Result<(), StoreError> {
        self.quotas
            .lock()
            .expect("lock")
            .insert(format!("souvenir#{key}"), 1);
        Ok(())
    }

    async fn remembers(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .quotas
            .lock()
            .expect("lock")
            .contains_key(&format!("souvenir#{key}")))
    }

    async fn archived_pages(
        &self,
        id: &DossierId,
        _archives: &Archives,
    ) -> Result<Vec<Page>, StoreError> {
        Ok(self
            .pages
            .lock()
            .expect("lock")
            .get(id)
            .cloned()
            .unwrap_or_default())
    }

    async fn erase_archives(
        &self,
        id: &DossierId,
        _archives: &Archives,
    ) -> Result<usize, StoreError> {
        Ok(self
            .pages
            .lock()
            .expect("lock")
            .remove(id)
            .map_or(0, |p| p.len()))
    }

    /// All of them in one page.
    async fn scan_dossiers(
        &self,
        _cursor: Option<&str>,
    ) -> Result<(Vec<DossierRecord>, Option<String>), StoreError> {
        Ok((self.all()?, None))
    }

    async fn drafts_expiring(&self, before: i64) -> Result<Vec<DossierRecord>, StoreError> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|r| {
                r.statut == crate::domain::dossier::Statut::Brouillon
                    && r.expire_le.is_some_and(|t| t < before)
                    && r.confirmation_signataire.is_some()
            })
            .collect())
    }

    async fn find_by_verification_code(
        &self,
        code: &str,
    ) -> Result<Option<DossierRecord>, StoreError> {
        Ok(self
            .all()?
            .into_iter()
            .find(|r| r.versions().iter().any(|c| c.code_verification == code)))
    }

    /// One pass (a page is an offset in a sorted copy: paging through it would sort it again
    /// for each page).
    async fn all_deposited(&self, filter: &ListFilter) -> Result<Vec<DossierRecord>, StoreError> {
        Ok(self.list_deposited(filter, None, usize::MAX).await?.0)
    }

    /// Statut, département and commune filters, newest first (or oldest with
    /// `chronologique`); the cursor is the offset in that order.
    async fn list_deposited(
        &self,
        filter: &ListFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<DossierRecord>, Option<String>), StoreError> {
        let start: usize = match cursor {
            Some(c) => c.parse().map_err(|_| StoreError::Conflict)?,
            None => 0,
        };
        let items = self.items.lock().expect("lock");
        let mut selected: Vec<&DossierRecord> = items
            .values()
            .filter(|r| r.depose_le.is_some())
            .filter(|r| filter.statuts.is_empty() || filter.statuts.contains(&r.statut))
            .filter(|r| !filter.correction_demandee || r.correction_demandee.is_some())
            .filter(|r| filter.nature.is_none_or(|n| r.nature == n))
            .filter(|r| {
                filter.fin_avant.as_ref().is_none_or(|d| {
                    r.statut == crate::domain::dossier::Statut::Accepte
                        && r.resiliation.is_none()
                        && r.echeance().is_some_and(|e| &e.fin_le <= d)
                })
            })
            .filter(|r| {
                !filter.gar_en_attente
                    || (r.statut == crate::domain::dossier::Statut::Accepte
                        && r.depot.as_ref().is_some_and(|d| {
                            crate::domain::change::gar_ouvertes(d) < d.ecoles.len() as u32
                        }))
            })
            .filter(|r| {
                let codes = || {
                    r.depot
                        .iter()
                        .flat_map(|d| d.ecoles.iter().map(|e| &e.code_insee))
                };
                filter
                    .commune
                    .as_ref()
                    .is_none_or(|c| codes().any(|x| x == c))
                    && filter
                        .departement
                        .as_ref()
                        .is_none_or(|d| codes().any(|x| &crate::reference::departement_of(x) == d))
                    && filter
                        .perimetre
                        .as_ref()
                        .is_none_or(|p| r.departement().is_some_and(|d| p.contains(&d)))
            })
            .collect();
        selected.sort_by(|a, b| a.depose_le.cmp(&b.depose_le));
        if !filter.chronologique {
            selected.reverse();
        }
        let end = start.saturating_add(limit).min(selected.len());
        let next = (end < selected.len()).then(|| end.to_string());
        let page = selected.get(start..end).unwrap_or(&[]);
        Ok((page.iter().map(|r| (*r).clone()).collect(), next))
    }

    /// The stored row, as the list index holds it (computed for a dossier stored without).
    async fn list_rows(
        &self,
        filter: &ListFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Ligne>, Option<String>), StoreError> {
        let (page, next) = self.list_deposited(filter, cursor, limit).await?;
        let rows = page
            .into_iter()
            .map(|r| r.ligne.clone().unwrap_or_else(|| Ligne::of(&r)))
            .collect();
        Ok((rows, next))
    }
}

#[derive(Default)]
pub struct MemoryDocuments {
    objects: Mutex<HashMap<String, Vec<u8>>>,
    /// Uploads in parts, by upload id: their key and parts (by number).
    uploads: Mutex<HashMap<String, Upload>>,
}

/// An upload in parts: its key and its parts by number.
type Upload = (String, BTreeMap<i32, Vec<u8>>);

#[async_trait]
impl DocumentStore for MemoryDocuments {
    async fn put_pdf_if_absent(
        &self,
        key: &str,
        bytes: Vec<u8>,
        _sha256: &str,
    ) -> Result<PutOutcome, StoreError> {
        let mut objects = self.objects.lock().expect("lock");
        match objects.get(key) {
            Some(existing) => Ok(PutOutcome::AlreadyExists {
                sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(existing)),
                size: existing.len() as u64,
            }),
            None => {
                objects.insert(key.to_string(), bytes);
                Ok(PutOutcome::Created)
            }
        }
    }

    async fn presign_get(
        &self,
        key: &str,
        _filename: &str,
        _content_type: &str,
        ttl_seconds: u64,
    ) -> Result<String, StoreError> {
        Ok(format!(
            "https://memoire.invalid/{key}?X-Amz-Expires={ttl_seconds}"
        ))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.objects.lock().expect("lock").get(key).cloned())
    }

    async fn get_if_changed(&self, key: &str, etag: Option<&str>) -> Result<Fetched, StoreError> {
        let Some(bytes) = self.objects.lock().expect("lock").get(key).cloned() else {
            return Ok(Fetched::Absent);
        };
        // An ETag of the content, as S3's of a single-part object.
        let tag = format!(
            "\"{}\"",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
        );
        if etag == Some(tag.as_str()) {
            return Ok(Fetched::Unchanged);
        }
        Ok(Fetched::Object {
            bytes,
            etag: Some(tag),
        })
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), StoreError> {
        self.objects
            .lock()
            .expect("lock")
            .insert(key.to_string(), bytes);
        Ok(())
    }

    async fn erase_all_versions(&self, prefix: &str) -> Result<usize, StoreError> {
        let mut objects = self.objects.lock().expect("lock");
        let before = objects.len();
        objects.retain(|k, _| !k.starts_with(prefix));
        Ok(before - objects.len())
    }

    async fn start_upload(
        &self,
        key: &str,
        _content_type: &str,
        _file_name: &str,
    ) -> Result<String, StoreError> {
        let id = hex::encode(rand::random::<[u8; 8]>());
        self.uploads
            .lock()
            .expect("lock")
            .insert(id.clone(), (key.to_string(), BTreeMap::new()));
        Ok(id)
    }

    async fn upload_part(
        &self,
        key: &str,
        upload: &str,
        number: i32,
        bytes: Vec<u8>,
    ) -> Result<String, StoreError> {
        let mut uploads = self.uploads.lock().expect("lock");
        let (k, parts) = uploads
            .get_mut(upload)
            .ok_or_else(|| StoreError::Unavailable(format!("envoi {upload} inconnu")))?;
        if k != key {
            return Err(StoreError::Unavailable(format!(
                "envoi {upload} d’une autre clé"
            )));
        }
        let etag = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        parts.insert(number, bytes);
        Ok(etag)
    }

    async fn finish_upload(
        &self,
        key: &str,
        upload: &str,
        parts: &[String],
    ) -> Result<(), StoreError> {
        let (k, stored) = self
            .uploads
            .lock()
            .expect("lock")
            .remove(upload)
            .ok_or_else(|| StoreError::Unavailable(format!("envoi {upload} inconnu")))?;
        // As S3: every part named, in order, each but the last of 5 MiB at least.
        let listed: Vec<i32> = (1..=parts.len() as i32).collect();
        let held: Vec<i32> = stored.keys().copied().collect();
        let small = stored
            .values()
            .rev()
            .skip(1)
            .any(|p| p.len() < 5 * 1024 * 1024);
        if k != key || listed != held || small {
            return Err(StoreError::Unavailable(format!("envoi {upload} incomplet")));
        }
        let bytes = stored.into_values().flatten().collect();
        self.objects
            .lock()
            .expect("lock")
            .insert(key.to_string(), bytes);
        Ok(())
    }

    async fn abort_upload(&self, _key: &str, upload: &str) -> Result<(), StoreError> {
        self.uploads.lock().expect("lock").remove(upload);
        Ok(())
    }
}

/// Keeps every email it is given.
#[derive(Default)]
pub struct MemoryMailer {
    pub sent: Mutex<Vec<OutgoingEmail>>,
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, StoreError> {
        let mut sent = self.sent.lock().expect("lock");
        sent.push(email.clone());
        Ok(format!("memoire-{}", sent.len()))
    }
}

/// The export jobs in memory, under the DynamoDB adapter's condition (the run stored).
#[derive(Default)]
pub struct MemoryExports {
    jobs: Mutex<HashMap<String, ExportJob>>,
}

#[async_trait]
impl ExportStore for MemoryExports {
    async fn export_job(&self, id: &str) -> Result<Option<ExportJob>, StoreError> {
        Ok(self.jobs.lock().expect("lock").get(id).cloned())
    }

    async fn put_export_job(
        &self,
        job: &ExportJob,
        previous: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut jobs = self.jobs.lock().expect("lock");
        if jobs.get(&job.id).map(|j| j.tache.as_str()) != previous {
            return Err(StoreError::Conflict);
        }
        jobs.insert(job.id.clone(), job.clone());
        Ok(())
    }
}

/// The counters in memory: the same [`Tallies`] the repair computes, changed under one lock
/// with the DynamoDB adapter's rules (a set's first member adds one to its count, its last
/// leaving takes it away; a commit holds on the revision read).
#[derive(Default)]
pub struct MemoryCounters {
    state: Mutex<Tallies>,
}

fn add(n: &mut u64, delta: i64) {
    *n = n.saturating_add_signed(delta);
}

#[async_trait]
impl CounterStore for MemoryCounters {
    async fn counted(&self, id: &DossierId) -> Result<Option<Counted>, StoreError> {
        Ok(self.state.lock().expect("lock").counted.get(id).cloned())
    }

    async fn apply_membership(&self, id: &DossierId, m: &Membership) -> Result<(), StoreError> {
        let mut state = self.state.lock().expect("lock");
        let key = (m.tally, m.departement.clone(), m.key.clone());
        let set = state.members.entry(key.clone()).or_default();
        let was_empty = set.is_empty();
        let changed = if m.joins {
            set.insert(id.clone())
        } else {
            set.remove(id)
        };
        let now_empty = set.is_empty();
        if now_empty {
            state.members.remove(&key);
        }
        if changed && was_empty != now_empty {
            let figures = state.figures.entry(m.departement.clone()).or_default();
            add(
                figures.distinct.entry(m.tally).or_default(),
                if m.joins { 1 } else { -1 },
            );
        }
        Ok(())
    }

    async fn commit(
        &self,
        id: &DossierId,
        previous: Option<&Counted>,
        counted: &Counted,
        statuts: &BTreeMap<String, BTreeMap<Statut, i64>>,
    ) -> Result<(), StoreError> {
        let mut state = self.state.lock().expect("lock");
        if state.counted.get(id).map(|c| c.revision) != previous.map(|c| c.revision) {
            return Err(StoreError::Conflict);
        }
        state.counted.insert(id.clone(), counted.clone());
        for (departement, deltas) in statuts {
            let figures = state.figures.entry(departement.clone()).or_default();
            for (statut, delta) in deltas {
                add(figures.par_statut.entry(*statut).or_default(), *delta);
            }
        }
        Ok(())
    }

    async fn figures(&self, departements: Option<&[String]>) -> Result<Figures, StoreError> {
        let state = self.state.lock().expect("lock");
        let mut out = Figures::default();
        for (d, f) in &state.figures {
            if departements.is_none_or(|ds| ds.contains(d)) {
                out.add(f);
            }
        }
        Ok(out)
    }

    async fn tallies(&self) -> Result<Tallies, StoreError> {
        Ok(self.state.lock().expect("lock").clone())
    }

    async fn repair(&self, repair: &Repair) -> Result<(), StoreError> {
        let mut state = self.state.lock().expect("lock");
        for (d, f) in &repair.figures {
            state.figures.insert(d.clone(), f.clone());
        }
        for (k, set) in &repair.members {
            match set {
                Some(set) => state.members.insert(k.clone(), set.clone()),
                None => state.members.remove(k),
            };
        }
        for (id, c) in &repair.counted {
            match c {
                Some(c) => state.counted.insert(id.clone(), c.clone()),
                None => state.counted.remove(id),
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::draft::Draft;
    use crate::domain::life::Actor;
    use crate::domain::steps;
    use crate::domain::time::Now;

    /// The in-memory store checks a step's condition as DynamoDB does: the second of two
    /// writes decided on the same state is a conflict, and nothing of it is applied.
    #[tokio::test]
    async fn a_change_decided_on_a_stale_record_is_a_conflict() {
        let store = MemoryDossiers::default();
        let now = Now::system();
        let r = steps::create(
            DossierId::generate(),
            1,
            "0".repeat(64),
            Draft::default(),
            &now,
        );
        store.create(&r).await.unwrap();
        let first = steps::autosave(&r, Draft::default(), &Actor::Collectivite, &now).unwrap();
        let delete = steps::delete_draft(&r, &Actor::Collectivite).unwrap();
        store.save_draft(&r, &first).await.unwrap();
        store.delete_draft(&r, &delete).await.unwrap();
        assert!(store.get(&r.id).await.unwrap().is_none());
        assert!(matches!(
            store.save_draft(&r, &first).await,
            Err(StoreError::Conflict)
        ));
        assert!(matches!(store.create(&r).await, Ok(())));
        assert!(matches!(store.create(&r).await, Err(StoreError::Conflict)));

        // Two instructeurs decide on the same deposited dossier: the second finds it moved.
        let mut d = steps::create(
            DossierId::generate(),
            2,
            "0".repeat(64),
            Draft::default(),
            &now,
        );
        d.statut = crate::domain::dossier::Statut::EnConstruction;
        store.create(&d).await.unwrap();
        let actor = Actor::Instructeur {
            sub: "i1".into(),
            email: "i@ac-test.fr".into(),
            nom: None,
        };
        let decision = crate::domain::dossier::Decision::PasserEnInstruction;
        let policy = crate::domain::life::Policy::default();
        let a = steps::decide(&d, decision, None, &actor, &now, &policy).unwrap();
        let b = a.clone();
        store.decide(&d, &a).await.unwrap();
        assert!(matches!(
            store.decide(&d, &b).await,
            Err(StoreError::Conflict)
        ));
        let stored = store.get(&d.id).await.unwrap().unwrap();
        assert_eq!(
            stored.historique.len(),
            1,
            "the second decision wrote nothing"
        );
    }
}
