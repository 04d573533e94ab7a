//! The Elm-style application core: typed actions, plain state, and a pure
//! `update` that returns effects for the runtime to perform.

pub mod action;
pub mod commands;
pub mod compute;
pub mod insight;
pub mod state;
pub mod update;

pub use action::Action;
pub use state::State;
pub use update::{update, Effect, Msg};
