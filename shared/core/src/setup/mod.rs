//! Stage 9: the operator's configuration file, read and checked the same way by every function
//! and by the CLI ([`config_file`]).

pub mod config_file;
