//! The Elm-style application core: typed actions, plain state, and a pure
//! `update` that returns effects for the runtime to perform. `mode` decides
//! which keymap section reads a key; `status` holds messages whose key
//! references the screen renders from the active keymap.

pub mod action;
pub mod chart;
pub mod commands;
pub mod compute;
pub mod insight;
pub mod mode;
pub mod prompt_history;
pub mod state;
pub mod status;
pub mod update;

pub use action::Action;
pub use state::State;
pub use update::{update, Effect, Msg};
