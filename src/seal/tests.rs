//! The seal checked by a peer we did not write: every signature, certificate and request made
//! here is read and verified by the `openssl` command.

use super::certificate::{self, Certificate, SealSubject};
use super::setup::{self, LocalCertificate};
use super::test_key::{openssl, MemoryStore, OpensslKey};
use super::{Seal, SealError};
use crate::ports::SealKey;
use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;

const ACADEMIE: &str = "Académie de Rennes";

/// A key and its local self-signed certificate, and the seal they make.
async fn local_seal() -> (Arc<OpensslKey>, Certificate, Seal) {
    let key = Arc::new(OpensslKey::generate());
    let cert = certificate::self_signed(key.as_ref(), &SealSubject::local(ACADEMIE), Utc::now())
        .await
        .unwrap();
    let seal = Seal::new(key.clone(), &cert.pem()).unwrap();
    (key, cert, seal)
}

/// `openssl cms -verify` of a detached signature: (success, stderr).
fn cms_verify(dir: &Path, sig: &str, content: &str, ca: &str) -> (bool, String) {
    let out = Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            sig,
            "-content",
            content,
            "-CAfile",
            ca,
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_detached_cms_verifies_with_openssl_and_a_changed_byte_does_not() {
    let (key, cert, seal) = local_seal().await;
    let dir = key.path();
    let content = b"%PDF-1.7 une convention ENT \xc3\xa9cole / GAR, scell\xc3\xa9e\n".repeat(50);
    std::fs::write(dir.join("content.bin"), &content).unwrap();
    std::fs::write(dir.join("cert.pem"), seal.chain_pem()).unwrap();
    let cms = seal.sign(Sha256::digest(&content).into()).await.unwrap();
    std::fs::write(dir.join("sig.der"), &cms).unwrap();

    let (ok, stderr) = cms_verify(dir, "sig.der", "content.bin", "cert.pem");
    assert!(ok && stderr.contains("Verification successful"), "{stderr}");

    let mut changed = content.clone();
    changed[100] ^= 0x01;
    std::fs::write(dir.join("changed.bin"), &changed).unwrap();
    let (ok, stderr) = cms_verify(dir, "sig.der", "changed.bin", "cert.pem");
    assert!(
        !ok && !stderr.contains("Verification successful"),
        "{stderr}"
    );

    // Signed by the seal's certificate and no other: another trust anchor refuses it.
    let (_, other, _) = local_seal().await;
    std::fs::write(dir.join("other.pem"), other.pem()).unwrap();
    let (ok, _) = cms_verify(dir, "sig.der", "content.bin", "other.pem");
    assert!(!ok);

    assert!(cms.len() <= seal.max_signature_len());
    assert_eq!(seal.signer_name(), cert.common_name().unwrap());
    println!(
        "CMS: {} bytes (certificate {} bytes), placeholder bound {}",
        cms.len(),
        cert.der().len(),
        seal.max_signature_len()
    );
}

#[tokio::test]
async fn the_signed_attributes_are_pades_b_b_ones_without_signing_time() {
    let (key, cert, seal) = local_seal().await;
    let digest: [u8; 32] = Sha256::digest(b"contenu").into();
    let cms = seal.sign(digest).await.unwrap();
    std::fs::write(key.path().join("sig.der"), &cms).unwrap();
    let out = openssl(
        key.path(),
        &["asn1parse", "-inform", "DER", "-in", "sig.der"],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        ":pkcs7-signedData",
        ":sha256",
        ":pkcs7-data",
        ":contentType",
        ":messageDigest",
        ":id-smime-aa-signingCertificateV2",
        ":ecdsa-with-SHA256",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    assert!(!text.contains("signingTime"), "{text}");
    assert!(
        text.to_uppercase().contains(&hex::encode_upper(digest)),
        "message-digest carries the digest given"
    );
    assert!(
        text.to_uppercase()
            .contains(&hex::encode_upper(cert.sha256())),
        "ESSCertIDv2 carries the leaf's SHA-256"
    );
    // openssl's own reading of the SignerInfo.
    let out = openssl(
        key.path(),
        &[
            "cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.der", "-noout",
        ],
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains("version: 1"), "{printed}");
    assert!(
        printed.contains("eContent: <ABSENT>"),
        "detached: {printed}"
    );
    assert!(printed.contains("issuerAndSerialNumber"), "{printed}");
}

#[tokio::test]
async fn the_local_certificate_as_openssl_reads_it() {
    let (key, cert, _) = local_seal().await;
    std::fs::write(key.path().join("cert.pem"), cert.pem()).unwrap();
    let out = openssl(
        key.path(),
        &[
            "x509", "-in", "cert.pem", "-noout", "-text", "-nameopt", "utf8",
        ],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Version: 3 (0x2)"), "{text}");
    assert!(text.contains("X509v3 Key Usage: critical"), "{text}");
    assert!(
        text.contains("Digital Signature, Non Repudiation"),
        "{text}"
    );
    assert!(text.contains("ecdsa-with-SHA256"), "{text}");
    assert!(
        text.contains("NIST CURVE: P-256") || text.contains("prime256v1"),
        "{text}"
    );
    assert!(
        text.contains("Sceau de l’académie de Rennes (environnement local)"),
        "{text}"
    );
    assert!(
        text.contains("Subject: C=FR, O=Académie de Rennes, CN=Sceau de l’académie de Rennes (environnement local)"),
        "{text}"
    );
    // Self-signed: its own signature verifies, for ten years.
    let out = openssl(key.path(), &["verify", "-CAfile", "cert.pem", "cert.pem"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));
    let years = cert
        .not_after()
        .signed_duration_since(cert.not_before())
        .num_days();
    assert!((3650..=3653).contains(&years), "{years} days");
    // Serial: 16 bytes, positive.
    let out = openssl(
        key.path(),
        &["x509", "-in", "cert.pem", "-noout", "-serial"],
    );
    let serial = String::from_utf8(out.stdout).unwrap();
    let hex = serial.trim().trim_start_matches("serial=");
    assert_eq!(hex.len(), 32, "{serial}");
    assert!(u8::from_str_radix(&hex[..2], 16).unwrap() < 0x80);
}

#[tokio::test]
async fn the_certification_request_verifies_and_an_authority_can_issue_from_it() {
    let key = Arc::new(OpensslKey::generate());
    let dir = key.path();
    let csr = setup::certification_request_pem(key.as_ref(), ACADEMIE)
        .await
        .unwrap();
    std::fs::write(dir.join("csr.pem"), &csr).unwrap();
    let out = openssl(
        dir,
        &[
            "req", "-in", "csr.pem", "-verify", "-noout", "-text", "-nameopt", "utf8",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("verify OK") || text.contains("verify OK"),
        "{stderr}{text}"
    );
    assert!(
        text.contains("Subject: C=FR, O=Académie de Rennes, CN=Sceau de l’académie de Rennes\n"),
        "{text}"
    );
    assert!(!text.contains("environnement local"), "{text}");
    assert!(
        text.contains("Digital Signature, Non Repudiation"),
        "{text}"
    );

    // A certification authority (openssl, its own key) issues the leaf from the request.
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ca-key.pem",
        ],
    );
    std::fs::write(
        dir.join("ca.cnf"),
        "[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=AC de test\nO=Test\nC=FR\n\
         [ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-x509",
            "-config",
            "ca.cnf",
            "-extensions",
            "ca",
            "-key",
            "ca-key.pem",
            "-days",
            "30",
            "-out",
            "ca.pem",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "csr.pem",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "30",
            "-copy_extensions",
            "copy",
            "-out",
            "leaf.pem",
        ],
    );
    let leaf = std::fs::read_to_string(dir.join("leaf.pem")).unwrap();
    let ca = std::fs::read_to_string(dir.join("ca.pem")).unwrap();

    // Root first is refused; leaf first is stored and seals.
    let store = MemoryStore::default();
    let e = setup::store_chain(key.as_ref(), &store, &format!("{ca}{leaf}"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("doit commencer par le certificat du sceau"),
        "{e}"
    );
    assert!(store.0.lock().unwrap().is_none());
    let chain = setup::store_chain(key.as_ref(), &store, &format!("subject=…\n{leaf}\n{ca}"))
        .await
        .unwrap();
    assert_eq!(chain.len(), 2);
    let stored = store.0.lock().unwrap().clone().unwrap();
    assert!(
        !stored.contains("subject="),
        "only the certificates are stored"
    );

    let seal = Seal::new(key.clone(), &stored).unwrap();
    assert_eq!(seal.signer_name(), "Sceau de l’académie de Rennes");
    let content = b"contenu de la convention".to_vec();
    std::fs::write(dir.join("content.bin"), &content).unwrap();
    let cms = seal.sign(Sha256::digest(&content).into()).await.unwrap();
    std::fs::write(dir.join("sig.der"), &cms).unwrap();
    let (ok, stderr) = cms_verify(dir, "sig.der", "content.bin", "ca.pem");
    assert!(ok && stderr.contains("Verification successful"), "{stderr}");
    assert!(cms.len() <= seal.max_signature_len());

    // A chain issued for another key is refused, in French, and nothing is stored.
    let other = OpensslKey::generate();
    let store = MemoryStore::default();
    let e = setup::store_chain(&other, &store, &stored)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("ne certifie pas la clé KMS du sceau"), "{e}");
    assert!(store.0.lock().unwrap().is_none());
}

#[tokio::test]
async fn a_seal_whose_certificate_is_another_keys_refuses_to_sign_and_checks_once() {
    let (key, cert, seal) = local_seal().await;
    for _ in 0..3 {
        seal.sign([7; 32]).await.unwrap();
    }
    assert_eq!(
        key.public_key_calls.load(Ordering::SeqCst),
        2,
        "one for the certificate, one check"
    );

    let other = Arc::new(OpensslKey::generate());
    let wrong = Seal::new(other, &cert.pem()).unwrap();
    let e = wrong.sign([7; 32]).await.unwrap_err();
    assert!(matches!(e, SealError::KeyMismatch(_)), "{e}");
    assert!(e.to_string().contains("ne certifie pas la clé KMS"), "{e}");
}

#[tokio::test]
async fn an_expired_certificate_does_not_seal() {
    let key = Arc::new(OpensslKey::generate());
    let old = certificate::self_signed(
        key.as_ref(),
        &SealSubject::local(ACADEMIE),
        Utc::now() - Duration::days(3660),
    )
    .await
    .unwrap();
    let seal = Seal::new(key, &old.pem()).unwrap();
    let e = seal.sign([1; 32]).await.unwrap_err();
    assert!(matches!(e, SealError::OutOfValidity { .. }), "{e}");
    assert!(
        e.to_string().contains("faites-en émettre un nouveau"),
        "{e}"
    );
    assert!(!e.is_transient());
}

#[tokio::test]
async fn the_placeholder_bound_holds_for_every_signature() {
    let (_, cert, seal) = local_seal().await;
    let mut lengths = Vec::new();
    for i in 0..40u8 {
        let cms = seal.sign([i; 32]).await.unwrap();
        lengths.push(cms.len());
    }
    let max = *lengths.iter().max().unwrap();
    assert!(max <= seal.max_signature_len());
    // Tight: the bound is the longest signature's CMS plus the fixed margin.
    assert!(seal.max_signature_len() - max <= super::SIGNATURE_MARGIN + 2);
    // Everything but the certificate: the signer's name twice (issuer in the SignerInfo), the
    // three attributes, the signature; about 450 bytes for the local certificate's names.
    println!("CMS {max} bytes, certificate {}", cert.der().len());
    assert!(max - cert.der().len() < 500, "{max}");
}

#[tokio::test]
async fn local_setup_is_idempotent_and_replaces_another_keys_certificate() {
    let key = OpensslKey::generate();
    let store = MemoryStore::default();
    let first = setup::ensure_local_certificate(&key, &store, ACADEMIE, Utc::now())
        .await
        .unwrap();
    assert!(
        matches!(first, LocalCertificate::Created { .. }),
        "{first:?}"
    );
    let pem = store.0.lock().unwrap().clone().unwrap();
    let again = setup::ensure_local_certificate(&key, &store, ACADEMIE, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        again,
        LocalCertificate::Reused {
            common_name: "Sceau de l’académie de Rennes (environnement local)".into()
        }
    );
    assert_eq!(store.0.lock().unwrap().clone().unwrap(), pem, "unchanged");
    // Another key (the emulator restarted): a new certificate for it.
    let other = OpensslKey::generate();
    let replaced = setup::ensure_local_certificate(&other, &store, ACADEMIE, Utc::now())
        .await
        .unwrap();
    assert!(matches!(replaced, LocalCertificate::Created { .. }));
    assert_ne!(store.0.lock().unwrap().clone().unwrap(), pem);
}

#[tokio::test]
async fn garbled_certificates_give_errors_not_panics() {
    let (_, cert, _) = local_seal().await;
    let der = cert.der().to_vec();
    // Every truncation is refused.
    for n in 0..der.len() {
        assert!(
            Certificate::from_der(&der[..n]).is_err(),
            "truncated to {n}"
        );
    }
    // Every byte changed three ways: an error or a certificate, never a panic.
    for i in 0..der.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = der.clone();
            bad[i] ^= flip;
            let _ = Certificate::from_der(&bad);
        }
    }
    // Trailing bytes, a wrong outer tag, garbage.
    let mut longer = der.clone();
    longer.push(0);
    assert!(Certificate::from_der(&longer).is_err());
    assert!(Certificate::from_der(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_err());
    assert!(Certificate::from_der(&[0xff; 64]).is_err());
    // Through the PEM a seal is made from: a French error.
    let pem = certificate::pem("CERTIFICATE", &der[..der.len() / 2]);
    let e = Seal::new(Arc::new(OpensslKey::generate()), &pem).unwrap_err();
    assert!(
        e.to_string().contains("certificat du sceau inutilisable"),
        "{e}"
    );
}

#[tokio::test]
async fn a_key_that_is_not_p256_is_refused() {
    struct Rsa(OpensslKey);
    #[async_trait::async_trait]
    impl SealKey for Rsa {
        async fn sign(&self, m: &[u8]) -> Result<Vec<u8>, SealError> {
            self.0.sign(m).await
        }
        async fn public_key(&self) -> Result<Vec<u8>, SealError> {
            let dir = self.0.path();
            openssl(
                dir,
                &[
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:1024",
                    "-out",
                    "rsa.pem",
                ],
            );
            Ok(openssl(
                dir,
                &["pkey", "-in", "rsa.pem", "-pubout", "-outform", "DER"],
            )
            .stdout)
        }
    }
    let key = Rsa(OpensslKey::generate());
    let e = certificate::self_signed(&key, &SealSubject::local(ACADEMIE), Utc::now())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("ECC_NIST_P256"), "{e}");
}
