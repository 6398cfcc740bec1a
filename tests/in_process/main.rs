//! HTTP behaviour in process: each module drives one family's routes through
//! `latchkey_http::testing::InProcess` (every function's router over in-memory storage), with the
//! same helpers as the stack tests, so a test moves between the two by its constructors alone.
//! No stack needed; the whole binary runs in seconds. What only the stack can show (the
//! adapters against DynamoDB Local, the authorizer's invocations, instances and their caches,
//! the queue and the worker, the OpenID provider) stays in `tests/it`.

mod account;
mod api_keys;
mod audit;
mod authorization;
mod cartovista;
mod console;
mod latitude;
mod leaks;
mod numind;
mod openapi;
mod privacy;
mod spartera;
mod verify;
mod webhooks;
