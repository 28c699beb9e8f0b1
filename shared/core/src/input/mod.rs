//! Stage 1, input: bytes in, typed items out. Every shape a Lambda or a user hands in (EventBridge
//! events, CloudTrail log files, SQS batches, AWS Config item changes), gzip or plain, decoded into
//! CloudTrail calls and Config changes that borrow from the buffer; a bad record is one error with
//! its position, and the walk goes on. Dead letters (what the dead-letter queues hold) are read
//! here too: where each goes back to ([`dead_letter`]).

pub mod bytes;
pub mod config_item;
pub mod dead_letter;
pub mod decode;
pub mod json_path;
pub mod record;
