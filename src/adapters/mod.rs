//! Implementations of the ports: on AWS (only this module and `app` know the SDKs; `kms` and
//! `ssm` hold the seal's key and certificate chain), and in
//! memory (`memory`). Adapters translate; the rules are the domain's.

pub mod dynamo;
pub mod item_size;
pub mod kms;
pub mod memory;
pub mod registry;
pub mod s3;
pub mod ses;
pub mod ssm;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the SDK configuration once: region and credentials from the environment, the local
/// emulator's endpoint when one is configured, and standard retries with backoff.
pub async fn sdk_config(endpoint_url: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(5));
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// Flattens an SDK error with its source chain (the SDK's Display alone says "service error").
pub fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        s.push_str(": ");
        s.push_str(&e.to_string());
        cur = e.source();
    }
    s
}
