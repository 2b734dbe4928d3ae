//! Presigned links against s3s-fs, which checks signatures and expiry (moto does not).

use crate::helpers::*;
use conventions_ent::adapters::s3::S3Documents;
use conventions_ent::ports::DocumentStore;

#[tokio::test]
async fn presigned_links_work_then_expire_and_resist_tampering() {
    let s3 = s3s_client().await;
    let bucket = format!("presign-{}", suffix());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let store = S3Documents::new(s3.clone(), &bucket);
    let pdf = b"%PDF-1.3 test".to_vec();
    // s3s-fs has no SSE: write the object plainly, then presign through our adapter.
    s3.put_object()
        .bucket(&bucket)
        .key("conventions/a.pdf")
        .body(pdf.clone().into())
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key("conventions/b.pdf")
        .body(b"other".to_vec().into())
        .send()
        .await
        .unwrap();

    let url = store
        .presign_get(
            "conventions/a.pdf",
            "convention-ENT-000001.pdf",
            "application/pdf",
            2,
        )
        .await
        .unwrap();
    let (status, headers, body) = http_get(url.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(body, pdf);
    assert!(headers
        .get("content-disposition")
        .is_some_and(|d| d.contains("convention-ENT-000001.pdf")));

    // Tampered signature, and the signature of one key used for another.
    let sig_at = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let mut tampered = url.clone();
    let flipped = if &url[sig_at..sig_at + 1] == "a" {
        "b"
    } else {
        "a"
    };
    tampered.replace_range(sig_at..sig_at + 1, flipped);
    assert_eq!(http_get(tampered).await.0, 403);
    assert_eq!(http_get(url.replace("/a.pdf", "/b.pdf")).await.0, 403);

    // Expired.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(http_get(url).await.0, 403);
}
