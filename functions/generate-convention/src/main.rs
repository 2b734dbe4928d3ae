//! generate-convention: DynamoDB stream → convention PDF in S3 for each deposited dossier;
//! its erasure when the retention (TTL) removes the dossier.
use aws_lambda_events::event::dynamodb::Event;
use conventions_ent::jobs::generate::handle;
use conventions_ent::{
    app::init_tracing,
    secrets::{self, Secret},
    App,
};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let mut app = App::connect(secrets::config(&[Secret::Link]).await?).await?;
    // The seal signs every convention: a configured seal that cannot load stops the cold
    // start with the reason (the stream retries the records).
    app.load_seal().await?;
    let app = &app;
    run(service_fn(|event: LambdaEvent<Event>| async move {
        Ok::<_, Error>(handle(app, &event.payload).await)
    }))
    .await
}
