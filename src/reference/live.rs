//! The school directory of a running function, following its imports: the snapshot read at
//! cold start, then, at most once per [`REFRESH_EVERY`], a conditional GET of
//! `reference/annuaire.bin` on its ETag (S3 answers 304 while it is unchanged: no body, a few
//! milliseconds) and, when the importer wrote a new one, that one swapped in. Without it a warm
//! instance served the directory of its cold start for hours after `make import-annuaire`.
//!
//! One snapshot per invocation: the check runs when an invocation starts ([`LiveDirectory::
//! refresh_if_due`], called by the handlers), and Lambda gives an instance one invocation at a
//! time, so a request's lookups and its deposit's validation read the same snapshot. A check
//! that fails (S3 unavailable, an unreadable new snapshot) keeps the current one and says so
//! in the logs; an unreadable snapshot is not fetched again until its ETag changes.

use super::{Directory, SNAPSHOT_KEY};
use crate::ports::{DocumentStore, Fetched};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How often a warm instance asks whether the snapshot changed: an import is seen by every
/// instance within this time (plus the invocation that notices it).
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

pub struct LiveDirectory {
    current: RwLock<Arc<Directory>>,
    /// The ETag of the snapshot last fetched (served or found unreadable), and when S3 was
    /// last asked.
    state: Mutex<(Option<String>, Option<Instant>)>,
    every: Duration,
}

impl LiveDirectory {
    /// `directory` read at cold start from the object of `etag` (None: no snapshot, or the
    /// older JSON ones: the first check fetches the binary one if it exists).
    pub fn new(directory: Directory, etag: Option<String>, every: Duration) -> LiveDirectory {
        LiveDirectory {
            current: RwLock::new(Arc::new(directory)),
            state: Mutex::new((etag, Some(Instant::now()))),
            every,
        }
    }

    /// The snapshot in use.
    pub fn current(&self) -> Arc<Directory> {
        self.current.read().expect("directory lock").clone()
    }

    /// Asks S3 whether the snapshot changed, when the last check is older than the interval;
    /// swaps the new one in. True when it swapped.
    pub async fn refresh_if_due(&self, documents: &dyn DocumentStore) -> bool {
        let etag = {
            let mut state = self.state.lock().expect("state lock");
            if state.1.is_some_and(|at| at.elapsed() < self.every) {
                return false;
            }
            state.1 = Some(Instant::now());
            state.0.clone()
        };
        match documents
            .get_if_changed(SNAPSHOT_KEY, etag.as_deref())
            .await
        {
            Ok(Fetched::Unchanged) | Ok(Fetched::Absent) => false,
            Ok(Fetched::Object { bytes, etag }) => {
                self.state.lock().expect("state lock").0 = etag.clone();
                let started = Instant::now();
                match Directory::from_snapshot(&bytes) {
                    Ok(d) => {
                        tracing::info!(
                            key = SNAPSHOT_KEY,
                            etag = etag.as_deref().unwrap_or(""),
                            ecoles = d.len(),
                            load_ms = started.elapsed().as_secs_f64() * 1000.0,
                            "new reference snapshot swapped in"
                        );
                        *self.current.write().expect("directory lock") = Arc::new(d);
                        true
                    }
                    Err(e) => {
                        tracing::warn!(key = SNAPSHOT_KEY, error = %e, "new reference snapshot unreadable: the previous one stays in use");
                        false
                    }
                }
            }
            Err(e) => {
                tracing::warn!(key = SNAPSHOT_KEY, error = %e, "reference snapshot check failed: the current one stays in use");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::MemoryDocuments;
    use crate::domain::school::Ecole;

    fn school(uai: &str) -> Ecole {
        Ecole {
            uai: uai.into(),
            nom: format!("École {uai}"),
            nature: "ECOLE DE NIVEAU ELEMENTAIRE".into(),
            statut: "Public".into(),
            code_insee: "35016".into(),
            commune: "Baulon".into(),
            code_postal: "35580".into(),
            siren_siret: None,
            ouverte: true,
        }
    }

    #[tokio::test]
    async fn a_new_snapshot_is_swapped_in_once_due_and_a_bad_one_keeps_the_current() {
        let docs = MemoryDocuments::default();
        let first = Directory::new(vec![school("0350122T")]);
        docs.put(
            SNAPSHOT_KEY,
            first.to_snapshot(),
            "application/octet-stream",
        )
        .await
        .unwrap();
        let etag = match docs.get_if_changed(SNAPSHOT_KEY, None).await.unwrap() {
            Fetched::Object { etag, .. } => etag,
            _ => panic!("the snapshot is there"),
        };
        let live = LiveDirectory::new(first, etag, Duration::from_secs(3600));
        let second = Directory::new(vec![school("0350122T"), school("0350165P")]);
        docs.put(
            SNAPSHOT_KEY,
            second.to_snapshot(),
            "application/octet-stream",
        )
        .await
        .unwrap();
        assert!(!live.refresh_if_due(&docs).await, "not due yet");
        assert_eq!(live.current().len(), 1);

        let live = LiveDirectory {
            every: Duration::ZERO,
            ..live
        };
        assert!(live.refresh_if_due(&docs).await, "due: the new one is read");
        assert_eq!(live.current().len(), 2);
        assert!(
            !live.refresh_if_due(&docs).await,
            "unchanged: nothing swapped"
        );

        docs.put(SNAPSHOT_KEY, b"abime".to_vec(), "application/octet-stream")
            .await
            .unwrap();
        assert!(!live.refresh_if_due(&docs).await);
        assert_eq!(live.current().len(), 2, "the readable one stays");
    }
}
