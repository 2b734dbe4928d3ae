//! What the operator commands do with the seal (`admin setup-local`, `seal-csr`,
//! `seal-certificate`), on the ports only: the same code runs against moto and AWS.

use super::certificate::{self, SealSubject};
use super::{SealCertificateStore, SealError};
use crate::ports::SealKey;
use chrono::{DateTime, Utc};

/// What [`ensure_local_certificate`] found or did.
#[derive(Debug, PartialEq, Eq)]
pub enum LocalCertificate {
    /// A chain whose leaf certifies the key was already stored: kept as it is.
    Reused { common_name: String },
    /// A self-signed certificate was made through the key and stored.
    Created { common_name: String },
}

/// The local stack's certificate, idempotently: the stored chain is kept when its leaf is the
/// key's (a second `admin setup-local` changes nothing); otherwise (none, unreadable, another
/// key's) a self-signed one is made through the key and stored.
pub async fn ensure_local_certificate(
    key: &dyn SealKey,
    store: &dyn SealCertificateStore,
    academie: &str,
    now: DateTime<Utc>,
) -> Result<LocalCertificate, SealError> {
    let public_key = key.public_key().await?;
    if let Some(pem) = store.get().await? {
        if let Ok(chain) = certificate::parse_pem_chain(&pem) {
            if chain[0].public_key_info() == public_key.as_slice() && now < chain[0].not_after() {
                return Ok(LocalCertificate::Reused {
                    common_name: chain[0].common_name().unwrap_or_default().to_string(),
                });
            }
        }
    }
    let cert = certificate::self_signed(key, &SealSubject::local(academie), now).await?;
    store.put(&cert.pem()).await?;
    Ok(LocalCertificate::Created {
        common_name: cert.common_name().unwrap_or_default().to_string(),
    })
}

/// The certification request (PEM) to send to a certification authority for the seal's key.
pub async fn certification_request_pem(
    key: &dyn SealKey,
    academie: &str,
) -> Result<String, SealError> {
    let der = certificate::certification_request(key, &SealSubject::for_academie(academie)).await?;
    Ok(certificate::pem("CERTIFICATE REQUEST", &der))
}

/// Stores the chain an authority issued (PEM, leaf first) after checking it: readable, in
/// order, named, and certifying this key; anything else is refused and nothing is stored.
/// Returns the chain as stored.
pub async fn store_chain(
    key: &dyn SealKey,
    store: &dyn SealCertificateStore,
    pem: &str,
) -> Result<Vec<certificate::Certificate>, SealError> {
    let chain = certificate::parse_pem_chain(pem)?;
    certificate::check_chain(&chain)?;
    if key.public_key().await? != chain[0].public_key_info() {
        return Err(SealError::KeyMismatch(
            chain[0].common_name().unwrap_or_default().to_string(),
        ));
    }
    let normalized: String = chain.iter().map(certificate::Certificate::pem).collect();
    store.put(&normalized).await?;
    Ok(chain)
}
