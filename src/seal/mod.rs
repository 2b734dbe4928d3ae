//! The académie's seal: the CMS signature (PAdES baseline B-B, `ETSI.CAdES.detached`) that
//! every convention PDF carries, made with a key that never leaves KMS.
//!
//! Domain-free and without AWS: the key is the [`SealKey`] port (`adapters::kms` on AWS and
//! moto), the stored chain the [`SealCertificateStore`] port (`adapters::ssm`). The PDF writer
//! reserves [`Seal::max_signature_len`] bytes for `/Contents`, hashes its byte ranges and asks
//! [`Seal::sign`] for the DER to put there.
//!
//! - `der`: the DER writer and the small reader;
//! - `cms`: SignedData of a detached signature;
//! - `certificate`: the chain, the local self-signed certificate, the certificate request;
//! - `setup`: what `admin` does with them (local certificate, request, chain received).

pub mod certificate;
pub mod cms;
pub mod der;
pub mod setup;

pub use crate::ports::SealCertificateStore;
use crate::ports::SealKey;
use certificate::Certificate;
use chrono::{DateTime, Utc};
use std::sync::{Arc, OnceLock};

/// Room left beyond the longest CMS this chain can give, in case a reader of the placeholder
/// counts differently (hex digits, a trailing zero): the PDF writer pads with zeros anyway.
const SIGNATURE_MARGIN: usize = 64;

/// What can go wrong with the seal; the messages are read by an operator (logs, `admin`).
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The variables naming the key and the chain are unset (`config::SealSettings`).
    #[error(
        "sceau de l’académie non configuré : les variables d’environnement SEAL_KEY_ID et \
         SEAL_CERTIFICATE_PARAMETER sont absentes ou vides"
    )]
    NotConfigured,
    /// The chain's parameter does not exist yet.
    #[error(
        "certificat du sceau absent : le paramètre {0} n’existe pas (en local : admin setup-local ; \
         sur AWS : admin seal-csr, puis admin seal-certificate FICHIER avec la chaîne reçue)"
    )]
    CertificateMissing(String),
    /// The chain cannot be used (unreadable, disordered, without a name).
    #[error("certificat du sceau inutilisable : {0}")]
    Certificate(String),
    /// The leaf certificate certifies another key than the KMS key.
    #[error(
        "le certificat « {0} » ne certifie pas la clé KMS du sceau (clé publique différente) : \
         il a été émis pour une autre clé ; demandez-en un pour celle-ci (admin seal-csr)"
    )]
    KeyMismatch(String),
    /// The leaf certificate is not valid now: a signature with it would be refused.
    #[error(
        "le certificat du sceau « {name} » n’est valable que du {from} au {until} (UTC) : \
         faites-en émettre un nouveau (admin seal-csr, puis admin seal-certificate)"
    )]
    OutOfValidity {
        name: String,
        from: String,
        until: String,
    },
    /// KMS failed or refused, after the SDK's retries: nothing was signed.
    #[error("clé du sceau (KMS) : {0}")]
    Key(String),
    /// The parameter store failed, after the SDK's retries.
    #[error("paramètre du certificat du sceau (SSM) : {0}")]
    Parameter(String),
}

impl SealError {
    /// A failure of the services (KMS, SSM) that a later attempt may not meet; the others need
    /// an operator. Either way the generate job fails the record, and nothing is half-written.
    pub fn is_transient(&self) -> bool {
        matches!(self, SealError::Key(_) | SealError::Parameter(_))
    }
}

/// The seal: the KMS key, its certificate chain (leaf first), and the signature they make.
pub struct Seal {
    key: Arc<dyn SealKey>,
    chain: Vec<Certificate>,
    pem: String,
    signer_name: String,
    max_signature_len: usize,
    /// Set once KMS's public key was found to be the leaf's (checked before the first signature
    /// of an instance: a chain stored for another key would make every signature invalid).
    key_matches: OnceLock<()>,
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seal")
            .field("signer_name", &self.signer_name)
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl Seal {
    /// The seal of `key` with the chain `chain_pem` (PEM, leaf first, each certificate followed
    /// by its issuer's). Fails on a chain that cannot be used; the key is not called here.
    pub fn new(key: Arc<dyn SealKey>, chain_pem: &str) -> Result<Seal, SealError> {
        let chain = certificate::parse_pem_chain(chain_pem)?;
        certificate::check_chain(&chain)?;
        let signer_name = chain[0].common_name().unwrap_or_default().to_string();
        let pem = chain.iter().map(Certificate::pem).collect();
        let max_signature_len = cms::max_len(&chain) + SIGNATURE_MARGIN;
        Ok(Seal {
            key,
            chain,
            pem,
            signer_name,
            max_signature_len,
            key_matches: OnceLock::new(),
        })
    }

    /// The chain, PEM, leaf first (re-encoded: only the certificates, 64-column base64).
    pub fn chain_pem(&self) -> &str {
        &self.pem
    }

    /// The leaf certificate's commonName: the signer PDF readers show.
    pub fn signer_name(&self) -> &str {
        &self.signer_name
    }

    pub fn leaf(&self) -> &Certificate {
        &self.chain[0]
    }

    /// An upper bound of the length of what [`Seal::sign`] returns, for this chain: the PDF
    /// writer reserves it (2 hex digits a byte) in the signature dictionary's `/Contents`.
    pub fn max_signature_len(&self) -> usize {
        self.max_signature_len
    }

    /// The DER CMS SignedData sealing content whose SHA-256 is `digest` (for a PDF: the
    /// SHA-256 of its two byte ranges). One KMS Sign call (plus, first time in an instance,
    /// one GetPublicKey).
    pub async fn sign(&self, digest: [u8; 32]) -> Result<Vec<u8>, SealError> {
        self.check_validity(Utc::now())?;
        self.check_key().await?;
        let attributes = cms::signed_attributes(&digest, self.leaf());
        let signature = self.key.sign(&attributes).await?;
        cms::check_ecdsa_signature(&signature).map_err(|e| SealError::Key(e.into()))?;
        let cms = cms::content_info(&self.chain, &attributes, &signature);
        debug_assert!(cms.len() <= self.max_signature_len);
        Ok(cms)
    }

    fn check_validity(&self, now: DateTime<Utc>) -> Result<(), SealError> {
        let leaf = self.leaf();
        if now < leaf.not_before() || now > leaf.not_after() {
            let day = |t: DateTime<Utc>| t.format("%d/%m/%Y %H:%M").to_string();
            return Err(SealError::OutOfValidity {
                name: self.signer_name.clone(),
                from: day(leaf.not_before()),
                until: day(leaf.not_after()),
            });
        }
        Ok(())
    }

    async fn check_key(&self) -> Result<(), SealError> {
        if self.key_matches.get().is_some() {
            return Ok(());
        }
        let public_key = self.key.public_key().await?;
        if public_key != self.leaf().public_key_info() {
            return Err(SealError::KeyMismatch(self.signer_name.clone()));
        }
        let _ = self.key_matches.set(());
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod test_key;

#[cfg(test)]
mod tests;
