//! The seal's certificate chain in an SSM parameter (`SealCertificateStore`): a String
//! parameter holding the PEM, leaf first. Public data, so not a SecureString; a parameter
//! rather than an object of the bucket because it is configuration that an operator replaces
//! (`admin seal-certificate`) without a redeployment, with its own history and IAM.

use super::describe;
use crate::ports::SealCertificateStore;
use crate::seal::SealError;
use async_trait::async_trait;
use aws_sdk_ssm::types::{ParameterTier, ParameterType};

pub struct SsmCertificates {
    client: aws_sdk_ssm::Client,
    name: String,
}

impl SsmCertificates {
    pub fn new(client: aws_sdk_ssm::Client, name: &str) -> SsmCertificates {
        SsmCertificates {
            client,
            name: name.to_string(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait]
impl SealCertificateStore for SsmCertificates {
    async fn get(&self) -> Result<Option<String>, SealError> {
        match self.client.get_parameter().name(&self.name).send().await {
            Ok(out) => Ok(out
                .parameter
                .and_then(|p| p.value)
                .filter(|v| !v.trim().is_empty())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                Ok(None)
            }
            Err(e) => Err(SealError::Parameter(format!(
                "lecture de {} : {}",
                self.name,
                describe(&e)
            ))),
        }
    }

    /// Intelligent-Tiering: a standard parameter holds 4 KB, which a chain with an RSA
    /// authority can pass; SSM then makes it an advanced one (8 KB) by itself.
    async fn put(&self, pem: &str) -> Result<(), SealError> {
        self.client
            .put_parameter()
            .name(&self.name)
            .value(pem)
            .r#type(ParameterType::String)
            .overwrite(true)
            .tier(ParameterTier::IntelligentTiering)
            .description(
                "Chaîne de certificats du sceau de l’académie (PEM, le sceau d’abord), publique",
            )
            .send()
            .await
            .map_err(|e| {
                SealError::Parameter(format!("écriture de {} : {}", self.name, describe(&e)))
            })?;
        Ok(())
    }
}

/// A Secrets Manager secret's value, through SSM's reference path
/// (`/aws/reference/secretsmanager/<id>`, decrypted): what `crate::secrets` reads at cold start.
pub async fn secret_value(client: aws_sdk_ssm::Client, id: String) -> Result<String, String> {
    let out = client
        .get_parameter()
        .name(format!("/aws/reference/secretsmanager/{id}"))
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    out.parameter
        .and_then(|p| p.value)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| "le secret est vide".to_string())
}
