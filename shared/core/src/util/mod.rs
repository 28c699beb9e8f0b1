//! Small utilities every stage may use: times, function configuration from the environment,
//! secrets that never print, and the FNV hash behind stable ids. They import nothing else from
//! the crate.

pub mod env;
pub mod fnv;
pub mod secret;
pub mod time;
