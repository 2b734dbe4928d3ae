//! The signatory's proof of address: a one-time code sent to the signatory's email, given
//! back before the deposit; and the quotas that keep the académie's sending identity from
//! mailing strangers on request.

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
/// Codes one address may receive in a day, whatever the dossiers asking.
pub const CODES_PER_ADDRESS_PER_DAY: u32 = 3;
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

pub fn hash_code(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

/// Whether `presented` is the code whose hash is stored, in constant time.
pub fn code_matches(presented: &str, stored_sha256: &str) -> bool {
    let presented = hash_code(presented.trim());
    presented.as_bytes().ct_eq(stored_sha256.as_bytes()).into()
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

/// The address quota for codes, in windows of a day.
pub fn address_quota(email: &str, now_seconds: i64) -> Quota {
    let day = now_seconds.div_euclid(86_400);
    Quota {
        key: format!("code#{}#{day}", hash_code(&email.to_lowercase())),
        limit: CODES_PER_ADDRESS_PER_DAY,
        window_end: (day + 1) * 86_400,
    }
}

/// What the store remembers of an address that a signatory confirmed (a year): codes to it
/// are wanted by its owner, so only the per-dossier quota bounds them.
pub fn confirmed_address_key(email: &str) -> String {
    format!("adresse-confirmee#{}", hash_code(&email.to_lowercase()))
}

/// How long a confirmed address is remembered.
pub const CONFIRMED_ADDRESS_DAYS: i64 = 365;

/// The collectivité's message quota of one dossier, in windows of a day.
pub fn message_quota(dossier: &str, now_seconds: i64) -> Quota {
    let day = now_seconds.div_euclid(86_400);
    Quota {
        key: format!("message#{dossier}#{day}"),
        limit: MESSAGES_PER_DOSSIER_PER_DAY,
        window_end: (day + 1) * 86_400,
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
    fn codes_are_six_digits_compared_by_hash() {
        for _ in 0..100 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
            assert!(code_matches(&c, &hash_code(&c)));
            assert!(!code_matches("000000x", &hash_code(&c)));
        }
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
        let a = address_quota("Mairie@exemple.fr", 86_400 * 10 + 5);
        assert_eq!(a, address_quota("mairie@exemple.fr", 86_400 * 10 + 80_000));
        assert_ne!(a.key, address_quota("mairie@exemple.fr", 86_400 * 11).key);
        assert_eq!(a.window_end, 86_400 * 11);
    }
}
