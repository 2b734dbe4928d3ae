//! Conventions and reference data in S3.

use super::describe;
use crate::ports::{DocumentStore, Fetched, PutOutcome, StoreError};
use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use aws_sdk_s3::Client;
use std::time::Duration;

pub struct S3Documents {
    client: Client,
    bucket: String,
}

impl S3Documents {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3Documents {
            client,
            bucket: bucket.into(),
        }
    }

    /// Path-style addressing when a local endpoint is set (emulators don't serve bucket
    /// subdomains of 127.0.0.1).
    pub fn client(sdk: &aws_config::SdkConfig, local: bool) -> Client {
        let conf = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(local)
            .build();
        Client::from_conf(conf)
    }

    async fn existing(&self, key: &str) -> Result<Option<(String, u64)>, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(h) => {
                let sha = h
                    .metadata()
                    .and_then(|m| m.get("sha256"))
                    .cloned()
                    .unwrap_or_default();
                Ok(Some((sha, h.content_length().unwrap_or(0).max(0) as u64)))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(StoreError::Unavailable(describe(&e))),
        }
    }
}

#[async_trait]
impl DocumentStore for S3Documents {
    async fn put_pdf_if_absent(
        &self,
        key: &str,
        bytes: Vec<u8>,
        sha256: &str,
    ) -> Result<PutOutcome, StoreError> {
        // The HEAD spares a write on replays; If-None-Match closes the race between two
        // concurrent attempts (S3 answers 412 to the second).
        if let Some((sha256, size)) = self.existing(key).await? {
            return Ok(PutOutcome::AlreadyExists { sha256, size });
        }
        let res = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .if_none_match("*")
            .content_type("application/pdf")
            .server_side_encryption(ServerSideEncryption::Aes256)
            .metadata("sha256", sha256)
            .body(ByteStream::from(bytes))
            .send()
            .await;
        match res {
            Ok(_) => Ok(PutOutcome::Created),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => {
                let (sha256, size) = self.existing(key).await?.unwrap_or_default();
                Ok(PutOutcome::AlreadyExists { sha256, size })
            }
            Err(e) => Err(StoreError::Unavailable(describe(&e))),
        }
    }

    async fn presign_get(
        &self,
        key: &str,
        filename: &str,
        content_type: &str,
        ttl_seconds: u64,
    ) -> Result<String, StoreError> {
        let conf = PresigningConfig::expires_in(Duration::from_secs(ttl_seconds))
            .map_err(|e| StoreError::Unavailable(describe(&e)))?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(content_type)
            .response_content_disposition(format!("attachment; filename=\"{filename}\""))
            .presigned(conf)
            .await
            .map_err(|e| StoreError::Unavailable(describe(&e)))?;
        Ok(req.uri().to_string())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => {
                let data = o
                    .body
                    .collect()
                    .await
                    .map_err(|e| StoreError::Unavailable(describe(&e)))?;
                Ok(Some(data.into_bytes().to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(StoreError::Unavailable(describe(&e))),
        }
    }

    async fn get_if_changed(&self, key: &str, etag: Option<&str>) -> Result<Fetched, StoreError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_if_none_match(etag.map(str::to_string))
            .send()
            .await
        {
            Ok(o) => {
                let etag = o.e_tag.clone();
                let data = o
                    .body
                    .collect()
                    .await
                    .map_err(|e| StoreError::Unavailable(describe(&e)))?;
                Ok(Fetched::Object {
                    bytes: data.into_bytes().to_vec(),
                    etag,
                })
            }
            // 304 Not Modified: S3 sends no body, the SDK reports it as an error.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 304) => {
                Ok(Fetched::Unchanged)
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                Ok(Fetched::Absent)
            }
            Err(e) => Err(StoreError::Unavailable(describe(&e))),
        }
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(describe(&e)))?;
        Ok(())
    }

    async fn erase_all_versions(&self, prefix: &str) -> Result<usize, StoreError> {
        let mut erased = 0;
        // Each round deletes what one listing returned (up to 1,000 entries); a prefix that
        // does not empty itself is reported rather than looped on.
        for _ in 0..100 {
            // Listed again after each round of deletions: no pagination marker to keep.
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(prefix)
                .send()
                .await
                .map_err(|e| StoreError::Unavailable(describe(&e)))?;
            let versions: Vec<(String, String)> = page
                .versions()
                .iter()
                .map(|v| (v.key(), v.version_id()))
                .chain(
                    page.delete_markers()
                        .iter()
                        .map(|m| (m.key(), m.version_id())),
                )
                .filter_map(|(k, v)| Some((k?.to_string(), v?.to_string())))
                .collect();
            if versions.is_empty() {
                return Ok(erased);
            }
            for (key, version) in versions {
                self.client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .version_id(version)
                    .send()
                    .await
                    .map_err(|e| StoreError::Unavailable(describe(&e)))?;
                erased += 1;
            }
        }
        Err(StoreError::Unavailable(format!(
            "{prefix} : des versions restent après 100 tours d’effacement"
        )))
    }

    async fn start_upload(
        &self,
        key: &str,
        content_type: &str,
        file_name: &str,
    ) -> Result<String, StoreError> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            // On the object itself, not only in the presigned link: a store that ignores the
            // link's response-* parameters (moto, `make run`) still has browsers download it.
            .content_disposition(format!("attachment; filename=\"{file_name}\""))
            // No SSE header: the bucket's default encryption (AES256, infra/template.yaml)
            // applies, and s3s-fs, against which the tests check the links, takes none.
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(describe(&e)))?;
        out.upload_id
            .ok_or_else(|| StoreError::Unavailable("envoi en parties sans identifiant".into()))
    }

    async fn upload_part(
        &self,
        key: &str,
        upload: &str,
        number: i32,
        bytes: Vec<u8>,
    ) -> Result<String, StoreError> {
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(describe(&e)))?;
        out.e_tag
            .ok_or_else(|| StoreError::Unavailable(format!("partie {number} sans ETag")))
    }

    async fn finish_upload(
        &self,
        key: &str,
        upload: &str,
        parts: &[String],
    ) -> Result<(), StoreError> {
        use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
        let parts = parts
            .iter()
            .zip(1..)
            .map(|(etag, n)| CompletedPart::builder().e_tag(etag).part_number(n).build())
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(describe(&e)))?;
        Ok(())
    }

    async fn abort_upload(&self, key: &str, upload: &str) -> Result<(), StoreError> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload)
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(describe(&e)))?;
        Ok(())
    }
}
