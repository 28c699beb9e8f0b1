//! Stage 4, drift: expected (IaC) against found (the call, the live Config item), how likely the
//! difference is drift and how bad it is. Diff rules and Config attribute maps compare with
//! normalisers, ignore rules fold noise, scoring gives a likelihood with its factors and a severity.

pub mod config_map;
pub mod coverage;
pub mod diff;
pub mod ignore;
pub mod score;
