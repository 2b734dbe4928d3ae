//! send-acknowledgement: DynamoDB stream (convention recorded) → acknowledgement email;
//! (countersigned convention recorded) → acceptance email.
use aws_lambda_events::event::dynamodb::Event;
use conventions_ent::jobs::acknowledge::handle;
use conventions_ent::{
    app::init_tracing,
    secrets::{self, Secret},
    App,
};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app = App::connect(secrets::config(&[Secret::Link]).await?).await?;
    let app = &app;
    run(service_fn(|event: LambdaEvent<Event>| async move {
        Ok::<_, Error>(handle(app, &event.payload).await)
    }))
    .await
}
