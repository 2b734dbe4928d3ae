//! CMS SignedData (RFC 5652) of a detached signature, as PAdES baseline B-B wants it inside a
//! PDF (`/SubFilter /ETSI.CAdES.detached`, ETSI EN 319 142-1): the content (the PDF's byte
//! ranges) is not encapsulated, only its SHA-256 is signed, through the signed attributes.
//!
//! Signed attributes: content-type (id-data), message-digest, signing-certificate-v2 (the
//! leaf's SHA-256, ESSCertIDv2 with the default hash algorithm omitted and no issuerSerial).
//! No signing-time: PAdES B-B forbids it, the time goes into the signature dictionary's /M.

use super::certificate::Certificate;
use super::der;

/// The longest DER ECDSA-Sig-Value of P-256: SEQUENCE { INTEGER r, INTEGER s }, each of 32 bytes
/// plus a zero byte when the high bit is set: 2 + 2 × (2 + 33).
pub const MAX_ECDSA_P256_SIGNATURE: usize = 72;

fn sha256_algorithm() -> Vec<u8> {
    // Parameters absent, as RFC 5754 §2 prefers.
    der::sequence(&[&der::ID_SHA256.der()])
}

/// The signed attributes as a DER SET OF (tag 0x31): what is signed (RFC 5652 §5.4). The
/// SignerInfo carries the same bytes under the [0] IMPLICIT tag.
pub fn signed_attributes(digest: &[u8; 32], leaf: &Certificate) -> Vec<u8> {
    let attribute =
        |oid: der::Oid, value: &[u8]| der::sequence(&[&oid.der(), &der::set_of(&[value])]);
    let content_type = attribute(der::ID_CONTENT_TYPE, &der::ID_DATA.der());
    let message_digest = attribute(der::ID_MESSAGE_DIGEST, &der::octet_string(digest));
    // SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 }
    // ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256 (omitted), certHash OCTET STRING }
    let ess_cert_id = der::sequence(&[&der::octet_string(&leaf.sha256())]);
    let signing_certificate = attribute(
        der::ID_SIGNING_CERTIFICATE_V2,
        &der::sequence(&[&der::sequence(&[&ess_cert_id])]),
    );
    der::set_of(&[&content_type, &message_digest, &signing_certificate])
}

/// ContentInfo { id-signedData, [0] SignedData } around one SignerInfo.
///
/// `signed_attributes` is the output of [`signed_attributes`], `signature` the DER
/// ECDSA-Sig-Value over it. The certificates go in the chain's order, leaf first (CMS is BER
/// outside the signed attributes; readers do not need the DER order of that SET).
pub fn content_info(chain: &[Certificate], signed_attributes: &[u8], signature: &[u8]) -> Vec<u8> {
    let Some(leaf) = chain.first() else {
        return Vec::new();
    };
    // [0] IMPLICIT SET OF Attribute: the SET's own content under the context tag.
    let mut implicit = signed_attributes.to_vec();
    if let Some(tag) = implicit.first_mut() {
        *tag = der::context(0);
    }
    let signer_info = der::sequence(&[
        &der::small_integer(1), // sid is IssuerAndSerialNumber
        &leaf.issuer_and_serial(),
        &sha256_algorithm(),
        &implicit,
        &der::sequence(&[&der::ECDSA_WITH_SHA256.der()]),
        &der::octet_string(signature),
    ]);
    let certificates: Vec<&[u8]> = chain.iter().map(Certificate::der).collect();
    let signed_data = der::sequence(&[
        &der::small_integer(1), // no attribute certificates, id-data content: version 1
        &der::set_of(&[&sha256_algorithm()]),
        &der::sequence(&[&der::ID_DATA.der()]), // encapContentInfo without eContent: detached
        &der::constructed(der::context(0), &certificates),
        &der::set_of(&[&signer_info]),
    ]);
    der::sequence(&[
        &der::ID_SIGNED_DATA.der(),
        &der::tlv(der::context(0), &signed_data),
    ])
}

/// Length of the CMS for `chain` with the longest possible signature: every other part is
/// fixed by the chain (the digest is always 32 bytes), so no real signature can be longer.
pub fn max_len(chain: &[Certificate]) -> usize {
    let Some(leaf) = chain.first() else {
        return 0;
    };
    let attributes = signed_attributes(&[0xff; 32], leaf);
    content_info(chain, &attributes, &[0xff; MAX_ECDSA_P256_SIGNATURE]).len()
}

/// Checks that KMS gave a DER ECDSA-Sig-Value of P-256 (two positive integers, 72 bytes at
/// most), so that the CMS stays within [`max_len`] and readers can parse it.
pub fn check_ecdsa_signature(signature: &[u8]) -> Result<(), &'static str> {
    if signature.len() > MAX_ECDSA_P256_SIGNATURE {
        return Err("signature ECDSA plus longue que celle d’une clé P-256");
    }
    let seq = der::read_one(signature, der::SEQUENCE).map_err(|_| "signature ECDSA illisible")?;
    let mut r = seq.reader();
    for _ in 0..2 {
        let int = r
            .expect(der::INTEGER)
            .map_err(|_| "signature ECDSA illisible")?;
        match int.content {
            [] => return Err("signature ECDSA illisible"),
            [first, ..] if first & 0x80 != 0 => return Err("signature ECDSA négative"),
            _ => {}
        }
    }
    r.finish().map_err(|_| "signature ECDSA illisible")
}
