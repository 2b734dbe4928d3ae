//! The signature dictionary of a sealed convention (PAdES baseline B-B: SubFilter
//! `ETSI.CAdES.detached`, the signing time in `/M`, no signing-time attribute in the CMS), and
//! the two steps around the seal: the file is written with room for the signature, the digest
//! of every byte but that room is signed, the signature fills the room. The signed range thus
//! covers the whole file, widget and appearance included; nothing is appended afterwards.

use super::objects::{date, text_string};
use sha2::{Digest, Sha256};
use std::io::Write as _;

/// What the signature dictionary says, and the room the signature needs.
#[derive(Clone, Debug)]
pub struct SealSlot {
    /// The seal's holder, as its certificate names it.
    pub name: String,
    pub reason: String,
    pub location: String,
    pub time: chrono::DateTime<chrono::FixedOffset>,
    /// Upper bound of the DER signature's length, in bytes.
    pub max_len: usize,
}

/// Room of the byte range: four numbers written in place once the file's length is known.
const BYTE_RANGE_ROOM: &str = "[0 0000000000 0000000000 0000000000]";

/// Where the signature dictionary's two variable parts are in the written file.
#[derive(Clone, Copy, Debug)]
pub struct Placeholders {
    byte_range: usize,
    /// Offset of `<` and length of `<…>` of /Contents.
    contents: usize,
    contents_len: usize,
}

/// Writes the body of the signature dictionary at the end of `buf`; returns where its
/// placeholders are.
pub fn write_dictionary(buf: &mut Vec<u8>, slot: &SealSlot) -> Placeholders {
    let _ = write!(
        buf,
        "<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/M{}/Name{}/Reason{}/Location{}/ByteRange",
        date(&slot.time),
        text_string(&slot.name),
        text_string(&slot.reason),
        text_string(&slot.location),
    );
    let byte_range = buf.len();
    buf.extend_from_slice(BYTE_RANGE_ROOM.as_bytes());
    buf.extend_from_slice(b"/Contents");
    let contents = buf.len();
    buf.push(b'<');
    buf.resize(buf.len() + 2 * slot.max_len, b'0');
    buf.push(b'>');
    buf.extend_from_slice(b">>");
    Placeholders {
        byte_range,
        contents,
        contents_len: 2 * slot.max_len + 2,
    }
}

/// A complete file whose signature is still zeros.
pub struct Unsealed {
    bytes: Vec<u8>,
    at: Placeholders,
}

#[derive(Debug, thiserror::Error)]
#[error("signature de {len} octets, plus longue que la place réservée ({room} octets)")]
pub struct SignatureTooLong {
    pub len: usize,
    pub room: usize,
}

impl Unsealed {
    /// Writes the byte range: everything before `<` and after `>` of /Contents.
    pub fn new(mut bytes: Vec<u8>, at: Placeholders) -> Unsealed {
        let after = at.contents + at.contents_len;
        let range = format!("[0 {} {} {}", at.contents, after, bytes.len() - after);
        let room = &mut bytes[at.byte_range..at.byte_range + BYTE_RANGE_ROOM.len()];
        debug_assert!(range.len() < room.len(), "ten digits hold any PDF we write");
        room.fill(b' ');
        room[..range.len()].copy_from_slice(range.as_bytes());
        *room.last_mut().expect("non-empty room") = b']';
        Unsealed { bytes, at }
    }

    /// SHA-256 of the signed range: what the seal signs (the CMS message-digest).
    pub fn digest(&self) -> [u8; 32] {
        let after = self.at.contents + self.at.contents_len;
        let mut h = Sha256::new();
        h.update(&self.bytes[..self.at.contents]);
        h.update(&self.bytes[after..]);
        h.finalize().into()
    }

    /// The file with the DER signature in place (hex, zero-padded as PDF readers expect).
    pub fn seal(mut self, signature: &[u8]) -> Result<Vec<u8>, SignatureTooLong> {
        let room = (self.at.contents_len - 2) / 2;
        if signature.len() > room {
            return Err(SignatureTooLong {
                len: signature.len(),
                room,
            });
        }
        let hex = hex::encode_upper(signature);
        let start = self.at.contents + 1;
        self.bytes[start..start + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(self.bytes)
    }

    /// The file as written, signature zeros included (benchmarks, tests).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot() -> SealSlot {
        SealSlot {
            name: "Sceau de l’Académie de Rennes".into(),
            reason: "Convention scellée par l’académie".into(),
            location: "Rennes".into(),
            time: chrono::DateTime::parse_from_rfc3339("2026-11-28T21:14:05+01:00").unwrap(),
            max_len: 8,
        }
    }

    #[test]
    fn the_byte_range_covers_everything_but_the_signature() {
        let mut buf = b"head ".to_vec();
        let at = write_dictionary(&mut buf, &slot());
        buf.extend_from_slice(b" tail");
        let u = Unsealed::new(buf, at);
        let text = String::from_utf8_lossy(u.bytes()).into_owned();
        let start = text.find("/ByteRange[").unwrap() + 11;
        let numbers: Vec<usize> = text[start..text[start..].find(']').unwrap() + start]
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(numbers[0], 0);
        assert_eq!(&u.bytes()[numbers[1]..numbers[1] + 1], b"<");
        assert_eq!(&u.bytes()[numbers[2] - 1..numbers[2]], b">");
        assert_eq!(numbers[2] + numbers[3], u.bytes().len());
        let digest = u.digest();
        let sealed = u.seal(&[0xAB, 0xCD]).unwrap();
        assert!(String::from_utf8_lossy(&sealed).contains("/Contents<ABCD000000000000>"));
        // Filling the room changes nothing that was signed.
        let again = Unsealed::new(sealed, at);
        assert_eq!(again.digest(), digest);
    }

    #[test]
    fn a_signature_longer_than_its_room_is_refused() {
        let mut buf = Vec::new();
        let at = write_dictionary(&mut buf, &slot());
        let err = Unsealed::new(buf, at).seal(&[0; 9]).unwrap_err();
        assert_eq!(err.room, 8);
    }
}
