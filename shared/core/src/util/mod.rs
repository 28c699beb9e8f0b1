//! Small utilities every stage may use: times, function configuration from the environment,
//! secrets that never print, the FNV hash behind stable ids, and the metrics every function
//! writes (one embedded-metric-format line per invocation). They import nothing else from
//! the crate.

pub mod env;
pub mod fnv;
pub mod metrics;
pub mod secret;
pub mod time;
