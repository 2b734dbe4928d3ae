//! The convention's term and its termination, as article 7 of its text states them: it takes
//! effect on the day the collectivité signs it (the deposit), for one year renewed tacitly up to
//! five; either party may terminate it with three months' notice.

use super::time::{paris_date, Now};
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// What article 7 of a text version sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Article7 {
    /// The limit of the tacit renewals, in years from the signature.
    pub years: u32,
    /// The notice of a termination, in months.
    pub notice_months: u32,
}

/// Article 7 of the text version `version_texte` (every version so far: five years, three
/// months; a new text with other durations adds its row here).
pub fn article7(version_texte: &str) -> Article7 {
    match version_texte {
        "2026-11" | "2026-12" => Article7 {
            years: 5,
            notice_months: 3,
        },
        // A version this build does not know (a newer text read by an older build): the
        // durations of the current text.
        _ => Article7 {
            years: 5,
            notice_months: 3,
        },
    }
}

/// When the convention takes effect and when it ends at the latest (`echeance` of the view),
/// as Paris dates "YYYY-MM-DD".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Echeance {
    pub prend_effet_le: String,
    pub fin_le: String,
}

/// The term of a convention signed at `depose_le` (RFC 3339) under `version_texte`.
pub fn echeance(depose_le: &str, version_texte: &str) -> Option<Echeance> {
    let start = paris_date(depose_le)?;
    let end = start.checked_add_months(Months::new(12 * article7(version_texte).years))?;
    Some(Echeance {
        prend_effet_le: start.format("%Y-%m-%d").to_string(),
        fin_le: end.format("%Y-%m-%d").to_string(),
    })
}

/// Days before `fin_le` when the signatory and the académie are reminded of the term, furthest
/// first.
pub const REMINDER_DAYS: [i64; 2] = [90, 30];

/// The reminder due on `today` for a term ending on `fin_le`, given those already sent: the
/// nearest threshold reached and not sent (a run missed for days sends one reminder, not two);
/// none once the term is past.
pub fn reminder_due(fin_le: NaiveDate, today: NaiveDate, sent: &[u32]) -> Option<u32> {
    let left = (fin_le - today).num_days();
    if left < 0 {
        return None;
    }
    REMINDER_DAYS
        .iter()
        .rev()
        .find(|d| left <= **d)
        .map(|d| *d as u32)
        .filter(|d| !sent.iter().any(|s| s <= d))
}

/// Who terminates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partie {
    Collectivite,
    Academie,
}

impl Partie {
    /// « par la collectivité », « par l’académie ».
    pub fn par(self) -> &'static str {
        match self {
            Partie::Collectivite => "par la collectivité",
            Partie::Academie => "par l’académie",
        }
    }
}

/// A termination asked for: by whom, why, and when it takes effect (`resiliation` of the view).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resiliation {
    pub demandee_le: String,
    pub par: Partie,
    pub motif: String,
    /// Paris date "YYYY-MM-DD": the notice after the request.
    pub effet_le: String,
}

/// The day a termination asked `now` takes effect under `version_texte`.
pub fn effet_le(now: &Now, version_texte: &str) -> String {
    let today = today(now);
    today
        .checked_add_months(Months::new(article7(version_texte).notice_months))
        .unwrap_or(today)
        .format("%Y-%m-%d")
        .to_string()
}

/// The Paris date of `now`.
pub fn today(now: &Now) -> NaiveDate {
    paris_date(&now.stamp()).unwrap_or_else(|| now.utc().date_naive())
}

/// "YYYY-MM-DD" read back.
pub fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Days before a draft's deletion when its confirmed signatory is warned.
pub const DRAFT_WARNING_DAYS: i64 = 14;

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        date(s).unwrap()
    }

    #[test]
    fn the_term_is_five_years_from_the_paris_day_of_signature() {
        // 23:30 UTC on 31 December is already 1 January in Paris.
        let e = echeance("2026-12-31T23:30:00Z", "2026-12").unwrap();
        assert_eq!(e.prend_effet_le, "2027-01-01");
        assert_eq!(e.fin_le, "2032-01-01");
        let leap = echeance("2028-02-29T10:00:00Z", "2026-12").unwrap();
        assert_eq!(leap.fin_le, "2033-02-28");
    }

    #[test]
    fn reminders_come_at_ninety_then_thirty_days_once_each() {
        let fin = d("2031-12-01");
        assert_eq!(reminder_due(fin, d("2031-09-01"), &[]), None, "91 days");
        assert_eq!(reminder_due(fin, d("2031-09-02"), &[]), Some(90));
        assert_eq!(reminder_due(fin, d("2031-09-03"), &[90]), None);
        assert_eq!(reminder_due(fin, d("2031-11-01"), &[90]), Some(30));
        assert_eq!(reminder_due(fin, d("2031-11-01"), &[90, 30]), None);
        // Missed runs: the nearest threshold only, and none after the term.
        assert_eq!(reminder_due(fin, d("2031-11-20"), &[]), Some(30));
        assert_eq!(reminder_due(fin, d("2031-12-02"), &[]), None);
    }

    #[test]
    fn a_termination_takes_effect_after_three_months() {
        let now = Now::at("2026-11-30T10:00:00Z".parse().unwrap());
        assert_eq!(effet_le(&now, "2026-12"), "2027-02-28");
    }
}
