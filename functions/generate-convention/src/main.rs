//! generate-convention: DynamoDB stream (deposited dossiers) → convention PDF in S3.
use aws_lambda_events::event::dynamodb::Event;
use conventions_ent::domain::dossier::Etape;
use conventions_ent::jobs::{generate::generate, stream::process};
use conventions_ent::{app::init_tracing, config::Config, App};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app = App::connect(Config::from_env()?).await?;
    let app = &app;
    run(service_fn(|event: LambdaEvent<Event>| async move {
        Ok::<_, Error>(process(&event.payload, Etape::Depose, |d| generate(app, d)).await)
    }))
    .await
}
