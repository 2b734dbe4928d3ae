//! The signatory's proof of address: a one-time code sent to the signatory's email, given
//! back before the deposit; and the quotas that keep the académie's sending identity from
//! mailing strangers on request.

use super::ids::DossierId;
use super::life::Refusal;
use super::time::paris_offset_hours;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How long a code stays valid.
pub const CODE_MINUTES: i64 = 15;
/// Wrong codes before the code is void.
pub const MAX_TRIES: u8 = 5;
/// Codes one dossier may send in an hour.
pub const CODES_PER_DOSSIER_PER_HOUR: usize = 5;
/// Least delay between two codes of one dossier.
pub const RESEND_SECONDS: i64 = 60;
/// Codes one address nobody confirmed may receive in a day, whatever the dossiers asking.
pub const CODES_PER_ADDRESS_PER_DAY: u32 = 3;
/// Codes an address its owner confirmed once may receive in a day (its owner wants them; the
/// cap still bounds floods and guessing across dossiers).
pub const CODES_PER_CONFIRMED_ADDRESS_PER_DAY: u32 = 10;
/// Messages the collectivité may write on one dossier in a day.
pub const MESSAGES_PER_DOSSIER_PER_DAY: u32 = 20;

/// A code sent and not yet confirmed: only its hash is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeEnvoye {
    /// The address it was sent to (normalised as [`Email`](super::email::Email) stores it).
    pub email: String,
    pub code_sha256: String,
    /// RFC 3339.
    pub envoye_le: String,
    /// Epoch seconds.
    pub expire_le: i64,
    /// Wrong codes given so far.
    #[serde(default)]
    pub essais: u8,
}

/// The address the signatory confirmed, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub email: String,
    /// RFC 3339.
    pub le: String,
}

/// The address as a confirmation is kept for it (an [`Email`](super::email::Email) parsed),
/// or None when it is not a valid address.
pub fn normalised(email: Option<&str>) -> Option<String> {
    super::email::Email::parse(email?)
        .ok()
        .map(|e| e.as_str().to_string())
}

/// Six digits, uniformly drawn from the operating system's CSPRNG.
pub fn new_code() -> String {
    use rand::Rng;
    let n: u32 = rand::rngs::OsRng.gen_range(0..1_000_000);
    format!("{n:06}")
}

/// HMAC-SHA256(`key`, dossier and code): six digits have a million values, so a bare hash in
/// the table (or its stream, or a backup) would give the code back in a million hashes; keyed
/// by the server's secret it gives nothing.
pub fn hash_code(key: &[u8], dossier: &DossierId, code: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(format!("code-signataire:{dossier}:{code}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `presented` is the code whose keyed hash is stored, in constant time.
pub fn code_matches(key: &[u8], dossier: &DossierId, presented: &str, stored: &str) -> bool {
    let presented = hash_code(key, dossier, presented.trim());
    presented.as_bytes().ct_eq(stored.as_bytes()).into()
}

/// An address as quotas count it: case folded, `+tag` of the local part dropped (so that
/// `victime+1@…`, `victime+2@…` share one quota).
fn quota_address(email: &str) -> String {
    let e = email.trim().to_lowercase();
    match e.split_once('@') {
        Some((local, domain)) => {
            let local = local.split('+').next().unwrap_or(local);
            format!("{local}@{domain}")
        }
        None => e,
    }
}

/// The Paris calendar day of an instant (days since the epoch) and when it ends (epoch
/// seconds): « aujourd’hui » in the messages is the day the reader lives in.
fn paris_day(now_seconds: i64) -> (i64, i64) {
    let t = chrono::DateTime::from_timestamp(now_seconds, 0).unwrap_or_default();
    let offset = paris_offset_hours(t) * 3600;
    let day = (now_seconds + offset).div_euclid(86_400);
    (day, (day + 1) * 86_400 - offset)
}

/// The address as the answer shows it: « c•••••@exemple.fr ».
pub fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••••@{domain}")
        }
        None => "•••••".into(),
    }
}

/// A quota shared by requests that do not share a dossier (one address, asked by several
/// dossiers): `limit` takes per `key` until `window_end` (epoch seconds), counted by the
/// store in one conditional write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quota {
    pub key: String,
    pub limit: u32,
    pub window_end: i64,
}

/// The address quota for codes, in windows of a Paris day: tighter for an address nobody
/// confirmed yet.
pub fn address_quota(email: &str, now_seconds: i64, confirmed_before: bool) -> Quota {
    let (day, end) = paris_day(now_seconds);
    Quota {
        key: format!(
            "code#{}#{day}",
            hex::encode(Sha256::digest(quota_address(email)))
        ),
        limit: if confirmed_before {
            CODES_PER_CONFIRMED_ADDRESS_PER_DAY
        } else {
            CODES_PER_ADDRESS_PER_DAY
        },
        window_end: end,
    }
}

/// Requests « J’ai perdu le lien de mon dossier » an address may make in a Paris day, whatever
/// the SIRETs typed and whether any dossier matched (the answer is the same either way).
pub const LOST_LINK_REQUESTS_PER_ADDRESS_PER_DAY: u32 = 3;

/// The address quota of lost-link requests, in windows of a Paris day.
pub fn lost_link_quota(email: &str, now_seconds: i64) -> Quota {
    let (day, end) = paris_day(now_seconds);
    Quota {
        key: format!(
            "lien-perdu#{}#{day}",
            hex::encode(Sha256::digest(quota_address(email)))
        ),
        limit: LOST_LINK_REQUESTS_PER_ADDRESS_PER_DAY,
        window_end: end,
    }
}

/// What the store remembers of an address that a signatory confirmed (a year): codes to it
/// are wanted by its owner, so only the per-dossier quota bounds them.
pub fn confirmed_address_key(email: &str) -> String {
    format!(
        "adresse-confirmee#{}",
        hex::encode(Sha256::digest(email.trim().to_lowercase()))
    )
}

/// How long a confirmed address is remembered.
pub const CONFIRMED_ADDRESS_DAYS: i64 = 365;

/// The collectivité's message quota of one dossier, in windows of a day.
pub fn message_quota(dossier: &str, now_seconds: i64) -> Quota {
    let (day, end) = paris_day(now_seconds);
    Quota {
        key: format!("message#{dossier}#{day}"),
        limit: MESSAGES_PER_DOSSIER_PER_DAY,
        window_end: end,
    }
}

/// A quota reached, `wait` seconds before it frees up: `say` words the French detail from when
/// (« dans 3 minutes »), and the answer's `Retry-After` is the same wait.
pub fn too_many(wait: i64, say: impl FnOnce(&str) -> String) -> Refusal {
    Refusal::TooMany {
        detail: say(&wait_words(wait)),
        retry_after: wait,
    }
}

impl Quota {
    /// The refusal once this quota is used up at `now_seconds`: it frees up when its window ends.
    pub fn used_up(&self, now_seconds: i64, say: impl FnOnce(u32, &str) -> String) -> Refusal {
        too_many(self.window_end - now_seconds, |when| say(self.limit, when))
    }
}

/// « dans 3 minutes », « dans 45 secondes », « dans 2 heures » for a wait of `seconds`.
pub fn wait_words(seconds: i64) -> String {
    let s = seconds.max(1);
    if s < 90 {
        format!("dans {s} seconde{}", if s > 1 { "s" } else { "" })
    } else if s < 5400 {
        let m = (s + 59) / 60;
        format!("dans {m} minutes")
    } else {
        let h = (s + 3599) / 3600;
        format!("dans {h} heures")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_compared_by_keyed_hash() {
        let d = DossierId::generate();
        for _ in 0..100 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
            assert!(code_matches(b"k", &d, &c, &hash_code(b"k", &d, &c)));
            assert!(!code_matches(b"k", &d, "000000x", &hash_code(b"k", &d, &c)));
            assert!(!code_matches(b"autre", &d, &c, &hash_code(b"k", &d, &c)));
        }
        assert_ne!(
            hash_code(b"k", &d, "123456"),
            hex::encode(Sha256::digest("123456"))
        );
    }

    #[test]
    fn quota_days_are_paris_days_and_tags_share_an_address() {
        // 2026-12-01 23:30 UTC is 2 December 00:30 in Paris: a new day has begun there.
        let t = 1_796_167_800;
        let (day, end) = paris_day(t);
        assert_eq!(end, 1_796_252_400, "ends when 3 December begins in Paris");
        assert_eq!(paris_day(t - 3600).0, day - 1);
        assert_eq!(
            address_quota("Victime+1@exemple.fr", t, false).key,
            address_quota("victime+2@exemple.fr", t, false).key
        );
        assert_eq!(address_quota("v@exemple.fr", t, false).limit, 3);
        assert_eq!(address_quota("v@exemple.fr", t, true).limit, 10);
    }

    #[test]
    fn addresses_are_masked_and_waits_said_in_words() {
        assert_eq!(masked("camille@exemple.fr"), "c•••••@exemple.fr");
        assert_eq!(wait_words(45), "dans 45 secondes");
        assert_eq!(wait_words(600), "dans 10 minutes");
        assert_eq!(wait_words(7200), "dans 2 heures");
    }

    #[test]
    fn an_address_quota_is_per_address_and_per_day() {
        let a = address_quota("Mairie@exemple.fr", 86_400 * 10 + 5, false);
        assert_eq!(
            a,
            address_quota("mairie@exemple.fr", 86_400 * 10 + 80_000, false)
        );
        assert_ne!(
            a.key,
            address_quota("mairie@exemple.fr", 86_400 * 11, false).key
        );
        assert_eq!(
            a.window_end,
            86_400 * 11 - 3600,
            "midnight in Paris (winter)"
        );
    }
}
