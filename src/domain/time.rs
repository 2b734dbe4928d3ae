//! Time in the dossier's life: the clock every step is given ([`Now`]), and dates as French
//! readers expect them, in Europe/Paris time (CET/CEST), without a tz database: the EU rule is
//! fixed (summer time from the last Sunday of March to the last Sunday of October, switching
//! at 01:00 UTC).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};

/// The instant a step happens. Steps take it as input rather than reading the system clock,
/// so that a step is a plain function of its inputs (and tests choose the time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now(DateTime<Utc>);

impl Now {
    /// The system clock: called once per request or record, at the edge.
    pub fn system() -> Now {
        Now(Utc::now())
    }

    pub fn at(t: DateTime<Utc>) -> Now {
        Now(t)
    }

    /// As stored on the dossier: RFC 3339, UTC, milliseconds ("2026-09-01T08:00:00.000Z").
    pub fn stamp(&self) -> String {
        self.0.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// Epoch seconds (DynamoDB's TTL attribute).
    pub fn seconds(&self) -> i64 {
        self.0.timestamp()
    }

    /// Epoch milliseconds (the acknowledgement lease).
    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    pub fn utc(&self) -> DateTime<Utc> {
        self.0
    }
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let first_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("valid date");
    let last = first_next.pred_opt().expect("valid date");
    let back = last.weekday().num_days_from_sunday();
    last - Duration::days(i64::from(back))
}

/// Offset of Paris from UTC at that instant, in hours.
pub fn paris_offset_hours(t: DateTime<Utc>) -> i64 {
    let y = t.year();
    let start = Utc.from_utc_datetime(&last_sunday(y, 3).and_hms_opt(1, 0, 0).expect("time"));
    let end = Utc.from_utc_datetime(&last_sunday(y, 10).and_hms_opt(1, 0, 0).expect("time"));
    if t >= start && t < end {
        2
    } else {
        1
    }
}

const MOIS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// "28 novembre 2026 à 21 h 14 (heure de Paris)".
/// The same instant with Paris's offset of that moment (PDF dates, XMP).
pub fn paris(t: DateTime<Utc>) -> DateTime<chrono::FixedOffset> {
    let offset = chrono::FixedOffset::east_opt((paris_offset_hours(t) * 3600) as i32)
        .expect("+1 or +2 hours");
    t.with_timezone(&offset)
}

pub fn french_datetime(t: DateTime<Utc>) -> String {
    let local = t + Duration::hours(paris_offset_hours(t));
    let _ = Weekday::Mon; // weekday names are not printed: dates read unambiguously without them
    format!(
        "{} {} {} à {} h {:02} (heure de Paris)",
        local.day(),
        MOIS[local.month0() as usize],
        local.year(),
        local.format("%H"),
        local.minute()
    )
}

/// « 28 mars 2026 », « 1er mars 2026 ».
pub fn french_date(d: NaiveDate) -> String {
    let day = if d.day() == 1 {
        "1er".to_string()
    } else {
        d.day().to_string()
    };
    format!("{day} {} {}", MOIS[d.month0() as usize], d.year())
}

/// The Paris calendar date of a stored RFC 3339 timestamp.
pub fn paris_date(rfc3339: &str) -> Option<NaiveDate> {
    let t = DateTime::parse_from_rfc3339(rfc3339)
        .ok()?
        .with_timezone(&Utc);
    Some((t + Duration::hours(paris_offset_hours(t))).date_naive())
}

/// Parses our stored RFC 3339 timestamps; a malformed one is shown as stored.
pub fn french_datetime_str(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| french_datetime(t.with_timezone(&Utc)))
        .unwrap_or_else(|_| rfc3339.to_string())
}

use chrono::Timelike;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winter_and_summer_time() {
        let winter = Utc.with_ymd_and_hms(2026, 11, 28, 20, 14, 0).unwrap();
        assert_eq!(
            french_datetime(winter),
            "28 novembre 2026 à 21 h 14 (heure de Paris)"
        );
        let summer = Utc.with_ymd_and_hms(2026, 7, 14, 8, 5, 0).unwrap();
        assert_eq!(
            french_datetime(summer),
            "14 juillet 2026 à 10 h 05 (heure de Paris)"
        );
    }

    #[test]
    fn switches_on_the_last_sundays_at_one_utc() {
        // 2026: 29 March and 25 October.
        let before = Utc.with_ymd_and_hms(2026, 3, 29, 0, 59, 59).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap();
        assert_eq!(
            (paris_offset_hours(before), paris_offset_hours(after)),
            (1, 2)
        );
        let before = Utc.with_ymd_and_hms(2026, 10, 25, 0, 59, 59).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 10, 25, 1, 0, 0).unwrap();
        assert_eq!(
            (paris_offset_hours(before), paris_offset_hours(after)),
            (2, 1)
        );
    }
}
