//! export-schools: DynamoDB stream (an export job requested) → its file written to S3 in parts
//! (`jobs::export`), its progress and its end on the job.
use aws_lambda_events::event::dynamodb::Event;
use conventions_ent::jobs::export::handle;
use conventions_ent::{
    app::init_tracing,
    secrets::{self, Secret},
    App,
};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    // The editors' settings: each row names the editor its school goes to.
    let app = App::connect(secrets::config(&[Secret::Editeurs]).await?).await?;
    let app = &app;
    run(service_fn(|event: LambdaEvent<Event>| async move {
        Ok::<_, Error>(handle(app, &event.payload).await)
    }))
    .await
}
