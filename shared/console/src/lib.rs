//! Latchkey's web console: server-rendered pages at `/console` over the same use cases the API
//! calls, signed in through the issuer. [`router`] is every page; [`Console`] what they use.

mod assets;
mod chart;
mod console;
mod csrf;
mod display;
mod form;
mod page;
mod pages;
mod routes;
mod visitor;

pub use console::Console;
pub use routes::router;
pub use visitor::{COOKIE_PATH, CSRF_HEADER, REFRESH_COOKIE, SESSION_COOKIE, SIGN_IN_PAGE};
