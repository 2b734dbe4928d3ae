//! The counters of the figures (`domain::statistics`): count-statistics runs [`count`] on each
//! stream record of a dossier (deposited, changed, removed), and `admin recompter-statistiques`
//! runs [`repair`], which recomputes them from the dossiers.

use super::{JobError, Outcome};
use crate::domain::dossier::DossierRecord;
use crate::domain::ids::DossierId;
use crate::domain::statistics::{later, plan, Contribution, Counted, Repair, Tallies};
use crate::ports::{CounterStore, DossierStore, StoreError};
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use std::borrow::Borrow;

/// A stream record of a dossier, as the counters read it: the dossier (its new image, or its
/// old one when it was removed), what it contributes now, and the record's sequence number.
pub struct Counting {
    record: DossierRecord,
    now: Option<Contribution>,
    sequence: String,
}

impl Borrow<DossierRecord> for Counting {
    fn borrow(&self) -> &DossierRecord {
        &self.record
    }
}

/// The dossier records of the stream (the template's filters: a statut in either image, so
/// never the counters' own items, the journal pages or the quotas).
pub fn counting(record: &EventRecord) -> Option<Counting> {
    let removed = record.event_name == "REMOVE";
    let image = if removed {
        &record.change.old_image
    } else {
        &record.change.new_image
    };
    if !image.contains_key("statut") {
        return None;
    }
    let dossier: DossierRecord = serde_dynamo::from_item(image.clone())
        .map_err(|e| tracing::warn!(error = %e, event_id = %record.event_id, "unreadable dossier image, skipped"))
        .ok()?;
    Some(Counting {
        now: if removed {
            None
        } else {
            Contribution::of(&dossier)
        },
        record: dossier,
        sequence: record.change.sequence_number.clone().unwrap_or_default(),
    })
}

/// Handles a batch of count-statistics.
pub async fn handle(counters: &dyn CounterStore, event: &Event) -> DynamoDbEventResponse {
    super::stream::process_selected(event, counting, |c| async move {
        count(counters, &c.record.id, Some(&c.sequence), c.now).await
    })
    .await
}

/// Brings the counters of dossier `id` to its contribution `now`, from what they counted for
/// it. A record older than the one counted (a replay) changes nothing; the memberships are
/// idempotent one by one, and the counted item, written last under the revision read, moves
/// the statut counts once. A concurrent count of the same dossier (the repair) makes it start
/// again from what is stored then.
pub async fn count(
    counters: &dyn CounterStore,
    id: &DossierId,
    sequence: Option<&str>,
    now: Option<Contribution>,
) -> Result<Outcome, JobError> {
    for _ in 0..5 {
        let stored = counters.counted(id).await?;
        let counted_seq = stored.as_ref().and_then(|c| c.sequence.clone());
        if let (Some(seq), Some(prev)) = (sequence, counted_seq.as_deref()) {
            if !later(seq, prev) {
                return Ok(Outcome::AlreadyDone);
            }
        }
        let before = stored.as_ref().and_then(|c| c.contribution.as_ref());
        let changes = plan(before, now.as_ref());
        if changes.is_empty() {
            return Ok(Outcome::Skipped);
        }
        for m in &changes.memberships {
            counters.apply_membership(id, m).await?;
        }
        let next = Counted {
            contribution: now.clone(),
            sequence: sequence.map(str::to_string).or(counted_seq),
            revision: stored.as_ref().map_or(0, |c| c.revision) + 1,
        };
        match counters
            .commit(id, stored.as_ref(), &next, &changes.statuts)
            .await
        {
            Ok(()) => return Ok(Outcome::Done),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// What a repair did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Repaired {
    /// Dossiers read.
    pub lus: usize,
    /// Départements whose figures were rewritten.
    pub departements: usize,
    /// Sets of dossiers rewritten or removed.
    pub ensembles: usize,
    /// Dossiers whose counted contribution was rewritten.
    pub dossiers: usize,
}

impl std::fmt::Display for Repaired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "dossiers lus={} départements corrigés={} ensembles corrigés={} dossiers recomptés={}",
            self.lus, self.departements, self.ensembles, self.dossiers
        )
    }
}

/// Recomputes the counters from every dossier of the table and writes what differs (nothing
/// on a second run). Run it with the count-statistics function's stream paused (infra/README
/// « Recompute the figures »): a dossier counted by both at once could keep a stale set.
pub async fn repair(
    dossiers: &dyn DossierStore,
    counters: &dyn CounterStore,
) -> Result<Repaired, StoreError> {
    let mut contributions = Vec::new();
    let mut lus = 0;
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = dossiers.scan_dossiers(cursor.as_deref()).await?;
        lus += page.len();
        contributions.extend(
            page.iter()
                .filter_map(|r| Some((r.id.clone(), Contribution::of(r)?))),
        );
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let expected = Tallies::of(contributions.iter().map(|(id, c)| (id, c.clone())));
    let stored = counters.tallies().await?;
    let fix = Repair::between(&stored, &expected);
    counters.repair(&fix).await?;
    Ok(Repaired {
        lus,
        departements: fix.figures.len(),
        ensembles: fix.members.len(),
        dossiers: fix.counted.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::MemoryCounters;
    use crate::domain::dossier::Statut;
    use crate::domain::statistics::Tally;

    fn contribution(statut: Statut, uais: &[&str]) -> Contribution {
        crate::domain::statistics::sample("35", statut, "21350016900014", uais)
    }

    #[tokio::test]
    async fn replayed_and_older_records_change_nothing() {
        let counters = MemoryCounters::default();
        let id = DossierId::generate();
        let deposited = contribution(Statut::EnConstruction, &["0350001A"]);
        let accepted = contribution(Statut::Accepte, &["0350001A"]);
        let n = |s: &str| Some(s.to_string());
        assert_eq!(
            count(&counters, &id, n("100").as_deref(), Some(deposited.clone()))
                .await
                .unwrap(),
            Outcome::Done
        );
        count(&counters, &id, Some("200"), Some(accepted.clone()))
            .await
            .unwrap();
        for (seq, c) in [("100", &deposited), ("200", &accepted), ("150", &deposited)] {
            assert_eq!(
                count(&counters, &id, Some(seq), Some(c.clone()))
                    .await
                    .unwrap(),
                Outcome::AlreadyDone,
                "{seq}"
            );
        }
        let f = counters.figures(None).await.unwrap();
        assert_eq!(f.par_statut.get(&Statut::Accepte), Some(&1));
        assert_eq!(f.par_statut.get(&Statut::EnConstruction), Some(&0));
        assert_eq!(f.count(Tally::Acceptees), 1);
        // Removed (the retention): it leaves every count.
        count(&counters, &id, Some("300"), None).await.unwrap();
        let f = counters.figures(None).await.unwrap();
        assert_eq!(f.par_statut.values().sum::<u64>(), 0);
        assert_eq!(f.count(Tally::Conventionnees), 0);
        assert_eq!(f.count(Tally::Collectivites), 0);
    }

    /// A counter stopped between its memberships and its commit, started again: the same
    /// counts as one uninterrupted pass.
    #[tokio::test]
    async fn a_count_interrupted_before_its_commit_counts_once_when_replayed() {
        let counters = MemoryCounters::default();
        let id = DossierId::generate();
        let c = contribution(Statut::Accepte, &["0350001A", "0350002B"]);
        for m in &plan(None, Some(&c)).memberships {
            counters.apply_membership(&id, m).await.unwrap();
        }
        count(&counters, &id, Some("7"), Some(c)).await.unwrap();
        let f = counters.figures(Some(&["35".to_string()])).await.unwrap();
        assert_eq!(f.count(Tally::Conventionnees), 2);
        assert_eq!(f.count(Tally::Acceptees), 2);
        assert_eq!(f.count(Tally::Collectivites), 1);
        assert_eq!(f.par_statut.get(&Statut::Accepte), Some(&1));
        assert_eq!(
            counters.figures(Some(&["22".to_string()])).await.unwrap(),
            Default::default()
        );
    }
}
