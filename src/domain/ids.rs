//! Dossier identifiers and the applicant's secret jeton.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// Public identifier of a dossier: 128 random bits, 32 lowercase hex digits. Not a secret:
/// it never grants access on its own. Parsed once at the edge (path, stream image, stored
/// item) and kept typed through the record.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct DossierId(String);

impl TryFrom<String> for DossierId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        DossierId::parse(&s).ok_or_else(|| format!("identifiant de dossier mal formé : {s:?}"))
    }
}

impl From<DossierId> for String {
    fn from(id: DossierId) -> String {
        id.0
    }
}

impl DossierId {
    pub fn generate() -> Self {
        let mut b = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut b);
        DossierId(hex::encode(b))
    }

    /// `None` for anything that is not exactly 32 lowercase hex digits: such ids answer 404.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| DossierId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DossierId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The human number printed on the convention and in emails: "ENT-000042".
pub fn numero(n: u64) -> String {
    format!("ENT-{n:06}")
}

/// The applicant's secret: 256 random bits, base64url. Only its SHA-256 is stored.
pub struct Jeton(String);

impl Jeton {
    pub fn generate() -> Self {
        let mut b = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut b);
        Jeton(URL_SAFE_NO_PAD.encode(b))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> String {
        hash_jeton(&self.0)
    }
}

pub fn hash_jeton(jeton: &str) -> String {
    hex::encode(Sha256::digest(jeton.as_bytes()))
}

/// Constant-time comparison of a presented jeton with a stored hash.
pub fn jeton_matches(presented: &str, stored_hash: &str) -> bool {
    hash_jeton(presented)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// Verification code printed on the convention: 12 characters of an alphabet without
/// look-alikes (no 0/O, 1/I/L), grouped for reading aloud: "K7QM-4TZX-9HCR". Derived from the
/// dossier id with a keyed hash, so that a retried generation prints the same code.
pub fn verification_code(secret: &[u8], id: &DossierId) -> String {
    version_verification_code(secret, id, 1)
}

/// The verification code of version `version` of a dossier's convention. Version 1 keeps the
/// code derived from the id alone, so that conventions printed before versions existed stay
/// verifiable; later versions derive theirs from (id, version), with the same secret: each
/// printed version has its own code, and a retried rendering prints the same one.
pub fn version_verification_code(secret: &[u8], id: &DossierId, version: u32) -> String {
    use hmac::{Hmac, Mac};
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(b"verification:");
    mac.update(id.as_str().as_bytes());
    if version > 1 {
        // A separator no id contains (ids are hex): (id, N) never reads as another id.
        mac.update(format!(":v{version}").as_bytes());
    }
    let digest = mac.finalize().into_bytes();
    let chars: Vec<u8> = digest[..12]
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()])
        .collect();
    chars
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_parse_back() {
        let a = DossierId::generate();
        assert_ne!(a, DossierId::generate());
        assert_eq!(DossierId::parse(a.as_str()), Some(a));
        assert_eq!(DossierId::parse("../etc/passwd"), None);
        assert_eq!(DossierId::parse(&"A".repeat(32)), None);
    }

    #[test]
    fn jeton_is_256_bits_and_checked_by_hash() {
        let j = Jeton::generate();
        assert_eq!(URL_SAFE_NO_PAD.decode(j.as_str()).unwrap().len(), 32);
        let h = j.hash();
        assert!(jeton_matches(j.as_str(), &h));
        assert!(!jeton_matches("autre", &h));
    }

    #[test]
    fn verification_code_shape() {
        let id = DossierId::generate();
        let c = verification_code(b"k", &id);
        assert_eq!(c, verification_code(b"k", &id));
        assert_ne!(c, verification_code(b"k", &DossierId::generate()));
        assert_eq!(c.len(), 14);
        assert_eq!(c.matches('-').count(), 2);
        assert_eq!(numero(42), "ENT-000042");
        // Version 1 is the code printed before versions existed; each later version has its own.
        assert_eq!(version_verification_code(b"k", &id, 1), c);
        let v2 = version_verification_code(b"k", &id, 2);
        assert_ne!(v2, c);
        assert_ne!(v2, version_verification_code(b"k", &id, 3));
        assert_eq!(v2, version_verification_code(b"k", &id, 2));
        assert_eq!(v2.len(), 14);
    }
}

/// The capability carried by email links. The stream consumer that sends the email never sees
/// the applicant's jeton (only its hash is stored), so links carry HMAC-SHA256(secret, id)
/// instead: recomputable by the server, useless without the secret, revoked for every dossier
/// by rotating it, for one dossier by moving its access `generation` on (the académie's
/// « Renouveler l’accès »). Generation 0 is the link of before generations existed.
pub fn link_jeton(secret: &[u8], id: &DossierId, generation: u32) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(b"dossier:");
    mac.update(id.as_str().as_bytes());
    if generation > 0 {
        mac.update(format!(":acces:{generation}").as_bytes());
    }
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Access check for a presented jeton: the applicant's own (by hash) or an email link's of
/// the dossier's current access generation (by HMAC), both compared in constant time.
pub fn access_granted(
    presented: &str,
    stored_hash: &str,
    secret: &[u8],
    id: &DossierId,
    generation: u32,
) -> bool {
    let by_hash = jeton_matches(presented, stored_hash);
    let by_link: bool = link_jeton(secret, id, generation)
        .as_bytes()
        .ct_eq(presented.as_bytes())
        .into();
    by_hash | by_link
}

#[cfg(test)]
mod link_tests {
    use super::*;

    #[test]
    fn link_jeton_is_per_dossier_and_per_secret() {
        let id = DossierId::generate();
        let other = DossierId::generate();
        let l = link_jeton(b"s1", &id, 0);
        assert!(access_granted(&l, "00", b"s1", &id, 0));
        assert!(!access_granted(&l, "00", b"s2", &id, 0));
        assert!(!access_granted(&l, "00", b"s1", &other, 0));
        // Renewed: the earlier link opens nothing, the new one does.
        let renewed = link_jeton(b"s1", &id, 1);
        assert_ne!(renewed, l);
        assert!(!access_granted(&l, "00", b"s1", &id, 1));
        assert!(access_granted(&renewed, "00", b"s1", &id, 1));
        // A voided jeton (empty hash) matches nothing, not even an empty one.
        assert!(!access_granted("", "", b"s1", &id, 1));
    }
}
