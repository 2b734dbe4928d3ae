//! Operator commands, for the local stack and for AWS alike:
//!
//! - `admin setup-local`: creates the table, the bucket and the SES identity (local emulator);
//! - `admin import-annuaire <file.csv>`: imports the school directory and publishes the
//!   snapshot the functions load at cold start; prints one summary line.
//!
//! Reads TABLE_NAME, BUCKET_NAME, SENDER_EMAIL and AWS_ENDPOINT_URL from the environment.

use conventions_ent::adapters::{dynamo, s3::S3Documents, sdk_config};
use conventions_ent::ports::DocumentStore;
use conventions_ent::reference::{annuaire, ECOLES_KEY};
use std::process::ExitCode;

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("variable d’environnement {name} absente"))
}

async fn run(args: &[String]) -> Result<(), String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
    let sdk = sdk_config(endpoint.as_deref()).await;
    let s3 = S3Documents::client(&sdk, endpoint.is_some());
    let bucket = env("BUCKET_NAME")?;
    match args.first().map(String::as_str) {
        Some("setup-local") => {
            let table = env("TABLE_NAME")?;
            dynamo::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
                .await
                .map_err(|e| e.to_string())?;
            let mut create = s3.create_bucket().bucket(&bucket);
            if let Some(region) = sdk
                .region()
                .map(|r| r.to_string())
                .filter(|r| r != "us-east-1")
            {
                use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
                create = create.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(region.as_str()))
                        .build(),
                );
            }
            match create.send().await {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_bucket_already_owned_by_you()) => {}
                Err(e) => return Err(conventions_ent::adapters::describe(&e)),
            }
            let sender = env("SENDER_EMAIL")?;
            aws_sdk_ses::Client::new(&sdk)
                .verify_email_identity()
                .email_address(&sender)
                .send()
                .await
                .map_err(|e| conventions_ent::adapters::describe(&e))?;
            println!("table {table}, bucket {bucket}, identité SES {sender} : prêts");
            Ok(())
        }
        Some("import-annuaire") => {
            let file = args
                .get(1)
                .ok_or("usage : admin import-annuaire <fichier.csv>")?;
            let bytes = std::fs::read(file).map_err(|e| format!("{file} : {e}"))?;
            let (ecoles, report) = annuaire::import_csv(&bytes).map_err(|e| e.to_string())?;
            let snapshot = serde_json::to_vec(&ecoles).map_err(|e| e.to_string())?;
            S3Documents::new(s3, &bucket)
                .put(ECOLES_KEY, snapshot, "application/json")
                .await
                .map_err(|e| e.to_string())?;
            println!("{file} : {}", report.summary());
            Ok(())
        }
        _ => Err("usage : admin setup-local | admin import-annuaire <fichier.csv>".into()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("erreur : {e}");
            ExitCode::FAILURE
        }
    }
}
