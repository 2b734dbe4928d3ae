//! The académie's seal against the emulator, every AWS call through the real SDK: the key
//! `admin setup-local` creates in KMS (moto), the certificate its code makes through that key
//! and stores in SSM, a CMS signed by KMS and verified by `openssl`, the chain loaded the way
//! the functions load it, and the public route that serves it.

use crate::helpers::{check_pdf, check_seal, full_dossier, moto_endpoint, suffix, TestApp};
use conventions_ent::adapters::kms::{ensure_key, KmsSealKey};
use conventions_ent::adapters::sdk_config;
use conventions_ent::adapters::ssm::SsmCertificates;
use conventions_ent::config::SealSettings;
use conventions_ent::ports::{SealCertificateStore, SealKey};
use conventions_ent::seal::setup::{self, LocalCertificate};
use conventions_ent::seal::{Seal, SealError};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

/// A key and a certificate parameter of their own on the shared emulator, made by the code
/// `admin setup-local` runs.
async fn local_seal(sdk: &aws_config::SdkConfig) -> SealSettings {
    let sfx = suffix();
    let settings = SealSettings {
        key_id: format!("alias/test-sceau-{sfx}"),
        certificate_parameter: format!("/test-{sfx}/sceau/certificat"),
    };
    let kms = aws_sdk_kms::Client::new(sdk);
    let (_, created) = ensure_key(&kms, &settings.key_id).await.unwrap();
    assert!(created);
    let key = KmsSealKey::new(kms.clone(), &settings.key_id);
    let store = SsmCertificates::new(
        aws_sdk_ssm::Client::new(sdk),
        &settings.certificate_parameter,
    );
    let made =
        setup::ensure_local_certificate(&key, &store, "Académie de Rennes", chrono::Utc::now())
            .await
            .unwrap();
    assert!(matches!(made, LocalCertificate::Created { .. }), "{made:?}");
    settings
}

fn cms_verify(dir: &Path, content: &str) -> (bool, String) {
    let out = Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "sig.der",
            "-content",
            content,
            "-CAfile",
            "chain.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ])
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_cms_signed_by_kms_in_the_emulator_verifies_with_openssl() {
    let sdk = sdk_config(Some(&moto_endpoint())).await;
    let settings = local_seal(&sdk).await;

    // A second setup keeps key and certificate.
    let kms = aws_sdk_kms::Client::new(&sdk);
    let (key_id, created) = ensure_key(&kms, &settings.key_id).await.unwrap();
    assert!(!created);
    let store = SsmCertificates::new(
        aws_sdk_ssm::Client::new(&sdk),
        &settings.certificate_parameter,
    );
    let stored = store.get().await.unwrap().unwrap();
    let key = KmsSealKey::new(kms.clone(), &settings.key_id);
    let again =
        setup::ensure_local_certificate(&key, &store, "Académie de Rennes", chrono::Utc::now())
            .await
            .unwrap();
    assert!(
        matches!(again, LocalCertificate::Reused { .. }),
        "{again:?}"
    );
    assert_eq!(store.get().await.unwrap().unwrap(), stored);

    // The seal as the functions load it (SSM, then KMS), by alias and by key id alike.
    let seal = conventions_ent::app::connect_seal(&sdk, &settings)
        .await
        .unwrap();
    assert_eq!(
        seal.signer_name(),
        "Sceau de l’académie de Rennes (environnement local)"
    );
    let by_id = SealSettings {
        key_id: key_id.clone(),
        ..settings.clone()
    };
    let seal_by_id = conventions_ent::app::connect_seal(&sdk, &by_id)
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let content = b"%PDF-1.7 ... les deux plages d'octets de la convention ...".repeat(40);
    std::fs::write(dir.path().join("content.bin"), &content).unwrap();
    std::fs::write(dir.path().join("chain.pem"), seal.chain_pem()).unwrap();
    for seal in [&seal, &seal_by_id] {
        let cms = seal.sign(Sha256::digest(&content).into()).await.unwrap();
        assert!(cms.len() <= seal.max_signature_len());
        std::fs::write(dir.path().join("sig.der"), &cms).unwrap();
        let (ok, stderr) = cms_verify(dir.path(), "content.bin");
        assert!(ok && stderr.contains("Verification successful"), "{stderr}");
        println!(
            "CMS signed by KMS (moto): {} bytes; placeholder bound {}",
            cms.len(),
            seal.max_signature_len()
        );
    }
    // The KMS round trip, apart from the PDF benchmark (make bench-convention excludes it):
    // twenty seals in a row, each checked, their times printed (--no-capture).
    let mut times = Vec::new();
    for i in 0..20u8 {
        let digest: [u8; 32] = Sha256::digest([i]).into();
        let started = std::time::Instant::now();
        let cms = seal.sign(digest).await.unwrap();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(cms.len() <= seal.max_signature_len());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "KMS Sign round trip (moto, loopback): p50 {:.2} ms, max {:.2} ms over 20",
        times[10], times[19]
    );
    let mut changed = content.clone();
    changed[0] ^= 0x20;
    std::fs::write(dir.path().join("changed.bin"), &changed).unwrap();
    let (ok, _) = cms_verify(dir.path(), "changed.bin");
    assert!(!ok, "a changed byte must fail verification");
}

#[tokio::test]
async fn the_seal_loads_from_the_configuration_and_refuses_a_chain_of_another_key() {
    let sdk = sdk_config(Some(&moto_endpoint())).await;
    let settings = local_seal(&sdk).await;
    let mut t = TestApp::spawn().await;
    t.app.seal = None;
    let e = t.app.require_seal().unwrap_err().to_string();
    assert!(
        e.contains("SEAL_KEY_ID") && e.contains("SEAL_CERTIFICATE_PARAMETER"),
        "{e}"
    );

    t.app.config.seal = Some(settings.clone());
    t.app.load_seal().await.unwrap();
    let seal = t.app.require_seal().unwrap();
    seal.sign([3; 32]).await.unwrap();

    // Another key's certificate (another local setup) is refused and the parameter unchanged.
    let other = local_seal(&sdk).await;
    let other_pem =
        SsmCertificates::new(aws_sdk_ssm::Client::new(&sdk), &other.certificate_parameter)
            .get()
            .await
            .unwrap()
            .unwrap();
    let key = KmsSealKey::new(aws_sdk_kms::Client::new(&sdk), &settings.key_id);
    let store = SsmCertificates::new(
        aws_sdk_ssm::Client::new(&sdk),
        &settings.certificate_parameter,
    );
    let before = store.get().await.unwrap();
    let e = setup::store_chain(&key, &store, &other_pem)
        .await
        .unwrap_err();
    assert!(matches!(e, SealError::KeyMismatch(_)), "{e}");
    assert_eq!(store.get().await.unwrap(), before);

    // A seal made of that chain with this key does not sign.
    let wrong = Seal::new(Arc::new(key), &other_pem).unwrap();
    assert!(matches!(
        wrong.sign([3; 32]).await,
        Err(SealError::KeyMismatch(_))
    ));

    // A parameter that does not exist says what to run.
    t.app.config.seal = Some(SealSettings {
        certificate_parameter: format!("/absent-{}/sceau/certificat", suffix()),
        ..settings
    });
    let e = t.app.load_seal().await.unwrap_err().to_string();
    assert!(
        e.contains("n’existe pas") && e.contains("admin seal-certificate"),
        "{e}"
    );
}

#[tokio::test]
async fn certificat_pem_serves_the_chain_and_says_when_there_is_none() {
    let mut t = TestApp::spawn().await;
    t.app.seal = None;
    let r = t.get("/api/conventions/certificat.pem", None).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r
        .header("content-type")
        .starts_with("application/problem+json"));
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("certificat du sceau de l’académie n’est pas configuré"),
        "{}",
        r.body
    );

    let sdk = sdk_config(Some(&moto_endpoint())).await;
    let settings = local_seal(&sdk).await;
    t.app.seal = Some(Arc::new(
        conventions_ent::app::connect_seal(&sdk, &settings)
            .await
            .unwrap(),
    ));
    let r = t.get("/api/conventions/certificat.pem", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), "application/x-pem-file");
    assert_eq!(r.header("cache-control"), "public, max-age=3600");
    assert_eq!(r.body, t.app.seal.as_ref().unwrap().chain_pem());
    assert!(r.body.starts_with("-----BEGIN CERTIFICATE-----\n"));
    // What is served is the key's own certificate.
    let key = KmsSealKey::new(aws_sdk_kms::Client::new(&sdk), &settings.key_id);
    let spki = key.public_key().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("chain.pem"), &r.body).unwrap();
    let out = Command::new("openssl")
        .args(["x509", "-in", "chain.pem", "-noout", "-pubkey"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let pem_key = String::from_utf8(out.stdout).unwrap();
    let b64: String = pem_key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    use base64::Engine;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
        spki
    );

    for method in ["POST", "DELETE", "PATCH"] {
        let r = t
            .call(method, "/api/conventions/certificat.pem", None, &[])
            .await;
        assert_eq!(r.status, 405, "{method}: {}", r.body);
        assert_eq!(r.header("allow"), "GET");
    }
}

/// The convention generate-convention stores, as its readers check it: sealed by the académie
/// (pdfsig and pyHanko, trusting the certificate the public route serves), still PDF/A-2b and
/// PDF/UA-1 once sealed; and one byte changed anywhere in the signed range (metadata, page
/// content, trailer) makes both validators say the seal is broken.
#[tokio::test]
async fn a_deposited_convention_is_sealed_and_one_changed_byte_breaks_the_seal() {
    let t = TestApp::spawn().await;
    let (id, _) = t.deposit_new(&full_dossier()).await;
    let event = t.stream_event().await;
    assert!(t.run_generate(&event).await.batch_item_failures.is_empty());
    let conv = t.stored(&id).await.unwrap().convention.unwrap();
    let object =
        t.s3.get_object()
            .bucket(t.bucket())
            .key(&conv.cle)
            .send()
            .await
            .unwrap();
    let pdf = object.body.collect().await.unwrap().into_bytes().to_vec();
    let chain = t.get("/api/conventions/certificat.pem", None).await;
    assert_eq!(chain.status, 200, "{}", chain.body);

    let (ok, report) = check_seal(&chain.body, &[&pdf]);
    assert!(ok, "{report}");
    assert_eq!(report.matches("sceau valide").count(), 2, "{report}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scellee.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let (ok, report) = check_pdf(&[path]);
    assert!(ok, "sealing keeps the file PDF/A-2b and PDF/UA-1: {report}");

    let find = |needle: &[u8]| memchr::memmem::find(&pdf, needle).unwrap();
    let in_metadata = find(b"<conv:numero>") + b"<conv:numero>".len();
    let deflated = find(b"/Filter/FlateDecode");
    let in_content = deflated + memchr::memmem::find(&pdf[deflated..], b"stream\n").unwrap() + 60;
    let in_trailer = memchr::memmem::rfind(&pdf, b"/ID[<").unwrap() + 6;
    let tampered: Vec<Vec<u8>> = [in_metadata, in_content, in_trailer]
        .into_iter()
        .map(|at| {
            // Another character of the same kind (a hex digit stays one): the file still
            // parses, only its bytes differ from what was sealed.
            let mut p = pdf.clone();
            p[at] = if p[at] == b'0' { b'1' } else { b'0' };
            p
        })
        .collect();
    let refs: Vec<&[u8]> = tampered.iter().map(Vec::as_slice).collect();
    let (ok, report) = check_seal(&chain.body, &refs);
    assert!(!ok, "{report}");
    assert_eq!(
        report.matches("SCEAU INVALIDE").count(),
        6,
        "both validators, three files: {report}"
    );
}
