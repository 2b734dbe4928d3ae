//! notify-editor: DynamoDB stream (dossier accepted, webhook scheduled) → signed webhook to the
//! ENT editor.
use aws_lambda_events::event::dynamodb::Event;
use conventions_ent::jobs::stream::process_selected;
use conventions_ent::jobs::webhook::{deliver, scheduled};
use conventions_ent::{
    app::init_tracing,
    secrets::{self, Secret},
    App,
};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app = App::connect(secrets::config(&[Secret::Webhook, Secret::Editeurs]).await?).await?;
    let app = &app;
    run(service_fn(|event: LambdaEvent<Event>| async move {
        Ok::<_, Error>(process_selected(&event.payload, scheduled, |d| deliver(app, d)).await)
    }))
    .await
}
