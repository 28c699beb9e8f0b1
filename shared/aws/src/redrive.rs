//! Redriving a dead-letter queue ([`SqsRedrive`]): receive a batch, re-send each message where
//! core's [`dead_letter`] says it goes (a queue by `SendMessageBatch`, a function by an
//! asynchronous `Invoke`), delete what was re-sent, until the queue is empty. What `driftguard
//! dlq redrive` runs; behind the `redrive` feature, so the functions' builds leave the SQS client
//! out.
//!
//! A message is deleted only after its re-send succeeded, never otherwise; the messages left
//! (bound elsewhere, not JSON for a function, a failed send) are made visible again when the
//! run ends, so the queue holds them as before.

use crate::error::{classify, AwsError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use driftguard_core::dead_letter::{DeadLetter, Destination, Redelivery, Redrive, RedriveReport, Step};

/// The message attribute a re-sent message carries: the dead letter's message id.
pub const REDRIVE_ATTRIBUTE: &str = "DriftGuardRedriveOf";
/// `SendMessageBatch` takes at most 10 entries and 256 KiB in all; batches stay under this.
const MAX_BATCH_BYTES: usize = 240 * 1024;

/// Where a redrive sends: a queue (URL and ARN) or a function (ARN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedriveTarget {
    /// An SQS queue.
    Queue {
        /// Its URL (what `SendMessageBatch` takes).
        url: String,
        /// Its ARN (what dead letters name).
        arn: String,
    },
    /// A Lambda function, by ARN (unqualified).
    Function {
        /// Its ARN.
        arn: String,
    },
}

/// How a run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedriveOptions {
    /// Stop after this many distinct messages (`None`: until the queue is empty).
    pub max_messages: Option<usize>,
    /// Send and delete nothing: count what would be re-sent.
    pub dry_run: bool,
    /// How long received messages stay hidden from other readers during the run (seconds).
    pub visibility_timeout: i32,
    /// How long a receive waits for messages (seconds; the run ends at the first empty one).
    pub wait_seconds: i32,
}

impl Default for RedriveOptions {
    fn default() -> Self {
        RedriveOptions {
            max_messages: None,
            dry_run: false,
            visibility_timeout: 300,
            wait_seconds: 1,
        }
    }
}

/// Moves dead letters back: an SQS client for the dead-letter queue and the destination queue,
/// a Lambda client for a function destination.
#[derive(Debug, Clone)]
pub struct SqsRedrive {
    sqs: aws_sdk_sqs::Client,
    lambda: aws_sdk_lambda::Client,
}

/// A message received and not deleted yet.
struct Held {
    id: String,
    receipt: String,
}

impl SqsRedrive {
    /// A redrive with these clients (the Lambda client is used for a function destination only).
    pub fn new(sqs: aws_sdk_sqs::Client, lambda: aws_sdk_lambda::Client) -> Self {
        SqsRedrive { sqs, lambda }
    }

    /// The destination for a queue URL: its ARN, read with `GetQueueAttributes`.
    pub async fn queue_target(&self, url: &str) -> Result<RedriveTarget, AwsError> {
        let got = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| classify("SQS", "GetQueueAttributes", e).about(url))?;
        let arn = got
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| AwsError::Call {
                service: "SQS",
                operation: "GetQueueAttributes",
                code: "NoQueueArn".into(),
                message: format!("{url}: the answer has no QueueArn"),
                retry: crate::Retry::NotRetryable,
            })?;
        Ok(RedriveTarget::Queue {
            url: url.to_owned(),
            arn,
        })
    }

    /// Redrives the queue at `from` to `to`. An error is returned only when the dead-letter
    /// queue cannot be read at all; a message whose send or deletion fails is in the report.
    pub async fn run(
        &self,
        from: &str,
        to: &RedriveTarget,
        options: RedriveOptions,
    ) -> Result<RedriveReport, AwsError> {
        let destination = match to {
            RedriveTarget::Queue { arn, .. } => Destination::Queue { arn: arn.clone() },
            RedriveTarget::Function { arn } => {
                Destination::function(arn).unwrap_or(Destination::Function { arn: arn.clone() })
            }
        };
        let mut books = Redrive::new(destination, options.dry_run);
        // Messages to make visible again at the end (left, failed, or counted by a dry run).
        let mut release: Vec<Held> = Vec::new();
        let outcome = self.drain(from, to, options, &mut books, &mut release).await;
        for held in &release {
            // Best effort: a message whose visibility cannot be reset shows again when its
            // visibility timeout ends.
            let _ = self
                .sqs
                .change_message_visibility()
                .queue_url(from)
                .receipt_handle(&held.receipt)
                .visibility_timeout(0)
                .send()
                .await;
        }
        outcome?;
        Ok(books.finish())
    }

    async fn drain(
        &self,
        from: &str,
        to: &RedriveTarget,
        options: RedriveOptions,
        books: &mut Redrive,
        release: &mut Vec<Held>,
    ) -> Result<(), AwsError> {
        loop {
            let room = options
                .max_messages
                .map_or(10, |max| max.saturating_sub(books.report().received).min(10));
            if room == 0 {
                return Ok(());
            }
            let got = self
                .sqs
                .receive_message()
                .queue_url(from)
                .max_number_of_messages(i32::try_from(room).unwrap_or(10))
                .wait_time_seconds(options.wait_seconds)
                .visibility_timeout(options.visibility_timeout)
                .message_system_attribute_names(MessageSystemAttributeName::DeadLetterQueueSourceArn)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(|e| classify("SQS", "ReceiveMessage", e).about(from))?;
            if got.messages().is_empty() {
                return Ok(());
            }
            let mut to_send: Vec<(Held, Redelivery)> = Vec::new();
            let mut to_delete: Vec<(Held, bool)> = Vec::new();
            let mut fresh = false;
            for m in got.messages() {
                let (Some(id), Some(receipt)) = (m.message_id(), m.receipt_handle()) else {
                    continue;
                };
                let source = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::DeadLetterQueueSourceArn))
                    .map(String::as_str);
                let target = m
                    .message_attributes()
                    .and_then(|a| a.get("TARGET_ARN"))
                    .and_then(MessageAttributeValue::string_value);
                let letter = DeadLetter {
                    id,
                    body: m.body().unwrap_or_default(),
                    source_queue_arn: source,
                    target_arn: target,
                };
                let before = books.report().received;
                let step = books.step(&letter);
                fresh |= books.report().received > before;
                let held = Held {
                    id: id.to_owned(),
                    receipt: receipt.to_owned(),
                };
                match step {
                    Step::Send(redelivery) if options.dry_run => {
                        books.sent(id, redelivery.shape);
                        release.push(held);
                    }
                    Step::Send(redelivery) => to_send.push((held, redelivery)),
                    Step::DeleteOnly => to_delete.push((held, true)),
                    Step::Leave(_) | Step::Handled => release.push(held),
                }
            }
            match to {
                RedriveTarget::Queue { url, .. } => {
                    self.send_to_queue(url, to_send, books, &mut to_delete, release).await
                }
                RedriveTarget::Function { arn } => {
                    for (held, redelivery) in to_send {
                        match self.invoke(arn, &redelivery.payload).await {
                            Ok(()) => {
                                books.sent(&held.id, redelivery.shape);
                                to_delete.push((held, false));
                            }
                            Err(e) => {
                                books.failed(&held.id, "send", &e.to_string());
                                release.push(held);
                            }
                        }
                    }
                }
            }
            self.delete(from, to_delete, books).await;
            // Only messages seen before came back (left ones whose hiding ended, in a long run):
            // nothing new is left to read.
            if !fresh {
                return Ok(());
            }
        }
    }

    async fn send_to_queue(
        &self,
        url: &str,
        to_send: Vec<(Held, Redelivery)>,
        books: &mut Redrive,
        to_delete: &mut Vec<(Held, bool)>,
        release: &mut Vec<Held>,
    ) {
        let mut batches: Vec<Vec<(Held, Redelivery)>> = Vec::new();
        let mut size = 0;
        for item in to_send {
            let bytes = item.1.payload.len();
            let full = batches
                .last()
                .is_none_or(|b| b.len() == 10 || size + bytes > MAX_BATCH_BYTES);
            if full {
                batches.push(Vec::new());
                size = 0;
            }
            size += bytes;
            if let Some(batch) = batches.last_mut() {
                batch.push(item);
            }
        }
        for batch in batches {
            let mut entries = Vec::new();
            for (i, (held, redelivery)) in batch.iter().enumerate() {
                let attribute = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(&held.id)
                    .build();
                let entry = attribute.ok().and_then(|a| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(&redelivery.payload)
                        .message_attributes(REDRIVE_ATTRIBUTE, a)
                        .build()
                        .ok()
                });
                if let Some(entry) = entry {
                    entries.push(entry);
                }
            }
            let sent = self
                .sqs
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await;
            match sent {
                Ok(out) => {
                    let ok: std::collections::BTreeSet<&str> = out.successful().iter().map(|s| s.id()).collect();
                    for (i, (held, redelivery)) in batch.into_iter().enumerate() {
                        let key = i.to_string();
                        if ok.contains(key.as_str()) {
                            books.sent(&held.id, redelivery.shape);
                            to_delete.push((held, false));
                        } else {
                            let why = out
                                .failed()
                                .iter()
                                .find(|f| f.id() == key)
                                .map_or("not in the answer".to_owned(), |f| {
                                    format!("{}: {}", f.code(), f.message().unwrap_or_default())
                                });
                            books.failed(&held.id, "send", &format!("SQS SendMessageBatch refused it ({why})"));
                            release.push(held);
                        }
                    }
                }
                Err(e) => {
                    let e = classify("SQS", "SendMessageBatch", e).about(url).to_string();
                    for (held, _) in batch {
                        books.failed(&held.id, "send", &e);
                        release.push(held);
                    }
                }
            }
        }
    }

    async fn invoke(&self, function: &str, payload: &str) -> Result<(), AwsError> {
        let out = self
            .lambda
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload.as_bytes().to_vec()))
            .send()
            .await
            .map_err(|e| classify("Lambda", "Invoke", e).about(function))?;
        // An asynchronous invocation is queued with 202; anything else did not take the event.
        if out.status_code() != 202 {
            return Err(AwsError::Call {
                service: "Lambda",
                operation: "Invoke",
                code: format!("HTTP {}", out.status_code()),
                message: format!("{function}: the event was not queued"),
                retry: crate::Retry::Retryable,
            });
        }
        Ok(())
    }

    async fn delete(&self, from: &str, to_delete: Vec<(Held, bool)>, books: &mut Redrive) {
        let to_delete: Vec<(Held, bool)> = to_delete.into_iter().filter(|(h, _)| books.may_delete(&h.id)).collect();
        for chunk in to_delete.chunks(10) {
            let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, (held, _))| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&held.receipt)
                        .build()
                        .ok()
                })
                .collect();
            let deleted = self
                .sqs
                .delete_message_batch()
                .queue_url(from)
                .set_entries(Some(entries))
                .send()
                .await;
            match deleted {
                Ok(out) => {
                    let ok: std::collections::BTreeSet<&str> = out.successful().iter().map(|s| s.id()).collect();
                    for (i, (held, again)) in chunk.iter().enumerate() {
                        if ok.contains(i.to_string().as_str()) {
                            books.deleted(&held.id, *again);
                        } else {
                            books.failed(
                                &held.id,
                                "delete",
                                "SQS DeleteMessageBatch refused it: re-sent, still in the dead-letter queue",
                            );
                        }
                    }
                }
                Err(e) => {
                    let e = classify("SQS", "DeleteMessageBatch", e).about(from).to_string();
                    for (held, _) in chunk {
                        books.failed(
                            &held.id,
                            "delete",
                            &format!("re-sent, still in the dead-letter queue: {e}"),
                        );
                    }
                }
            }
        }
    }
}
