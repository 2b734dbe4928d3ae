//! Standard Webhooks (standardwebhooks.com): the signature an ENT editor checks with an
//! off-the-shelf library in any language. `webhook-signature: v1,<base64 HMAC-SHA256(key,
//! "<webhook-id>.<webhook-timestamp>.<body>")>`; the key is the secret `whsec_<base64>`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};

/// The key bytes of a secret, as the libraries read it: `whsec_<base64>` or bare base64. A
/// secret that is neither (an older local setting) is used as its bytes, and no library will
/// verify it: the README says to give the editor `whsec_…`.
pub fn key(secret: &str) -> Vec<u8> {
    let s = secret.trim();
    let b64 = s.strip_prefix("whsec_").unwrap_or(s);
    STANDARD
        .decode(b64)
        .unwrap_or_else(|_| s.as_bytes().to_vec())
}

/// `v1,<base64 signature>` of one message.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the specification's reference implementations (same secret, id,
    /// timestamp and payload give the same signature).
    #[test]
    fn signs_as_the_specification_does() {
        let key = key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_ne!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body),
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        );
    }
}
