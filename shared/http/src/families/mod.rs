//! The key APIs of the services Latchkey stands in for, so their users' existing clients work
//! unchanged: latitude.sh, numind (keys; its sign-in is [`crate::api::signin`]), spartera and
//! cartovista. Each takes the native API's state and calls the same use cases, so every rule
//! (role ceiling, workspace reach, no loosening by a key) holds here as it does natively.

pub mod cartovista;
pub mod latitude;
pub mod numind;
pub mod spartera;
