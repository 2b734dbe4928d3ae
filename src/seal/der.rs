//! The little DER (X.690) this module needs: a writer for what the seal builds (CMS SignedData,
//! a certificate, a certificate request) and a bounds-checked reader for what it takes out of
//! a certificate. Written here rather than with RustCrypto's `der`/`cms`/`x509-cert`: a dozen
//! tags do not justify a crate family's compile time on this project's machines.
//!
//! Only what DER allows and this module meets: one-byte tags (numbers below 31), definite
//! lengths of at most four bytes. The reader refuses anything else with an error, never a panic.

// ------------------------------------------------------------------ tags
pub const BOOLEAN: u8 = 0x01;
pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub const UTF8_STRING: u8 = 0x0c;
pub const PRINTABLE_STRING: u8 = 0x13;
pub const T61_STRING: u8 = 0x14;
pub const IA5_STRING: u8 = 0x16;
pub const UTC_TIME: u8 = 0x17;
pub const GENERALIZED_TIME: u8 = 0x18;
pub const UNIVERSAL_STRING: u8 = 0x1c;
pub const BMP_STRING: u8 = 0x1e;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;

/// `[n]` constructed, context-specific (EXPLICIT tagging, or IMPLICIT over a constructed type).
pub const fn context(n: u8) -> u8 {
    0xa0 | n
}

// ------------------------------------------------------------------ object identifiers
/// An object identifier by its arcs; `encode` gives the DER content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Oid(pub &'static [u64]);

impl Oid {
    /// The content octets (base-128 arcs, the first two merged as 40·a + b).
    pub fn content(&self) -> Vec<u8> {
        let arcs = self.0;
        let mut out = Vec::with_capacity(arcs.len() + 4);
        push_base128(&mut out, arcs[0] * 40 + arcs.get(1).copied().unwrap_or(0));
        for &a in arcs.iter().skip(2) {
            push_base128(&mut out, a);
        }
        out
    }

    /// The whole TLV.
    pub fn der(&self) -> Vec<u8> {
        tlv(OID, &self.content())
    }
}

/// Seven bits a byte, most significant group first, the high bit set on all but the last.
fn push_base128(out: &mut Vec<u8>, v: u64) {
    let mut groups = vec![(v & 0x7f) as u8];
    let mut rest = v >> 7;
    while rest > 0 {
        groups.push((rest & 0x7f) as u8 | 0x80);
        rest >>= 7;
    }
    out.extend(groups.iter().rev());
}

pub const ID_DATA: Oid = Oid(&[1, 2, 840, 113549, 1, 7, 1]);
pub const ID_SIGNED_DATA: Oid = Oid(&[1, 2, 840, 113549, 1, 7, 2]);
pub const ID_CONTENT_TYPE: Oid = Oid(&[1, 2, 840, 113549, 1, 9, 3]);
pub const ID_MESSAGE_DIGEST: Oid = Oid(&[1, 2, 840, 113549, 1, 9, 4]);
/// Named only to prove, in the tests, that it is never written (PAdES B-B forbids it).
pub const ID_SIGNING_TIME: Oid = Oid(&[1, 2, 840, 113549, 1, 9, 5]);
pub const ID_EXTENSION_REQUEST: Oid = Oid(&[1, 2, 840, 113549, 1, 9, 14]);
pub const ID_SIGNING_CERTIFICATE_V2: Oid = Oid(&[1, 2, 840, 113549, 1, 9, 16, 2, 47]);
pub const ID_SHA256: Oid = Oid(&[2, 16, 840, 1, 101, 3, 4, 2, 1]);
pub const ECDSA_WITH_SHA256: Oid = Oid(&[1, 2, 840, 10045, 4, 3, 2]);
pub const ID_AT_COMMON_NAME: Oid = Oid(&[2, 5, 4, 3]);
pub const ID_AT_COUNTRY: Oid = Oid(&[2, 5, 4, 6]);
pub const ID_AT_ORGANIZATION: Oid = Oid(&[2, 5, 4, 10]);
pub const ID_CE_KEY_USAGE: Oid = Oid(&[2, 5, 29, 15]);

// ------------------------------------------------------------------ writer
/// Appends a DER length.
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Tag, length, content.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// A constructed value of already encoded parts, in the order given.
pub fn constructed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

pub fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    constructed(SEQUENCE, parts)
}

/// A SET OF: DER orders its elements by their encodings (X.690 §11.6), which the signature over
/// signed attributes depends on.
pub fn set_of(parts: &[&[u8]]) -> Vec<u8> {
    let mut sorted = parts.to_vec();
    sorted.sort();
    constructed(SET, &sorted)
}

/// A non-negative INTEGER from big-endian magnitude bytes (leading zeros dropped, a zero byte
/// added when the high bit is set, so that it stays positive).
pub fn unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|b| **b == 0).count();
    let digits = &magnitude[skip..];
    let mut content = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(digits);
    tlv(INTEGER, &content)
}

pub fn small_integer(v: u8) -> Vec<u8> {
    unsigned_integer(&[v])
}

pub fn octet_string(bytes: &[u8]) -> Vec<u8> {
    tlv(OCTET_STRING, bytes)
}

/// A BIT STRING of whole bytes (no unused bits): signatures, keys.
pub fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bytes.len() + 1);
    content.push(0);
    content.extend_from_slice(bytes);
    tlv(BIT_STRING, &content)
}

/// A named-bit BIT STRING (keyUsage): bit 0 is the high bit of the first byte; DER drops the
/// trailing zero bits and says how many of the last byte are unused.
pub fn named_bits(bits: &[u8]) -> Vec<u8> {
    let Some(&highest) = bits.iter().max() else {
        return tlv(BIT_STRING, &[0]);
    };
    let mut bytes = vec![0u8; highest as usize / 8 + 1];
    for &b in bits {
        bytes[b as usize / 8] |= 0x80 >> (b % 8);
    }
    let unused = 7 - highest % 8;
    let mut content = vec![unused];
    content.extend_from_slice(&bytes);
    tlv(BIT_STRING, &content)
}

pub fn boolean(v: bool) -> Vec<u8> {
    tlv(BOOLEAN, &[if v { 0xff } else { 0 }])
}

pub fn utf8_string(s: &str) -> Vec<u8> {
    tlv(UTF8_STRING, s.as_bytes())
}

/// PrintableString; the caller passes only its alphabet (here: "FR").
pub fn printable_string(s: &str) -> Vec<u8> {
    tlv(PRINTABLE_STRING, s.as_bytes())
}

/// An X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
pub fn time(t: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    use chrono::Datelike;
    if t.year() < 2050 {
        tlv(UTC_TIME, t.format("%y%m%d%H%M%SZ").to_string().as_bytes())
    } else {
        tlv(
            GENERALIZED_TIME,
            t.format("%Y%m%d%H%M%SZ").to_string().as_bytes(),
        )
    }
}

// ------------------------------------------------------------------ reader
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DerError {
    #[error("données tronquées (position {0})")]
    Truncated(usize),
    #[error("longueur invalide ou indéfinie (position {0})")]
    BadLength(usize),
    #[error(
        "étiquette ASN.1 inattendue à la position {at} : 0x{found:02x} au lieu de 0x{wanted:02x}"
    )]
    UnexpectedTag { at: usize, found: u8, wanted: u8 },
    #[error("étiquette ASN.1 de forme longue non prise en charge (position {0})")]
    LongTag(usize),
    #[error("{0} octet(s) en trop après la structure")]
    Trailing(usize),
    #[error("{0}")]
    Invalid(&'static str),
}

/// One element read: its tag, content, and whole encoding (header included).
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
    /// Offset of `raw` in the outermost input, for error messages.
    pub offset: usize,
}

impl<'a> Tlv<'a> {
    /// A reader over the content (of a constructed element).
    pub fn reader(&self) -> Reader<'a> {
        let header = self.raw.len() - self.content.len();
        Reader {
            data: self.content,
            pos: 0,
            base: self.offset + header,
        }
    }
}

/// Reads consecutive elements from a byte slice; every access is checked.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader {
            data,
            pos: 0,
            base: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn byte(&mut self) -> Result<u8, DerError> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or(DerError::Truncated(self.base + self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    /// The tag of the next element, without reading it.
    pub fn peek_tag(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// The next element, whatever its tag.
    pub fn any(&mut self) -> Result<Tlv<'a>, DerError> {
        let start = self.pos;
        let at = self.base + start;
        let tag = self.byte()?;
        if tag & 0x1f == 0x1f {
            return Err(DerError::LongTag(at));
        }
        let first = self.byte()?;
        let len = if first < 0x80 {
            first as usize
        } else {
            let n = (first & 0x7f) as usize;
            // 0x80 is BER's indefinite length; more than 4 bytes is more than any input here.
            if n == 0 || n > 4 {
                return Err(DerError::BadLength(at));
            }
            let mut len = 0usize;
            for _ in 0..n {
                len = (len << 8) | self.byte()? as usize;
            }
            // DER: the shortest form.
            if len < 0x80 || (n > 1 && len >> ((n - 1) * 8) == 0) {
                return Err(DerError::BadLength(at));
            }
            len
        };
        let end = self
            .pos
            .checked_add(len)
            .filter(|e| *e <= self.data.len())
            .ok_or(DerError::Truncated(at))?;
        let tlv = Tlv {
            tag,
            content: &self.data[self.pos..end],
            raw: &self.data[start..end],
            offset: at,
        };
        self.pos = end;
        Ok(tlv)
    }

    /// The next element, which must carry `tag`.
    pub fn expect(&mut self, tag: u8) -> Result<Tlv<'a>, DerError> {
        let at = self.base + self.pos;
        let tlv = self.any()?;
        if tlv.tag != tag {
            return Err(DerError::UnexpectedTag {
                at,
                found: tlv.tag,
                wanted: tag,
            });
        }
        Ok(tlv)
    }

    /// The next element if it carries `tag`.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.expect(tag).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails when anything is left.
    pub fn finish(&self) -> Result<(), DerError> {
        match self.data.len().saturating_sub(self.pos) {
            0 => Ok(()),
            n => Err(DerError::Trailing(n)),
        }
    }
}

/// Exactly one element of `tag` in `data`, nothing after it.
pub fn read_one(data: &[u8], tag: u8) -> Result<Tlv<'_>, DerError> {
    let mut r = Reader::new(data);
    let tlv = r.expect(tag)?;
    r.finish()?;
    Ok(tlv)
}

/// A Time (UTCTime or GeneralizedTime, in the `Z` forms RFC 5280 requires) as a UTC instant.
pub fn read_time(tlv: &Tlv<'_>) -> Result<chrono::DateTime<chrono::Utc>, DerError> {
    use chrono::{NaiveDateTime, TimeZone, Utc};
    let text = std::str::from_utf8(tlv.content).map_err(|_| DerError::Invalid("date illisible"))?;
    let (format, text) = match tlv.tag {
        UTC_TIME if text.len() == 13 => {
            // RFC 5280: YY below 50 is 20YY, otherwise 19YY.
            let yy: u32 = text
                .get(..2)
                .and_then(|y| y.parse().ok())
                .ok_or(DerError::Invalid("date illisible"))?;
            let century = if yy < 50 { "20" } else { "19" };
            ("%Y%m%d%H%M%SZ", format!("{century}{text}"))
        }
        GENERALIZED_TIME if text.len() == 15 => ("%Y%m%d%H%M%SZ", text.to_string()),
        _ => return Err(DerError::Invalid("date de forme inattendue")),
    };
    NaiveDateTime::parse_from_str(&text, format)
        .map(|t| Utc.from_utc_datetime(&t))
        .map_err(|_| DerError::Invalid("date illisible"))
}

/// The text of a directory string (the CN of a name), in the string types X.520 allows.
pub fn read_string(tlv: &Tlv<'_>) -> Result<String, DerError> {
    match tlv.tag {
        UTF8_STRING | PRINTABLE_STRING | IA5_STRING | T61_STRING => {
            // T61 is in practice Latin-1 for the few certificates that still use it.
            match std::str::from_utf8(tlv.content) {
                Ok(s) => Ok(s.to_string()),
                Err(_) if tlv.tag == T61_STRING => {
                    Ok(tlv.content.iter().map(|&b| b as char).collect())
                }
                Err(_) => Err(DerError::Invalid("nom illisible (UTF-8 invalide)")),
            }
        }
        BMP_STRING => {
            if !tlv.content.len().is_multiple_of(2) {
                return Err(DerError::Invalid("nom illisible (BMPString impaire)"));
            }
            let units: Vec<u16> = tlv
                .content
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).map_err(|_| DerError::Invalid("nom illisible (BMPString)"))
        }
        UNIVERSAL_STRING => {
            if !tlv.content.len().is_multiple_of(4) {
                return Err(DerError::Invalid("nom illisible (UniversalString)"));
            }
            tlv.content
                .chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect::<Option<String>>()
                .ok_or(DerError::Invalid("nom illisible (UniversalString)"))
        }
        _ => Err(DerError::Invalid("nom d’un type de chaîne inattendu")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_take_the_shortest_form() {
        assert_eq!(tlv(OCTET_STRING, &[0; 0x7f])[..2], [0x04, 0x7f]);
        assert_eq!(tlv(OCTET_STRING, &[0; 0x80])[..3], [0x04, 0x81, 0x80]);
        assert_eq!(tlv(OCTET_STRING, &[0; 0xff])[..3], [0x04, 0x81, 0xff]);
        assert_eq!(
            tlv(OCTET_STRING, &[0; 0x100])[..4],
            [0x04, 0x82, 0x01, 0x00]
        );
        assert_eq!(
            tlv(OCTET_STRING, &[0; 0x10000])[..5],
            [0x04, 0x83, 0x01, 0x00, 0x00]
        );
        for n in [0usize, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000] {
            let enc = tlv(OCTET_STRING, &vec![7; n]);
            let t = read_one(&enc, OCTET_STRING).unwrap();
            assert_eq!(t.content.len(), n);
            assert_eq!(t.raw, &enc[..]);
        }
    }

    #[test]
    fn object_identifiers_encode_as_published() {
        // Encodings as RFC 5652, RFC 5754 and RFC 5035 print them.
        assert_eq!(hex::encode(ID_DATA.der()), "06092a864886f70d010701");
        assert_eq!(hex::encode(ID_SHA256.der()), "0609608648016503040201");
        assert_eq!(hex::encode(ECDSA_WITH_SHA256.der()), "06082a8648ce3d040302");
        assert_eq!(
            hex::encode(ID_SIGNING_CERTIFICATE_V2.der()),
            "060b2a864886f70d010910022f"
        );
        assert_eq!(hex::encode(ID_AT_COMMON_NAME.der()), "0603550403");
    }

    #[test]
    fn integers_stay_positive_and_minimal() {
        assert_eq!(unsigned_integer(&[0x01]), [0x02, 0x01, 0x01]);
        assert_eq!(unsigned_integer(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(unsigned_integer(&[0x00, 0x00, 0x7f]), [0x02, 0x01, 0x7f]);
        assert_eq!(unsigned_integer(&[0x00]), [0x02, 0x01, 0x00]);
        assert_eq!(unsigned_integer(&[]), [0x02, 0x01, 0x00]);
    }

    #[test]
    fn key_usage_bits_drop_trailing_zeros() {
        // digitalSignature (0) + nonRepudiation (1): 6 unused bits, 0b1100_0000.
        assert_eq!(named_bits(&[0, 1]), [0x03, 0x02, 0x06, 0xc0]);
        assert_eq!(named_bits(&[5]), [0x03, 0x02, 0x02, 0x04]);
        assert_eq!(named_bits(&[0, 8]), [0x03, 0x03, 0x07, 0x80, 0x80]);
    }

    #[test]
    fn sets_are_sorted_by_encoding() {
        let a = octet_string(&[2]);
        let b = octet_string(&[1]);
        assert_eq!(set_of(&[&a, &b]), [0x31, 0x06, 4, 1, 1, 4, 1, 2]);
    }

    #[test]
    fn times_round_trip_in_both_forms() {
        use chrono::TimeZone;
        for t in [
            chrono::Utc
                .with_ymd_and_hms(2026, 12, 1, 10, 30, 0)
                .unwrap(),
            chrono::Utc
                .with_ymd_and_hms(2049, 12, 31, 23, 59, 59)
                .unwrap(),
            chrono::Utc.with_ymd_and_hms(2050, 1, 1, 0, 0, 0).unwrap(),
        ] {
            let enc = time(t);
            let mut r = Reader::new(&enc);
            let tlv = r.any().unwrap();
            assert_eq!(read_time(&tlv).unwrap(), t);
        }
        assert_eq!(
            time(chrono::Utc.with_ymd_and_hms(2050, 1, 1, 0, 0, 0).unwrap())[0],
            GENERALIZED_TIME
        );
    }

    #[test]
    fn the_reader_refuses_what_it_cannot_read_without_panicking() {
        let cases: [(&[u8], &str); 8] = [
            (&[], "tronquées"),
            (&[0x30], "tronquées"),
            (&[0x30, 0x05, 0x01], "tronquées"),
            (&[0x30, 0x80, 0x00, 0x00], "indéfinie"),
            (&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0], "longueur"),
            (&[0x30, 0x85, 1, 0, 0, 0, 0], "longueur"),
            (&[0x1f, 0x01, 0x00], "forme longue"),
            (&[0x30, 0x00, 0x00], "en trop"),
        ];
        for (bytes, needle) in cases {
            let e = read_one(bytes, SEQUENCE).unwrap_err().to_string();
            assert!(e.contains(needle), "{bytes:02x?}: {e}");
        }
        let e = read_one(&[0x31, 0x00], SEQUENCE).unwrap_err().to_string();
        assert!(e.contains("inattendue"), "{e}");
        // A length near usize::MAX cannot overflow the bound check.
        let mut r = Reader::new(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00]);
        assert!(r.any().is_err());
    }

    #[test]
    fn strings_of_every_directory_type_read() {
        let bmp = tlv(BMP_STRING, &[0x00, 0x53, 0x00, 0xe9]);
        assert_eq!(
            read_string(&read_one(&bmp, BMP_STRING).unwrap()).unwrap(),
            "Sé"
        );
        let utf8 = utf8_string("Sceau de l’académie");
        assert_eq!(
            read_string(&read_one(&utf8, UTF8_STRING).unwrap()).unwrap(),
            "Sceau de l’académie"
        );
        let bad = tlv(UTF8_STRING, &[0xff, 0xfe]);
        assert!(read_string(&read_one(&bad, UTF8_STRING).unwrap()).is_err());
        let odd = tlv(BMP_STRING, &[0x00]);
        assert!(read_string(&read_one(&odd, BMP_STRING).unwrap()).is_err());
    }
}
