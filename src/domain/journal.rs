//! The dossier's three journals — the audit trail (`historique`), the messages and the
//! webhook attempts — kept bounded in the dossier item.
//!
//! A journal grows with the dossier's life; an item does not (DynamoDB refuses an item over
//! 400 KB, and every write rewrites the whole item and its index copy). So the item keeps each
//! journal's newest entries, its *tail*, within a budget ([`Journal::budget`]); when a step's
//! appends would take a tail past it, [`bound`] moves its oldest entries into *pages*, items of
//! their own that are written once and never rewritten, in the same conditional write. The
//! tail keeps half the budget, so a page holds between half a budget and a budget of entries.
//! The dossier item's `archives` ([`Archives`]) counts the pages and the entries they hold, and
//! keeps of the moved audit events what the rules read of the whole trail (how many of each
//! action, the latest acceptance): no step reads a page. The views that show a whole journal
//! read the pages ([`complete`], `DossierStore::journals`).
//!
//! Maximum of the journals in a dossier item: the three budgets (42 KB), plus at most one entry
//! beyond a budget (a message alone over half its budget: 5,000 characters, 20 KB at most in
//! UTF-8). The rest of the item is mostly its schools, packed (`domain::packed`); the store
//! refuses any write past the item's documented maximum (`ports::MAX_DOSSIER_ITEM_BYTES`).

use super::change::{Change, Condition, Update};
use super::dossier::{Decision, DossierRecord, Evenement, Message, WebhookTentative};
use super::life::Step;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One of a dossier's journals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Journal {
    Historique,
    Messages,
    WebhookTentatives,
}

impl Journal {
    pub const ALL: [Journal; 3] = [
        Journal::Historique,
        Journal::Messages,
        Journal::WebhookTentatives,
    ];

    /// The dossier item's attribute holding its tail (and the page items' `journal`).
    pub fn attribute(self) -> &'static str {
        match self {
            Journal::Historique => "historique",
            Journal::Messages => "messages",
            Journal::WebhookTentatives => "webhook_tentatives",
        }
    }

    pub fn parse(s: &str) -> Option<Journal> {
        Journal::ALL.into_iter().find(|j| j.attribute() == s)
    }

    /// Bytes of entries (their JSON size, a little above DynamoDB's count of the same data)
    /// the dossier item keeps. Messages, the longest entries (5,000 characters), get the
    /// largest share.
    pub fn budget(self) -> usize {
        match self {
            Journal::Historique => 12 * 1024,
            Journal::Messages => 24 * 1024,
            Journal::WebhookTentatives => 6 * 1024,
        }
    }
}

/// Entries of one journal, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub enum Entries {
    Historique(Vec<Evenement>),
    Messages(Vec<Message>),
    WebhookTentatives(Vec<WebhookTentative>),
}

impl Entries {
    pub fn journal(&self) -> Journal {
        match self {
            Entries::Historique(_) => Journal::Historique,
            Entries::Messages(_) => Journal::Messages,
            Entries::WebhookTentatives(_) => Journal::WebhookTentatives,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Entries::Historique(v) => v.len(),
            Entries::Messages(v) => v.len(),
            Entries::WebhookTentatives(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How much of a journal left the dossier item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archived {
    pub pages: u32,
    pub entrees: u32,
}

/// The dossier item's account of its pages (`archives`; absent while none was written).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Archives {
    /// One more at each move: the next move's condition (no two moves write the same page).
    pub version: u32,
    #[serde(default)]
    pub historique: Archived,
    #[serde(default)]
    pub messages: Archived,
    #[serde(default)]
    pub webhook_tentatives: Archived,
    /// Moved audit events, counted by action (`Evenement::action`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub actions: BTreeMap<String, u32>,
    /// The latest moved acceptance (`DossierRecord::acceptance` reads it when the tail has
    /// none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derniere_acceptation: Option<Evenement>,
}

impl Archives {
    pub fn is_empty(&self) -> bool {
        self.version == 0
    }

    pub fn of(&self, j: Journal) -> Archived {
        match j {
            Journal::Historique => self.historique,
            Journal::Messages => self.messages,
            Journal::WebhookTentatives => self.webhook_tentatives,
        }
    }

    fn of_mut(&mut self, j: Journal) -> &mut Archived {
        match j {
            Journal::Historique => &mut self.historique,
            Journal::Messages => &mut self.messages,
            Journal::WebhookTentatives => &mut self.webhook_tentatives,
        }
    }

    /// Moved audit events with this action.
    pub fn count(&self, action: &str) -> usize {
        self.actions.get(action).copied().unwrap_or(0) as usize
    }
}

/// A page: entries moved out of the dossier item, numbered from 0 in each journal.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub number: u32,
    pub entries: Entries,
}

/// One journal's move: its tail as read (its length is the write's condition: an append
/// meanwhile makes it a conflict), the pages written, and the entries the item keeps.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalMove {
    pub tail_len: usize,
    pub pages: Vec<Page>,
    pub kept: Entries,
}

/// What [`bound`] adds to a change: pages written and tails shortened, under the condition
/// that `archives` is still `before`.
#[derive(Clone, Debug, PartialEq)]
pub struct Move {
    pub before: Archives,
    pub after: Archives,
    pub journals: Vec<JournalMove>,
}

impl Move {
    /// Whether the stored dossier is still as the move was decided on.
    pub fn holds(&self, r: &DossierRecord) -> bool {
        r.archives.version == self.before.version
            && self
                .journals
                .iter()
                .all(|m| tail_len(r, m.kept.journal()) == m.tail_len)
    }

    /// The dossier item after the move (the appends of the same change come after it).
    pub fn apply(&self, r: &mut DossierRecord) {
        r.archives = self.after.clone();
        for m in &self.journals {
            match &m.kept {
                Entries::Historique(v) => r.historique = v.clone(),
                Entries::Messages(v) => r.messages = v.clone(),
                Entries::WebhookTentatives(v) => r.webhook_tentatives = v.clone(),
            }
        }
    }
}

fn tail_len(r: &DossierRecord, j: Journal) -> usize {
    match j {
        Journal::Historique => r.historique.len(),
        Journal::Messages => r.messages.len(),
        Journal::WebhookTentatives => r.webhook_tentatives.len(),
    }
}

fn size<T: Serialize>(entry: &T) -> usize {
    serde_json::to_vec(entry).map_or(0, |v| v.len())
}

/// Pages one write moves at most: a transaction holds 100 items (the dossier, the codes of
/// superseded versions and the other dossier of an avenant's acceptance take a few).
pub const MAX_PAGES_PER_WRITE: usize = 80;

/// Which of `tail`'s oldest entries leave the item when `added` bytes join it, cut into pages
/// of at most `budget` bytes, `max_pages` at most: none while the tail and the appends fit the
/// budget; otherwise enough that what stays and the appends fit half of it (all of the tail
/// when the appends alone do not; all but the newest entry when nothing is appended, so that
/// the item always keeps a journal's latest entry).
fn plan<T: Serialize + Clone>(
    tail: &[T],
    added: usize,
    budget: usize,
    max_pages: usize,
) -> Option<(Vec<Vec<T>>, Vec<T>)> {
    let sizes: Vec<usize> = tail.iter().map(size).collect();
    let mut remaining: usize = sizes.iter().sum();
    if remaining + added <= budget || tail.is_empty() || max_pages == 0 {
        return None;
    }
    let movable = if added == 0 {
        tail.len() - 1
    } else {
        tail.len()
    };
    let mut moved = 0;
    while moved < movable && remaining + added > budget / 2 {
        remaining -= sizes[moved];
        moved += 1;
    }
    let mut pages: Vec<Vec<T>> = Vec::new();
    let mut page_bytes = 0;
    let mut taken = 0;
    for (entry, bytes) in tail[..moved].iter().zip(&sizes) {
        let fits = !pages.is_empty() && page_bytes + bytes <= budget;
        if fits {
            pages.last_mut().expect("a page").push(entry.clone());
            page_bytes += bytes;
        } else if pages.len() == max_pages {
            break;
        } else {
            pages.push(vec![entry.clone()]);
            page_bytes = *bytes;
        }
        taken += 1;
    }
    if pages.is_empty() {
        return None;
    }
    Some((pages, tail[taken..].to_vec()))
}

/// `change`, with the moves that keep within its budget the tail of each journal it appends
/// to (unchanged when they fit). Every write of a dossier goes through it
/// (`ports::DossierStore::write_bounded`), with the record the change was decided on. A write
/// that appends nothing moves nothing: a dossier stored before journals were bounded keeps its
/// tails until it is appended to or compacted ([`compact`]).
pub fn bound(r: &DossierRecord, change: Change) -> Change {
    moves(r, change, false)
}

fn moves(r: &DossierRecord, mut change: Change, compacting: bool) -> Change {
    let added = |j: Journal| -> usize {
        change
            .updates
            .iter()
            .map(|u| match (u, j) {
                (Update::AppendEvent(e), Journal::Historique) => size(e),
                (Update::AppendMessage(m), Journal::Messages) => size(m),
                (Update::AppendWebhookAttempt(a), Journal::WebhookTentatives) => size(a),
                _ => 0,
            })
            .sum()
    };
    let mut after = r.archives.clone();
    let mut journals = Vec::new();
    let mut room = MAX_PAGES_PER_WRITE;
    for j in Journal::ALL {
        let added = added(j);
        if added == 0 && !compacting {
            continue;
        }
        let planned = match j {
            Journal::Historique => plan(&r.historique, added, j.budget(), room).map(|(p, k)| {
                for e in p.iter().flatten() {
                    *after.actions.entry(e.action.clone()).or_default() += 1;
                    if e.action == Decision::Accepter.label() {
                        after.derniere_acceptation = Some(e.clone());
                    }
                }
                (
                    p.into_iter().map(Entries::Historique).collect::<Vec<_>>(),
                    Entries::Historique(k),
                )
            }),
            Journal::Messages => plan(&r.messages, added, j.budget(), room).map(|(p, k)| {
                (
                    p.into_iter().map(Entries::Messages).collect(),
                    Entries::Messages(k),
                )
            }),
            Journal::WebhookTentatives => {
                plan(&r.webhook_tentatives, added, j.budget(), room).map(|(p, k)| {
                    (
                        p.into_iter().map(Entries::WebhookTentatives).collect(),
                        Entries::WebhookTentatives(k),
                    )
                })
            }
        };
        let Some((pages, kept)) = planned else {
            continue;
        };
        room -= pages.len();
        let account = after.of_mut(j);
        let pages: Vec<Page> = pages
            .into_iter()
            .map(|entries| {
                let page = Page {
                    number: account.pages,
                    entries,
                };
                account.pages += 1;
                account.entrees += page.entries.len() as u32;
                page
            })
            .collect();
        journals.push(JournalMove {
            tail_len: tail_len(r, j),
            pages,
            kept,
        });
    }
    if journals.is_empty() {
        return change;
    }
    after.version = r.archives.version + 1;
    change.updates.insert(
        0,
        Update::Archive(Box::new(Move {
            before: r.archives.clone(),
            after,
            journals,
        })),
    );
    change
}

/// The step `compact_journal`: a dossier stored before journals were bounded (or with a tail
/// over its budget for any reason) gets its moves, without an append ([`MAX_PAGES_PER_WRITE`]
/// at most: run it again on the record written until it says None); None when every tail
/// fits. The migration `admin compacter-journaux` runs it on every dossier; a second run finds
/// nothing to do.
pub fn compact(r: &DossierRecord) -> Option<Change> {
    let change = moves(
        r,
        Change {
            step: Step::CompactJournal,
            condition: Condition::Exists,
            updates: Vec::new(),
            notices: Vec::new(),
        },
        true,
    );
    (!change.updates.is_empty()).then_some(change)
}

/// A dossier's whole journals, oldest first: its pages, then its tails.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Journals {
    pub historique: Vec<Evenement>,
    pub messages: Vec<Message>,
    pub webhook_tentatives: Vec<WebhookTentative>,
}

/// The journals of `r` from its pages (in any order) and its tails. Err names the first
/// journal whose pages do not add up to the dossier's account of them.
pub fn complete(r: &DossierRecord, mut pages: Vec<Page>) -> Result<Journals, Journal> {
    pages.sort_by_key(|p| (p.entries.journal(), p.number));
    let mut out = Journals::default();
    for p in pages {
        match p.entries {
            Entries::Historique(v) => out.historique.extend(v),
            Entries::Messages(v) => out.messages.extend(v),
            Entries::WebhookTentatives(v) => out.webhook_tentatives.extend(v),
        }
    }
    for j in Journal::ALL {
        let found = match j {
            Journal::Historique => out.historique.len(),
            Journal::Messages => out.messages.len(),
            Journal::WebhookTentatives => out.webhook_tentatives.len(),
        };
        if found != r.archives.of(j).entrees as usize {
            return Err(j);
        }
    }
    out.historique.extend(r.historique.iter().cloned());
    out.messages.extend(r.messages.iter().cloned());
    out.webhook_tentatives
        .extend(r.webhook_tentatives.iter().cloned());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::dossier::Auteur;

    fn message(i: usize, chars: usize) -> Message {
        Message {
            le: format!("2026-09-01T10:{:02}:{:02}Z", i / 60 % 60, i % 60),
            auteur: if i.is_multiple_of(2) {
                Auteur::Instructeur
            } else {
                Auteur::Collectivite
            },
            nom: "instructeur@ac-rennes.fr".into(),
            texte: format!("{i} {}", "é".repeat(chars)),
        }
    }

    fn append(r: &DossierRecord, m: Message) -> Change {
        bound(
            r,
            Change {
                step: Step::Message,
                condition: Condition::Exists,
                updates: vec![Update::AppendMessage(m)],
                notices: Vec::new(),
            },
        )
    }

    /// Writes each change as a store does, keeping the pages it writes.
    fn write(r: &mut DossierRecord, pages: &mut Vec<Page>, change: &Change) {
        assert!(
            change.holds(r),
            "condition fails on the record it was decided on"
        );
        pages.extend(change.pages().cloned());
        change.apply(r);
    }

    fn item_bytes(r: &DossierRecord) -> usize {
        serde_json::to_vec(r).unwrap().len()
    }

    #[test]
    fn five_hundred_long_messages_keep_the_item_small_and_every_message_in_order() {
        let mut r = crate::domain::steps::tests::draft_record();
        let empty = item_bytes(&r);
        let mut pages = Vec::new();
        let mut largest = 0;
        for i in 0..500 {
            let change = append(&r, message(i, 3000));
            write(&mut r, &mut pages, &change);
            largest = largest.max(item_bytes(&r));
        }
        // The tail stays within its budget plus one message.
        assert!(
            largest - empty <= Journal::Messages.budget() + 7_000,
            "{largest}"
        );
        // Each page within a budget (a page item stays small too).
        assert!(pages.iter().all(|p| matches!(&p.entries,
            Entries::Messages(v) if !v.is_empty()
                && v.iter().map(size).sum::<usize>() <= Journal::Messages.budget())));
        // Pages hold at least half a budget each: few pages, not one per message.
        let moved: usize = pages
            .iter()
            .map(|p| match &p.entries {
                Entries::Messages(v) => v.iter().map(size).sum::<usize>(),
                _ => 0,
            })
            .sum();
        assert!(pages.len() <= moved / (Journal::Messages.budget() / 2) + 1);
        assert!(pages.len() * 2 < 500, "{} pages", pages.len());
        let all = complete(&r, pages.clone()).unwrap();
        assert_eq!(all.messages.len(), 500);
        assert!(all
            .messages
            .iter()
            .enumerate()
            .all(|(i, m)| m.texte.starts_with(&format!("{i} "))));
        // The newest message is always in the item (the digest reads it).
        assert!(r.messages.last().unwrap().texte.starts_with("499 "));
        assert_eq!(r.nb_messages(), 500);
        // A page missing is an error, not a shorter journal.
        pages.pop();
        assert_eq!(complete(&r, pages), Err(Journal::Messages));
    }

    #[test]
    fn a_move_decided_on_a_stale_record_does_not_hold() {
        let mut r = crate::domain::steps::tests::draft_record();
        let mut pages = Vec::new();
        while r.archives.is_empty() {
            let change = append(&r, message(r.messages.len(), 3000));
            write(&mut r, &mut pages, &change);
        }
        let stale = r.clone();
        let mut moving = append(&stale, message(1, 3000));
        while moving.moved().is_none() {
            write(&mut r, &mut pages, &moving);
            moving = append(&r, message(1, 3000));
        }
        // Another message came in between: the tail is one longer than read.
        let mut concurrent = r.clone();
        Update::AppendMessage(message(2, 10)).apply(&mut concurrent);
        assert!(!moving.holds(&concurrent));
        assert!(moving.holds(&r));
    }

    #[test]
    fn moved_acceptances_still_count_and_the_latest_is_kept() {
        let mut r = crate::domain::steps::tests::draft_record();
        r.statut = crate::domain::dossier::Statut::Accepte;
        let event = |action: &str, i: usize| Evenement {
            le: format!("2026-09-{:02}T10:00:00Z", i % 28 + 1),
            par: "instructeur@ac-rennes.fr".into(),
            nom: None,
            sub: None,
            action: action.into(),
            detail: Some("x".repeat(400)),
        };
        let mut pages = Vec::new();
        let accepter = Decision::Accepter.label();
        for i in 0..200 {
            let action = if i == 3 { accepter } else { "message envoyé" };
            let change = bound(
                &r,
                Change {
                    step: Step::Message,
                    condition: Condition::Exists,
                    updates: vec![Update::AppendEvent(event(action, i))],
                    notices: Vec::new(),
                },
            );
            write(&mut r, &mut pages, &change);
        }
        assert!(r.historique.iter().all(|e| e.action != accepter));
        assert!(r.once_accepted());
        assert_eq!(r.acceptance().unwrap().le, event(accepter, 3).le);
        assert_eq!(r.count_action(accepter), 1);
        assert_eq!(r.count_action("message envoyé"), 199);
    }

    #[test]
    fn compaction_moves_an_oversized_legacy_tail_once() {
        let mut r = crate::domain::steps::tests::draft_record();
        r.messages = (0..100).map(|i| message(i, 3000)).collect();
        let before = item_bytes(&r);
        let change = compact(&r).expect("over budget");
        let mut pages = Vec::new();
        write(&mut r, &mut pages, &change);
        assert!(item_bytes(&r) < before / 10);
        assert!(
            r.messages.last().unwrap().texte.starts_with("99 "),
            "the newest stays"
        );
        assert!(compact(&r).is_none(), "a second run has nothing to do");
        assert_eq!(complete(&r, pages).unwrap().messages.len(), 100);
        let small = crate::domain::steps::tests::draft_record();
        assert!(compact(&small).is_none());
    }

    #[test]
    fn a_write_that_appends_nothing_moves_nothing_and_a_compaction_is_capped() {
        let mut r = crate::domain::steps::tests::draft_record();
        r.webhook_tentatives = (0..3000)
            .map(|i| WebhookTentative {
                le: format!("2026-09-01T10:00:{:02}Z", i % 60),
                statut_http: 0,
                erreur: Some("connexion refusée ".repeat(4)),
                duree_ms: 30_000,
                editeur: Some("defaut".into()),
            })
            .collect();
        let claim = Change {
            step: Step::ClaimAcknowledgement,
            condition: Condition::Exists,
            updates: vec![Update::Lease(Some(1))],
            notices: Vec::new(),
        };
        assert_eq!(bound(&r, claim.clone()), claim);
        let mut pages = Vec::new();
        let mut writes = 0;
        while let Some(change) = compact(&r) {
            assert!(change.pages().count() <= MAX_PAGES_PER_WRITE);
            write(&mut r, &mut pages, &change);
            writes += 1;
        }
        assert!(writes >= 2, "{writes}");
        assert_eq!(complete(&r, pages).unwrap().webhook_tentatives.len(), 3000);
        assert_eq!(r.nb_webhook_attempts(), 3000);
    }
}
