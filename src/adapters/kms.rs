//! The seal's key in KMS (`SealKey`): ECDSA P-256, signing with SHA-256; the private key never
//! leaves KMS. Also, for `admin setup-local`, the key created in the emulator under its alias.

use super::describe;
use crate::ports::SealKey;
use crate::seal::SealError;
use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};

/// KMS signs at most this many bytes of a RAW message (the seal's signed attributes are ~150).
const MAX_RAW_MESSAGE: usize = 4096;

pub struct KmsSealKey {
    client: aws_sdk_kms::Client,
    /// Key id, key ARN, alias name or alias ARN: KMS resolves each.
    key_id: String,
}

impl KmsSealKey {
    /// The client comes from `adapters::sdk_config`: standard retries with backoff.
    pub fn new(client: aws_sdk_kms::Client, key_id: &str) -> KmsSealKey {
        KmsSealKey {
            client,
            key_id: key_id.to_string(),
        }
    }
}

#[async_trait]
impl SealKey for KmsSealKey {
    /// `MessageType::Raw`: KMS hashes the message with SHA-256 and signs the hash. The DIGEST
    /// form would save nothing (the message is small) and moto ignores it (it hashes again),
    /// so RAW is the form that is right on both.
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SealError> {
        if message.len() > MAX_RAW_MESSAGE {
            return Err(SealError::Key(format!(
                "message de {} octets, KMS n’en signe que {MAX_RAW_MESSAGE} au plus",
                message.len()
            )));
        }
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| {
                SealError::Key(format!(
                    "signature refusée ou impossible avec {} : {}",
                    self.key_id,
                    describe(&e)
                ))
            })?;
        out.signature
            .map(Blob::into_inner)
            .ok_or_else(|| SealError::Key("réponse de KMS sans signature".into()))
    }

    async fn public_key(&self) -> Result<Vec<u8>, SealError> {
        let out = self
            .client
            .get_public_key()
            .key_id(&self.key_id)
            .send()
            .await
            .map_err(|e| {
                SealError::Key(format!(
                    "clé publique de {} illisible : {}",
                    self.key_id,
                    describe(&e)
                ))
            })?;
        out.public_key
            .map(Blob::into_inner)
            .ok_or_else(|| SealError::Key("réponse de KMS sans clé publique".into()))
    }
}

/// The key named by `alias` (`alias/…`), created if none has it: ECC_NIST_P256, SIGN_VERIFY,
/// then the alias. Returns (key id, created). A key of another kind under that alias is
/// refused rather than used. For the local stack: on AWS the template creates the key.
pub async fn ensure_key(
    client: &aws_sdk_kms::Client,
    alias: &str,
) -> Result<(String, bool), SealError> {
    if !alias.starts_with("alias/") {
        return Err(SealError::Key(format!(
            "« {alias} » n’est pas un alias (alias/…) : admin setup-local crée la clé sous un alias"
        )));
    }
    match client.describe_key().key_id(alias).send().await {
        Ok(out) => {
            let meta = out
                .key_metadata
                .ok_or_else(|| SealError::Key("réponse de KMS sans description de clé".into()))?;
            if meta.key_spec() != Some(&KeySpec::EccNistP256)
                || meta.key_usage() != Some(&KeyUsageType::SignVerify)
            {
                return Err(SealError::Key(format!(
                    "{alias} désigne une clé {:?} / {:?}, pas ECC_NIST_P256 / SIGN_VERIFY",
                    meta.key_spec(),
                    meta.key_usage()
                )));
            }
            Ok((meta.key_id().to_string(), false))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_not_found_exception()) =>
        {
            let created = client
                .create_key()
                .key_spec(KeySpec::EccNistP256)
                .key_usage(KeyUsageType::SignVerify)
                .description(
                    "Sceau de l’académie : signature des conventions (environnement local)",
                )
                .send()
                .await
                .map_err(|e| SealError::Key(format!("création de la clé : {}", describe(&e))))?;
            let key_id = created
                .key_metadata
                .map(|m| m.key_id().to_string())
                .ok_or_else(|| SealError::Key("réponse de KMS sans clé créée".into()))?;
            client
                .create_alias()
                .alias_name(alias)
                .target_key_id(&key_id)
                .send()
                .await
                .map_err(|e| {
                    SealError::Key(format!("création de l’alias {alias} : {}", describe(&e)))
                })?;
            Ok((key_id, true))
        }
        Err(e) => Err(SealError::Key(format!(
            "description de {alias} : {}",
            describe(&e)
        ))),
    }
}
