//! What each step does to a LazyFrame (`apply`), with the fast paths that
//! keep exact semantics: per-distinct evaluation of row-wise functions
//! (`distinct_eval`) and the parse step's captures (`extract`, `segments`);
//! `nested` flattens struct columns and JSON text.

pub mod apply;
pub mod distinct_eval;
pub mod extract;
pub mod nested;
pub mod pivot;
pub mod segments;
pub mod unpivot;
