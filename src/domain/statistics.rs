//! The campaign's figures (`GET /api/instructeur/statistiques`): dossiers per statut, distinct
//! collectivités, schools conventioned and schools accepted. And how counters keep them without
//! reading every dossier: each dossier *contributes* (its [`Contribution`]: département,
//! statut, SIRET, schools), a stream consumer records what it counted for each dossier and
//! changes the counters by the difference with its new image ([`plan`]).
//!
//! Distinct counts are kept per département by *memberships*: for each (tally, département,
//! key), the set of dossiers that cite the key; a set going from empty to one dossier adds one
//! to its département's count, going back to empty takes it away. Each membership change is
//! idempotent on its own (a dossier joins a set once), so a consumer stopped half-way replays
//! the same plan safely; the dossier's counted item, written last under its own condition,
//! makes the statut counts move exactly once.
//!
//! The figures of several départements are their sum: a collectivité belongs to one
//! département (its dossiers carry it), and so does a school, unless two collectivités of two
//! départements both list it (then it counts once in each).

use super::dossier::{DossierRecord, Statut};
use super::ids::DossierId;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A distinct count the figures give.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tally {
    /// Collectivités (SIRET) with a deposited dossier.
    Collectivites,
    /// Schools of a dossier deposited, signed and neither refused nor closed
    /// (`Statut::conventioned`).
    Conventionnees,
    /// Schools of an accepted dossier.
    Acceptees,
}

impl Tally {
    pub const ALL: [Tally; 3] = [
        Tally::Collectivites,
        Tally::Conventionnees,
        Tally::Acceptees,
    ];

    /// Its name in the stored counters.
    pub fn as_str(self) -> &'static str {
        match self {
            Tally::Collectivites => "collectivites",
            Tally::Conventionnees => "ecoles_conventionnees",
            Tally::Acceptees => "ecoles_acceptees",
        }
    }

    pub fn parse(s: &str) -> Option<Tally> {
        Tally::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// What one dossier adds to the figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    pub departement: String,
    pub statut: Statut,
    pub siret: String,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub conventionnees: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub acceptees: BTreeSet<String>,
}

/// The département of a deposited dossier whose département nobody knows (neither stored nor
/// derivable from its schools): its figures stay visible to académie-wide instructeurs.
pub const UNKNOWN_DEPARTEMENT: &str = "inconnu";

impl Contribution {
    /// What `r` contributes: nothing before its deposit. The schools are the deposit's, as
    /// the list shows them.
    pub fn of(r: &DossierRecord) -> Option<Contribution> {
        if !Statut::DEPOSITED.contains(&r.statut) {
            return None;
        }
        let d = r.depot.as_ref()?;
        let uais = || d.ecoles.iter().map(|e| e.uai.clone());
        Some(Contribution {
            departement: r
                .departement()
                .unwrap_or_else(|| UNKNOWN_DEPARTEMENT.into()),
            statut: r.statut,
            siret: d.collectivite.siret.clone(),
            conventionnees: if r.statut.conventioned() {
                uais().collect()
            } else {
                BTreeSet::new()
            },
            acceptees: if r.statut == Statut::Accepte {
                uais().collect()
            } else {
                BTreeSet::new()
            },
        })
    }

    /// The keys it cites in `tally`.
    pub fn keys(&self, tally: Tally) -> BTreeSet<&str> {
        match tally {
            Tally::Collectivites => BTreeSet::from([self.siret.as_str()]),
            Tally::Conventionnees => self.conventionnees.iter().map(String::as_str).collect(),
            Tally::Acceptees => self.acceptees.iter().map(String::as_str).collect(),
        }
    }
}

/// What the counters recorded for one dossier: its contribution (None once it left the
/// figures: removed, or back before its deposit), the stream sequence number of the record it
/// came from (None: from the repair), and a revision that each write increments (the
/// condition of the next).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contribution: Option<Contribution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<String>,
    #[serde(default)]
    pub revision: u64,
}

/// A dossier joining or leaving the set of dossiers citing `key` in `tally` for `departement`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub tally: Tally,
    pub departement: String,
    pub key: String,
    pub joins: bool,
}

/// What the counters change for one dossier going from one contribution to another.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub memberships: Vec<Membership>,
    /// Per département, the statut counts to add to (+1, -1).
    pub statuts: BTreeMap<String, BTreeMap<Statut, i64>>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.memberships.is_empty() && self.statuts.is_empty()
    }
}

/// The counters' changes from `before` to `after` (both None: nothing).
pub fn plan(before: Option<&Contribution>, after: Option<&Contribution>) -> Plan {
    let mut out = Plan::default();
    let cited = |c: Option<&Contribution>, t: Tally| -> BTreeSet<(String, String)> {
        c.map(|c| {
            c.keys(t)
                .into_iter()
                .map(|k| (c.departement.clone(), k.to_string()))
                .collect()
        })
        .unwrap_or_default()
    };
    for tally in Tally::ALL {
        let (old, new) = (cited(before, tally), cited(after, tally));
        for ((departement, key), joins) in old
            .difference(&new)
            .map(|k| (k, false))
            .chain(new.difference(&old).map(|k| (k, true)))
        {
            out.memberships.push(Membership {
                tally,
                departement: departement.clone(),
                key: key.clone(),
                joins,
            });
        }
    }
    let at = |c: Option<&Contribution>| c.map(|c| (c.departement.clone(), c.statut));
    if at(before) != at(after) {
        for (c, delta) in [(before, -1), (after, 1)] {
            if let Some((departement, statut)) = at(c) {
                *out.statuts
                    .entry(departement)
                    .or_default()
                    .entry(statut)
                    .or_default() += delta;
            }
        }
    }
    out
}

/// Whether stream sequence number `seq` comes after `than`: both are decimal strings of
/// any length (compared as numbers).
pub fn later(seq: &str, than: &str) -> bool {
    (seq.len(), seq) > (than.len(), than)
}

/// The figures of some dossiers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub par_statut: BTreeMap<Statut, u64>,
    pub distinct: BTreeMap<Tally, u64>,
}

impl Figures {
    pub fn count(&self, tally: Tally) -> u64 {
        self.distinct.get(&tally).copied().unwrap_or(0)
    }

    /// Adds another département's figures.
    pub fn add(&mut self, other: &Figures) {
        for (s, n) in &other.par_statut {
            *self.par_statut.entry(*s).or_default() += n;
        }
        for (t, n) in &other.distinct {
            *self.distinct.entry(*t).or_default() += n;
        }
    }

    /// The exact figures of these contributions, each key counted once whatever its
    /// département (the figures under the list's filters, read from the dossiers).
    pub fn exact<'a>(contributions: impl IntoIterator<Item = &'a Contribution>) -> Figures {
        let mut out = Figures::default();
        let mut keys: BTreeMap<Tally, BTreeSet<&str>> = BTreeMap::new();
        for c in contributions {
            *out.par_statut.entry(c.statut).or_default() += 1;
            for t in Tally::ALL {
                keys.entry(t).or_default().extend(c.keys(t));
            }
        }
        out.distinct = keys.into_iter().map(|(t, k)| (t, k.len() as u64)).collect();
        out
    }

    /// The answer of the route: every deposited statut, 0 included.
    pub fn to_json(&self, source: &str) -> Value {
        let par_statut: BTreeMap<&str, u64> = Statut::DEPOSITED
            .iter()
            .map(|s| (s.as_str(), self.par_statut.get(s).copied().unwrap_or(0)))
            .collect();
        json!({
            "dossiers": par_statut.values().sum::<u64>(),
            "par_statut": par_statut,
            "collectivites": self.count(Tally::Collectivites),
            "ecoles": {
                "conventionnees": self.count(Tally::Conventionnees),
                "acceptees": self.count(Tally::Acceptees),
            },
            "source": source,
        })
    }
}

/// Everything the counters hold, as computed from the dossiers themselves (the repair) or as
/// read from the table: the figures per département, the memberships' sets and what was
/// counted for each dossier.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tallies {
    pub figures: BTreeMap<String, Figures>,
    pub members: BTreeMap<(Tally, String, String), BTreeSet<DossierId>>,
    pub counted: BTreeMap<DossierId, Counted>,
}

impl Tallies {
    /// The counters these dossiers' contributions make (sequences and revisions left at
    /// their defaults: the repair keeps the stored ones).
    pub fn of<'a>(contributions: impl IntoIterator<Item = (&'a DossierId, Contribution)>) -> Self {
        let mut out = Tallies::default();
        for (id, c) in contributions {
            let figures = out.figures.entry(c.departement.clone()).or_default();
            *figures.par_statut.entry(c.statut).or_default() += 1;
            for t in Tally::ALL {
                for k in c.keys(t) {
                    out.members
                        .entry((t, c.departement.clone(), k.to_string()))
                        .or_default()
                        .insert(id.clone());
                }
            }
            out.counted.insert(
                id.clone(),
                Counted {
                    contribution: Some(c),
                    ..Counted::default()
                },
            );
        }
        for (t, departement, _) in out.members.keys() {
            *out.figures
                .entry(departement.clone())
                .or_default()
                .distinct
                .entry(*t)
                .or_default() += 1;
        }
        out
    }
}

/// What the repair writes to make the stored counters those `expected` computes: the
/// différences only, so that a second run writes nothing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Repair {
    /// Départements whose figures are set (with every count, zeros included).
    pub figures: BTreeMap<String, Figures>,
    /// Sets written whole (None: removed).
    pub members: BTreeMap<(Tally, String, String), Option<BTreeSet<DossierId>>>,
    /// Dossiers' counted items written (None: removed).
    pub counted: BTreeMap<DossierId, Option<Counted>>,
}

impl Repair {
    pub fn is_empty(&self) -> bool {
        self.figures.is_empty() && self.members.is_empty() && self.counted.is_empty()
    }

    /// The differences between what is stored and what is expected. A dossier's counted item
    /// keeps its sequence (an older record replayed later is still recognised) and moves to a
    /// later revision; one whose contribution is right stays as it is.
    pub fn between(stored: &Tallies, expected: &Tallies) -> Repair {
        let mut out = Repair::default();
        let departements: BTreeSet<&String> = stored
            .figures
            .keys()
            .chain(expected.figures.keys())
            .collect();
        for d in departements {
            let want = expected.figures.get(d).cloned().unwrap_or_default();
            if normalised(stored.figures.get(d)) != normalised(Some(&want)) {
                out.figures.insert(d.clone(), want);
            }
        }
        for (k, v) in &expected.members {
            if stored.members.get(k) != Some(v) {
                out.members.insert(k.clone(), Some(v.clone()));
            }
        }
        for k in stored.members.keys() {
            if !expected.members.contains_key(k) {
                out.members.insert(k.clone(), None);
            }
        }
        for (id, was) in &stored.counted {
            let want = expected
                .counted
                .get(id)
                .and_then(|c| c.contribution.clone());
            if was.contribution != want {
                out.counted.insert(
                    id.clone(),
                    Some(Counted {
                        contribution: want,
                        sequence: was.sequence.clone(),
                        revision: was.revision + 1,
                    }),
                );
            }
        }
        for (id, c) in &expected.counted {
            if !stored.counted.contains_key(id) {
                out.counted.insert(id.clone(), Some(c.clone()));
            }
        }
        out
    }
}

/// Figures without their zero counts (a stored département with every count at 0 equals one
/// that is absent).
fn normalised(f: Option<&Figures>) -> Figures {
    let mut f = f.cloned().unwrap_or_default();
    f.par_statut.retain(|_, n| *n != 0);
    f.distinct.retain(|_, n| *n != 0);
    f
}

/// A contribution as `Contribution::of` makes it, for the tests: `uais` conventioned or accepted
/// as the statut says.
#[cfg(test)]
pub(crate) fn sample(dep: &str, statut: Statut, siret: &str, uais: &[&str]) -> Contribution {
    let set: BTreeSet<String> = uais.iter().map(|u| u.to_string()).collect();
    Contribution {
        departement: dep.into(),
        statut,
        siret: siret.into(),
        conventionnees: if statut.conventioned() {
            set.clone()
        } else {
            BTreeSet::new()
        },
        acceptees: if statut == Statut::Accepte {
            set
        } else {
            BTreeSet::new()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::sample as c;

    fn id(n: u8) -> DossierId {
        DossierId::parse(&format!("{n:032x}")).unwrap()
    }

    /// Applies plans to counters the way the stores do, and compares with the exact tally.
    #[derive(Default)]
    struct Counters {
        statuts: BTreeMap<(String, Statut), i64>,
        members: BTreeMap<(Tally, String, String), BTreeSet<DossierId>>,
    }

    impl Counters {
        fn apply(&mut self, who: &DossierId, p: &Plan) {
            for m in &p.memberships {
                let set = self
                    .members
                    .entry((m.tally, m.departement.clone(), m.key.clone()))
                    .or_default();
                if m.joins {
                    set.insert(who.clone());
                } else {
                    set.remove(who);
                }
            }
            for (d, s) in &p.statuts {
                for (statut, n) in s {
                    *self.statuts.entry((d.clone(), *statut)).or_default() += n;
                }
            }
        }

        fn figures(&self) -> BTreeMap<String, Figures> {
            let mut out: BTreeMap<String, Figures> = BTreeMap::new();
            for ((d, s), n) in &self.statuts {
                if *n != 0 {
                    out.entry(d.clone())
                        .or_default()
                        .par_statut
                        .insert(*s, *n as u64);
                }
            }
            for ((t, d, _), set) in &self.members {
                if !set.is_empty() {
                    *out.entry(d.clone())
                        .or_default()
                        .distinct
                        .entry(*t)
                        .or_default() += 1;
                }
            }
            out
        }
    }

    #[test]
    fn plans_applied_in_turn_give_the_exact_figures() {
        let lives = [
            (
                id(1),
                vec![
                    Some(c("35", Statut::EnConstruction, "A", &["U1", "U2"])),
                    Some(c("35", Statut::EnInstruction, "A", &["U1", "U2"])),
                    Some(c("35", Statut::Accepte, "A", &["U1", "U2"])),
                ],
            ),
            (
                id(2),
                vec![
                    Some(c("35", Statut::EnConstruction, "A", &["U2", "U3"])),
                    Some(c("35", Statut::Refuse, "A", &["U2", "U3"])),
                    None, // removed by the retention
                ],
            ),
            (
                id(3),
                vec![
                    Some(c("22", Statut::EnConstruction, "B", &["V1"])),
                    Some(c("22", Statut::EnConstruction, "B", &["V1", "V2"])), // a correction
                ],
            ),
        ];
        let mut counters = Counters::default();
        let mut now: BTreeMap<DossierId, Option<Contribution>> = BTreeMap::new();
        // Interleaved, as the stream's shards would deliver them.
        for step in 0..3 {
            for (who, life) in &lives {
                let Some(next) = life.get(step) else { continue };
                let before = now.get(who).cloned().flatten();
                counters.apply(who, &plan(before.as_ref(), next.as_ref()));
                now.insert(who.clone(), next.clone());
                let exact = Tallies::of(now.iter().filter_map(|(i, c)| Some((i, c.clone()?))));
                let got = counters.figures();
                let want: BTreeMap<String, Figures> = exact
                    .figures
                    .iter()
                    .map(|(d, f)| (d.clone(), normalised(Some(f))))
                    .filter(|(_, f)| *f != Figures::default())
                    .collect();
                assert_eq!(got, want, "after step {step} of {who}");
            }
        }
        let f35 = &counters.figures()["35"];
        assert_eq!(f35.par_statut.get(&Statut::Accepte), Some(&1));
        assert_eq!(
            f35.count(Tally::Conventionnees),
            2,
            "U1 and U2, U3 left with the refusal"
        );
        assert_eq!(f35.count(Tally::Acceptees), 2);
        assert_eq!(f35.count(Tally::Collectivites), 1);
        assert_eq!(counters.figures()["22"].count(Tally::Conventionnees), 2);
    }

    #[test]
    fn the_same_contribution_plans_nothing_and_a_message_changes_nothing() {
        let a = c("35", Statut::EnInstruction, "A", &["U1"]);
        assert!(plan(Some(&a), Some(&a)).is_empty());
        assert!(plan(None, None).is_empty());
        let p = plan(None, Some(&a));
        assert_eq!(p.memberships.len(), 2, "{p:?}"); // the SIRET and one school
        assert_eq!(p.statuts["35"][&Statut::EnInstruction], 1);
    }

    #[test]
    fn a_change_of_departement_moves_every_count() {
        let a = c("35", Statut::Accepte, "A", &["U1"]);
        let b = Contribution {
            departement: "22".into(),
            ..a.clone()
        };
        let p = plan(Some(&a), Some(&b));
        assert_eq!(p.statuts["35"][&Statut::Accepte], -1);
        assert_eq!(p.statuts["22"][&Statut::Accepte], 1);
        assert_eq!(p.memberships.iter().filter(|m| m.joins).count(), 3);
        assert_eq!(p.memberships.iter().filter(|m| !m.joins).count(), 3);
    }

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(later("100", "99"));
        assert!(!later("99", "100"));
        assert!(!later("100", "100"));
        assert!(later(
            "49668312860271069383700000000000000000000000001",
            "4966831286027106938370"
        ));
    }

    #[test]
    fn exact_figures_count_each_key_once_and_every_statut() {
        let all = [
            c("35", Statut::Accepte, "A", &["U1"]),
            c("22", Statut::EnConstruction, "A", &["U1", "U2"]),
        ];
        let v = Figures::exact(&all).to_json("dossiers");
        assert_eq!(v["dossiers"], 2);
        assert_eq!(v["collectivites"], 1);
        assert_eq!(v["ecoles"]["conventionnees"], 2);
        assert_eq!(v["ecoles"]["acceptees"], 1);
        assert_eq!(v["par_statut"]["sans_suite"], 0);
        assert_eq!(v["source"], "dossiers");
    }

    #[test]
    fn the_repair_writes_differences_only() {
        let a = c("35", Statut::Accepte, "A", &["U1"]);
        let expected = Tallies::of([(&id(1), a.clone())]);
        assert!(Repair::between(&expected, &expected).is_empty());
        // Stored: a stale contribution (en instruction) with its sequence, and a set left by
        // a dossier that no longer exists.
        let mut stored = Tallies::of([(&id(1), c("35", Statut::EnInstruction, "A", &["U1"]))]);
        stored.counted.get_mut(&id(1)).unwrap().sequence = Some("42".into());
        stored.members.insert(
            (Tally::Acceptees, "35".into(), "U9".into()),
            BTreeSet::from([id(9)]),
        );
        let r = Repair::between(&stored, &expected);
        let fixed = r.counted[&id(1)].clone().unwrap();
        assert_eq!(fixed.contribution, Some(a));
        assert_eq!((fixed.sequence.as_deref(), fixed.revision), (Some("42"), 1));
        assert_eq!(
            r.members[&(Tally::Acceptees, "35".into(), "U9".into())],
            None
        );
        assert_eq!(r.figures["35"], expected.figures["35"]);
    }
}
