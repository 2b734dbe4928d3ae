//! The seal's certificates: the chain read from PEM (leaf first), and the two documents made
//! with the seal's own key: a self-signed certificate for the local stack and a certificate
//! request (PKCS #10) for a certification authority. Both are signed through the port
//! ([`SealKey`]), so the private key never leaves KMS.

use super::der::{self, DerError, Tlv};
use super::SealError;
use crate::ports::SealKey;
use base64::Engine;
use chrono::{DateTime, Months, Utc};
use sha2::{Digest, Sha256};

/// At most this many certificates in a chain: a seal's chain is the leaf, an intermediate or
/// two and perhaps the root; more is a wrong file.
pub const MAX_CHAIN: usize = 6;

/// keyUsage bits of the seal: digitalSignature (0) and nonRepudiation (1, contentCommitment):
/// what a document seal is for, and nothing else.
const SEAL_KEY_USAGE: [u8; 2] = [0, 1];

/// id-ecPublicKey with the named curve prime256v1 (P-256): the only key KMS gives the seal.
const ID_EC_PUBLIC_KEY: der::Oid = der::Oid(&[1, 2, 840, 10045, 2, 1]);
const PRIME256V1: der::Oid = der::Oid(&[1, 2, 840, 10045, 3, 1, 7]);

/// One X.509 certificate: its DER and what the seal reads from it.
#[derive(Clone, Debug)]
pub struct Certificate {
    der: Vec<u8>,
    /// The issuer Name, subject Name, serial INTEGER and SubjectPublicKeyInfo, each as its whole
    /// DER element (what IssuerAndSerialNumber and the key comparison need, byte for byte).
    issuer: Vec<u8>,
    subject: Vec<u8>,
    serial: Vec<u8>,
    spki: Vec<u8>,
    common_name: Option<String>,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
}

impl Certificate {
    /// Parses a DER certificate; anything malformed is an error (never a panic).
    pub fn from_der(bytes: &[u8]) -> Result<Certificate, DerError> {
        let cert = der::read_one(bytes, der::SEQUENCE)?;
        let mut r = cert.reader();
        let tbs = r.expect(der::SEQUENCE)?;
        r.expect(der::SEQUENCE)?; // signatureAlgorithm
        r.expect(der::BIT_STRING)?; // signatureValue
        r.finish()?;

        let mut t = tbs.reader();
        if let Some(version) = t.optional(der::context(0))? {
            let v = der::read_one(version.content, der::INTEGER)?;
            if !matches!(v.content, [0] | [1] | [2]) {
                return Err(DerError::Invalid("version de certificat inconnue"));
            }
        }
        let serial = t.expect(der::INTEGER)?;
        if serial.content.is_empty() {
            return Err(DerError::Invalid("numéro de série vide"));
        }
        t.expect(der::SEQUENCE)?; // signature
        let issuer = t.expect(der::SEQUENCE)?;
        let validity = t.expect(der::SEQUENCE)?;
        let subject = t.expect(der::SEQUENCE)?;
        let spki = t.expect(der::SEQUENCE)?;
        // issuerUniqueID, subjectUniqueID, extensions: not needed here.

        let mut v = validity.reader();
        let not_before = der::read_time(&v.any()?)?;
        let not_after = der::read_time(&v.any()?)?;
        v.finish()?;
        let common_name = common_name(&subject)?;
        Ok(Certificate {
            der: cert.raw.to_vec(),
            issuer: issuer.raw.to_vec(),
            subject: subject.raw.to_vec(),
            serial: serial.raw.to_vec(),
            spki: spki.raw.to_vec(),
            common_name,
            not_before,
            not_after,
        })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// IssuerAndSerialNumber (RFC 5652 §10.2.4): how the signer's certificate is named.
    pub fn issuer_and_serial(&self) -> Vec<u8> {
        der::sequence(&[&self.issuer, &self.serial])
    }

    /// The subject's commonName (the last one, the most specific, if there are several).
    pub fn common_name(&self) -> Option<&str> {
        self.common_name.as_deref()
    }

    /// SubjectPublicKeyInfo, DER: compared byte for byte with what KMS's GetPublicKey returns.
    pub fn public_key_info(&self) -> &[u8] {
        &self.spki
    }

    pub fn not_before(&self) -> DateTime<Utc> {
        self.not_before
    }

    pub fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }

    /// Whether `self` names `other` as its issuer.
    pub fn issued_by(&self, other: &Certificate) -> bool {
        self.issuer == other.subject
    }

    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(&self.der).into()
    }

    pub fn pem(&self) -> String {
        pem("CERTIFICATE", &self.der)
    }
}

/// The last commonName of a Name (RDNSequence: SET OF AttributeTypeAndValue).
fn common_name(name: &Tlv<'_>) -> Result<Option<String>, DerError> {
    let cn = der::ID_AT_COMMON_NAME.content();
    let mut found = None;
    let mut rdns = name.reader();
    while !rdns.is_empty() {
        let rdn = rdns.expect(der::SET)?;
        let mut atvs = rdn.reader();
        while !atvs.is_empty() {
            let atv = atvs.expect(der::SEQUENCE)?;
            let mut a = atv.reader();
            let oid = a.expect(der::OID)?;
            let value = a.any()?;
            a.finish()?;
            if oid.content == cn.as_slice() {
                found = Some(der::read_string(&value)?);
            }
        }
    }
    Ok(found)
}

/// A PEM block of `label`, base64 in 64-character lines.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        // base64 output is ASCII.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The certificates of a PEM text, in file order. Text around the blocks (openssl's
/// `subject=` lines, bag attributes) is ignored; a block of another kind is refused, so that a
/// private key pasted by mistake is never stored where the chain is public.
pub fn parse_pem_chain(text: &str) -> Result<Vec<Certificate>, SealError> {
    let mut certificates = Vec::new();
    let mut block: Option<String> = None;
    for line in text.lines().map(str::trim) {
        match (&mut block, line) {
            (None, "-----BEGIN CERTIFICATE-----") => block = Some(String::new()),
            (None, l) if l.starts_with("-----BEGIN ") => {
                let label = l
                    .trim_start_matches("-----BEGIN ")
                    .trim_end_matches('-')
                    .chars()
                    .take(40)
                    .collect::<String>();
                return Err(SealError::Certificate(format!(
                    "le fichier contient un bloc « {label} » : seuls des certificats \
                     (BEGIN CERTIFICATE) sont attendus"
                )));
            }
            (Some(b64), "-----END CERTIFICATE-----") => {
                let n = certificates.len() + 1;
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|_| {
                        SealError::Certificate(format!("certificat n° {n} : base64 invalide"))
                    })?;
                let cert = Certificate::from_der(&der)
                    .map_err(|e| SealError::Certificate(format!("certificat n° {n} : {e}")))?;
                certificates.push(cert);
                if certificates.len() > MAX_CHAIN {
                    return Err(SealError::Certificate(format!(
                        "plus de {MAX_CHAIN} certificats dans la chaîne"
                    )));
                }
                block = None;
            }
            (Some(_), l) if l.starts_with("-----") => {
                return Err(SealError::Certificate(
                    "bloc PEM mal fermé (END CERTIFICATE attendu)".into(),
                ))
            }
            (Some(b64), l) => b64.push_str(l),
            (None, _) => {}
        }
    }
    if block.is_some() {
        return Err(SealError::Certificate(
            "bloc PEM tronqué (END CERTIFICATE manquant)".into(),
        ));
    }
    if certificates.is_empty() {
        return Err(SealError::Certificate(
            "aucun certificat (bloc BEGIN CERTIFICATE) trouvé".into(),
        ));
    }
    Ok(certificates)
}

/// A chain as the seal needs it: leaf first, each certificate followed by its issuer, the leaf
/// named (its CN is the signer's name printed by the PDF readers).
pub fn check_chain(chain: &[Certificate]) -> Result<(), SealError> {
    let leaf = chain
        .first()
        .ok_or_else(|| SealError::Certificate("chaîne vide".into()))?;
    if leaf.common_name().is_none_or(|cn| cn.trim().is_empty()) {
        return Err(SealError::Certificate(
            "le certificat du sceau (le premier de la chaîne) n’a pas de nom commun (CN)".into(),
        ));
    }
    for (i, pair) in chain.windows(2).enumerate() {
        if !pair[0].issued_by(&pair[1]) {
            return Err(SealError::Certificate(format!(
                "le certificat n° {} n’est pas l’émetteur du n° {} : la chaîne doit commencer par \
                 le certificat du sceau, chacun suivi de celui de son émetteur",
                i + 2,
                i + 1
            )));
        }
    }
    Ok(())
}

/// Checks that `spki` (from KMS) is a P-256 public key, the one thing the seal signs with.
fn check_p256(spki: &[u8]) -> Result<(), SealError> {
    let bad = |why: &str| SealError::Key(format!("clé publique inattendue : {why}"));
    let info = der::read_one(spki, der::SEQUENCE).map_err(|e| bad(&e.to_string()))?;
    let mut r = info.reader();
    let alg = r.expect(der::SEQUENCE).map_err(|e| bad(&e.to_string()))?;
    r.expect(der::BIT_STRING).map_err(|e| bad(&e.to_string()))?;
    let want = der::sequence(&[&ID_EC_PUBLIC_KEY.der(), &PRIME256V1.der()]);
    if alg.raw != want.as_slice() {
        return Err(bad("la clé KMS doit être ECC_NIST_P256 (ECDSA P-256)"));
    }
    Ok(())
}

/// The names the seal's certificates carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealSubject {
    pub common_name: String,
    pub organization: String,
}

impl SealSubject {
    /// « Sceau de l’académie de Rennes », O = the académie's name, for a certification
    /// authority's request.
    pub fn for_academie(academie: &str) -> SealSubject {
        let name = academie.trim();
        let common_name = match name.strip_prefix("Académie ") {
            Some(rest) => format!("Sceau de l’académie {rest}"),
            None => format!("Sceau : {name}"),
        };
        SealSubject {
            common_name,
            organization: name.to_string(),
        }
    }

    /// Same, marked « (environnement local) »: a local certificate never passes for the real one.
    pub fn local(academie: &str) -> SealSubject {
        let mut s = SealSubject::for_academie(academie);
        s.common_name.push_str(" (environnement local)");
        s
    }

    /// Name ::= RDNSequence: C=FR, O, CN (most general first, as CAs write them).
    fn name_der(&self) -> Vec<u8> {
        let rdn = |oid: der::Oid, value: Vec<u8>| {
            let atv = der::sequence(&[&oid.der(), &value]);
            der::set_of(&[&atv])
        };
        der::sequence(&[
            &rdn(der::ID_AT_COUNTRY, der::printable_string("FR")),
            &rdn(
                der::ID_AT_ORGANIZATION,
                der::utf8_string(&self.organization),
            ),
            &rdn(der::ID_AT_COMMON_NAME, der::utf8_string(&self.common_name)),
        ])
    }
}

fn ecdsa_sha256() -> Vec<u8> {
    // Parameters absent (RFC 5758 §3.2).
    der::sequence(&[&der::ECDSA_WITH_SHA256.der()])
}

/// The keyUsage extension, critical: digitalSignature + nonRepudiation.
fn key_usage_extension() -> Vec<u8> {
    key_usage(&SEAL_KEY_USAGE)
}

fn key_usage(bits: &[u8]) -> Vec<u8> {
    der::sequence(&[
        &der::ID_CE_KEY_USAGE.der(),
        &der::boolean(true),
        &der::octet_string(&der::named_bits(bits)),
    ])
}

/// basicConstraints, critical, cA TRUE: a self-signed certificate is the local trust anchor
/// of its own seal, and NSS (poppler's pdfsig) only anchors a path at a certification
/// authority's certificate; keyCertSign goes with it (RFC 5280 4.2.1.9).
fn trust_anchor_extensions() -> Vec<u8> {
    let basic_constraints = der::sequence(&[
        &der::Oid(&[2, 5, 29, 19]).der(),
        &der::boolean(true),
        &der::octet_string(&der::sequence(&[&der::boolean(true)])),
    ]);
    let mut bits = SEAL_KEY_USAGE.to_vec();
    bits.push(5); // keyCertSign
    der::sequence(&[&basic_constraints, &key_usage(&bits)])
}

/// A random positive 16-byte serial (RFC 5280: positive, at most 20 bytes; unpredictable).
fn random_serial() -> Vec<u8> {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    // High bit clear (positive), next bit set (so it stays 16 bytes, none dropped as leading zero).
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    der::unsigned_integer(&bytes)
}

/// `tbs` signed by the key: SEQUENCE { tbs, ecdsa-with-SHA256, BIT STRING signature }.
async fn signed(key: &dyn SealKey, tbs: &[u8]) -> Result<Vec<u8>, SealError> {
    let signature = key.sign(tbs).await?;
    Ok(der::sequence(&[
        tbs,
        &ecdsa_sha256(),
        &der::bit_string(&signature),
    ]))
}

/// A self-signed X.509 v3 certificate of the seal's key, valid ten years from `now`: the local
/// stack's trust anchor (no certification authority there).
pub async fn self_signed(
    key: &dyn SealKey,
    subject: &SealSubject,
    now: DateTime<Utc>,
) -> Result<Certificate, SealError> {
    let spki = key.public_key().await?;
    check_p256(&spki)?;
    // Times are whole seconds in DER.
    let not_before = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let not_after = not_before
        .checked_add_months(Months::new(120))
        .ok_or_else(|| SealError::Certificate("date de fin de validité hors limites".into()))?;
    let name = subject.name_der();
    let version = der::tlv(der::context(0), &der::small_integer(2)); // v3
    let validity = der::sequence(&[&der::time(not_before), &der::time(not_after)]);
    let extensions = der::tlv(der::context(3), &trust_anchor_extensions());
    let tbs = der::sequence(&[
        &version,
        &random_serial(),
        &ecdsa_sha256(),
        &name,
        &validity,
        &name,
        &spki,
        &extensions,
    ]);
    let cert = signed(key, &tbs).await?;
    Certificate::from_der(&cert).map_err(|e| SealError::Certificate(e.to_string()))
}

/// A PKCS #10 certification request (RFC 2986) for the seal's key, DER, asking for the seal's
/// key usage (extensionRequest); the authority decides the rest.
pub async fn certification_request(
    key: &dyn SealKey,
    subject: &SealSubject,
) -> Result<Vec<u8>, SealError> {
    let spki = key.public_key().await?;
    check_p256(&spki)?;
    let extension_request = der::sequence(&[
        &der::ID_EXTENSION_REQUEST.der(),
        &der::set_of(&[&der::sequence(&[&key_usage_extension()])]),
    ]);
    // attributes [0] IMPLICIT SET OF Attribute.
    let attributes = der::tlv(der::context(0), &extension_request);
    let info = der::sequence(&[
        &der::small_integer(0),
        &subject.name_der(),
        &spki,
        &attributes,
    ]);
    signed(key, &info).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seal_is_named_after_the_academie() {
        let s = SealSubject::local("Académie de Rennes");
        assert_eq!(
            s.common_name,
            "Sceau de l’académie de Rennes (environnement local)"
        );
        assert_eq!(s.organization, "Académie de Rennes");
        assert_eq!(
            SealSubject::for_academie(" Académie de Normandie ").common_name,
            "Sceau de l’académie de Normandie"
        );
        assert_eq!(
            SealSubject::for_academie("Région académique Normandie").common_name,
            "Sceau : Région académique Normandie"
        );
    }

    #[test]
    fn pem_text_around_the_blocks_is_ignored_other_blocks_are_refused() {
        let e = parse_pem_chain("-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("PRIVATE KEY") && e.contains("seuls des certificats"),
            "{e}"
        );
        assert!(
            !e.contains("MIGH"),
            "the block's content is never repeated: {e}"
        );
        for (text, needle) in [
            ("", "aucun certificat"),
            ("bonjour\n", "aucun certificat"),
            ("-----BEGIN CERTIFICATE-----\nMIIB\n", "tronqué"),
            (
                "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
                "base64",
            ),
            (
                "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
                "certificat n° 1",
            ),
            (
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END PRIVATE KEY-----\n",
                "mal fermé",
            ),
        ] {
            let e = parse_pem_chain(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }
}
