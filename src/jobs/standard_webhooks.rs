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
    format!(
        "v1,{}",
        STANDARD.encode(
            mac(key, id, &timestamp.to_string(), body.as_bytes())
                .finalize()
                .into_bytes()
        )
    )
}

fn mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Hmac<sha2::Sha256> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// How far a message's timestamp may be from now (the libraries' default: five minutes).
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a signed message is refused, in French (said in the 401).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// One of the three headers is absent or malformed.
    Headers,
    /// `webhook-timestamp` is more than [`TOLERANCE_SECONDS`] away from now.
    Stale,
    /// No `v1` signature of the header matches.
    Signature,
}

impl Refused {
    pub fn detail(self) -> &'static str {
        match self {
            Refused::Headers => "Signature absente : les en-têtes webhook-id, webhook-timestamp et webhook-signature (Standard Webhooks) sont obligatoires.",
            Refused::Stale => "Signature périmée : webhook-timestamp s’écarte de plus de cinq minutes de l’heure du serveur.",
            Refused::Signature => "Signature invalide : aucune signature v1 ne correspond au message et au secret de réponse.",
        }
    }
}

/// Verifies an incoming message as the libraries do: the headers' id and timestamp, the
/// timestamp within [`TOLERANCE_SECONDS`] of `now` (epoch seconds), and one of the
/// space-separated `v1,<base64>` signatures equal (in constant time) to the HMAC of
/// "id.timestamp.body" over the raw body bytes.
pub fn verify(
    key: &[u8],
    id: Option<&str>,
    timestamp: Option<&str>,
    signatures: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), Refused> {
    let (Some(id), Some(ts), Some(sigs)) = (id, timestamp, signatures) else {
        return Err(Refused::Headers);
    };
    if id.is_empty() || id.len() > 256 || ts.len() > 20 || sigs.len() > 4096 {
        return Err(Refused::Headers);
    }
    let t: i64 = ts.parse().map_err(|_| Refused::Headers)?;
    if (now - t).abs() > TOLERANCE_SECONDS {
        return Err(Refused::Stale);
    }
    let expected = mac(key, id, ts, body);
    let matches = sigs
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|b64| {
            STANDARD
                .decode(b64)
                .is_ok_and(|sig| expected.clone().verify_slice(&sig).is_ok())
        });
    if matches {
        Ok(())
    } else {
        Err(Refused::Signature)
    }
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

    #[test]
    fn verifies_as_the_libraries_do() {
        let key = key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"test": 2432232314}"#;
        let id = Some("msg_p5jXN8AQM9LWM0D4loKWxJek");
        let ts = Some("1614265330");
        let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let now = 1614265330 + 60;
        assert_eq!(verify(&key, id, ts, Some(good), body, now), Ok(()));
        let several = format!("v1,AAAA {good} v2,x");
        assert_eq!(verify(&key, id, ts, Some(&several), body, now), Ok(()));
        assert_eq!(
            verify(&key, id, ts, Some(good), body, now + 300),
            Err(Refused::Stale)
        );
        assert_eq!(
            verify(&key, id, ts, Some(good), b"{}", now),
            Err(Refused::Signature)
        );
        assert_eq!(
            verify(&key, Some("msg_autre"), ts, Some(good), body, now),
            Err(Refused::Signature)
        );
        assert_eq!(
            verify(b"autre", id, ts, Some(good), body, now),
            Err(Refused::Signature)
        );
        for (i, t, s) in [
            (None, ts, Some(good)),
            (id, None, Some(good)),
            (id, ts, None),
            (id, Some("hier"), Some(good)),
            (Some(""), ts, Some(good)),
        ] {
            assert_eq!(verify(&key, i, t, s, body, now), Err(Refused::Headers));
        }
    }
}
