//! The migration of journals stored whole in the dossier item (before `domain::journal`):
//! every dossier whose tails are over their budget gets its moves (`steps::compact_journal`).
//! Each deposited dossier also gets the list's row it lacks (`domain::listing`) and its lists of
//! schools packed where they are still plain lists (`domain::packed`). Idempotent:
//! a dossier already within its budgets and with its row is left as it is, so the command can
//! be stopped and run again. `admin compacter-journaux` runs it.

use crate::domain::{listing, steps};
use crate::ports::{DossierStore, StoreError};

/// What a run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Compacted {
    /// Dossiers read.
    pub lus: usize,
    /// Dossiers whose journals were moved.
    pub compactes: usize,
    /// Pages written.
    pub pages: usize,
    /// Rows of the list written (`domain::listing`).
    pub lignes: usize,
    /// Dossiers whose lists of schools were packed (`domain::packed`).
    pub ecoles_compactees: usize,
}

impl std::fmt::Display for Compacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "dossiers lus={} compactés={} pages écrites={} lignes écrites={} écoles compactées={}",
            self.lus, self.compactes, self.pages, self.lignes, self.ecoles_compactees
        )
    }
}

/// Compacts every dossier of the store. A dossier changed while it is compacted (a
/// conflict) is read again and retried, three times at most.
pub async fn compact_journals(store: &dyn DossierStore) -> Result<Compacted, StoreError> {
    let mut done = Compacted::default();
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = store.scan_dossiers(cursor.as_deref()).await?;
        for mut r in page {
            done.lus += 1;
            let (mut tries, mut counted) = (0, false);
            // A move holds `journal::MAX_PAGES_PER_WRITE` pages: a long tail takes several
            // writes, each decided on the dossier as the last one left it.
            while let Some(change) = steps::compact_journal(&r) {
                match store.compact_journal(&r, &change).await {
                    Ok(()) => {
                        done.compactes += usize::from(!counted);
                        counted = true;
                        done.pages += change.pages().count();
                    }
                    Err(StoreError::Conflict) if tries < 3 => tries += 1,
                    Err(e) => return Err(e),
                }
                match store.get(&r.id).await? {
                    Some(again) => r = again,
                    None => break,
                }
            }
            // A deposited dossier stored before the list's rows existed (or whose row is not
            // its own) gets its row (`domain::listing`).
            let mut tries = 0;
            while listing::due(&r) {
                match store.compact_journal(&r, &listing::row_only()).await {
                    Ok(()) => done.lignes += 1,
                    Err(StoreError::Conflict) if tries < 3 => tries += 1,
                    Err(e) => return Err(e),
                }
                match store.get(&r.id).await? {
                    Some(again) => r = again,
                    None => break,
                }
            }
            // Its schools packed, if the stored dossier still holds plain lists.
            let mut tries = 0;
            loop {
                match store.pack_school_lists(&r).await {
                    Ok(packed) => {
                        done.ecoles_compactees += usize::from(packed);
                        break;
                    }
                    Err(StoreError::Conflict) if tries < 3 => tries += 1,
                    Err(e) => return Err(e),
                }
                match store.get(&r.id).await? {
                    Some(again) => r = again,
                    None => break,
                }
            }
        }
        match next {
            Some(n) => cursor = Some(n),
            None => return Ok(done),
        }
    }
}
