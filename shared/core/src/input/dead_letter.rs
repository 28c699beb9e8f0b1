//! Dead letters: what DriftGuard's dead-letter queues hold, where each goes back to, and the
//! bookkeeping of a redrive (`driftguard dlq redrive`), sans IO.
//!
//! Three shapes arrive, told apart by what the message carries:
//!
//! - **A queue's message** moved by SQS's redrive policy (the ingest queue's, after five failed
//!   receives): the body is the message as the queue held it, and SQS names the queue it came
//!   from (`DeadLetterQueueSourceArn`). It goes back to that queue, body untouched.
//! - **A rule's delivery failure**: EventBridge could not deliver an event to its target after its
//!   retries. The body is the event itself; EventBridge adds message attributes, `TARGET_ARN`
//!   among them. It goes back to that target: a queue gets the body as a message (what the rule
//!   would have sent), a function is invoked with it. An event whose source starts with `aws.`
//!   cannot be put back on a bus (only AWS may put such events), so a redrive never goes through
//!   one.
//! - **A failed invocation**: Lambda's on-failure destination record of an asynchronous invocation
//!   that failed every retry: `requestContext.functionArn` names the function and
//!   `requestPayload` is the event it was given. It goes back to that function, invoked with
//!   `requestPayload` alone.
//!
//! A dead letter is sent only where it names (a function by ARN, its version or alias aside; a
//! queue by ARN), so a redrive given the wrong destination leaves it where it is. [`Redrive`]
//! keeps the run's books: a message is deleted only once it has been re-sent, and one received
//! again in the same run (its deletion failed, or it became visible again) is deleted without
//! being sent twice.

use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Where a redrive sends dead letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An SQS queue, by ARN (the redrive sends to its URL).
    Queue {
        /// `arn:<partition>:sqs:<region>:<account>:<name>`.
        arn: String,
    },
    /// A Lambda function, by ARN (invoked asynchronously, as EventBridge and Lambda's own
    /// retries invoke it).
    Function {
        /// `arn:<partition>:lambda:<region>:<account>:function:<name>`, without a qualifier.
        arn: String,
    },
}

impl Destination {
    /// A function destination from an ARN, its qualifier (`:$LATEST`, a version or an alias)
    /// dropped; `None` when `arn` is not a Lambda function's ARN.
    pub fn function(arn: &str) -> Option<Destination> {
        function_arn(arn).map(|arn| Destination::Function { arn })
    }

    /// A queue destination from an ARN; `None` when `arn` is not an SQS queue's ARN.
    pub fn queue(arn: &str) -> Option<Destination> {
        let parts: Vec<&str> = arn.split(':').collect();
        let ok = parts.len() == 6 && parts[0] == "arn" && parts[2] == "sqs" && parts[3..].iter().all(|p| !p.is_empty());
        ok.then(|| Destination::Queue { arn: arn.to_owned() })
    }

    /// The destination's ARN.
    pub fn arn(&self) -> &str {
        match self {
            Destination::Queue { arn } | Destination::Function { arn } => arn,
        }
    }
}

/// A Lambda function's ARN without its qualifier; `None` when `arn` is not one.
fn function_arn(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let ok = (7..=8).contains(&parts.len())
        && parts[0] == "arn"
        && parts[2] == "lambda"
        && parts[5] == "function"
        && [3, 4, 6].iter().all(|&i| !parts[i].is_empty());
    ok.then(|| parts[..7].join(":"))
}

/// One message of a dead-letter queue, as received.
#[derive(Debug, Clone, Copy)]
pub struct DeadLetter<'a> {
    /// The SQS message id.
    pub id: &'a str,
    /// The body.
    pub body: &'a str,
    /// The system attribute `DeadLetterQueueSourceArn`: the queue SQS moved it from.
    pub source_queue_arn: Option<&'a str>,
    /// The message attribute `TARGET_ARN`, which EventBridge adds to a rule's dead letter.
    pub target_arn: Option<&'a str>,
}

/// What a dead letter is, by the [shapes](self) above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Moved by a queue's redrive policy, or a body with nothing saying where it came from.
    QueueMessage,
    /// An event a rule could not deliver.
    RuleDelivery,
    /// Lambda's record of an asynchronous invocation that failed every retry.
    FailedInvocation,
}

/// Why a dead letter is left in its queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    /// It names another destination than the one given.
    ElsewhereBound {
        /// What it names.
        bound_for: String,
    },
    /// A function is invoked with JSON only.
    NotJson {
        /// The parser's message.
        error: String,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::ElsewhereBound { bound_for } => write!(f, "it goes back to {bound_for}, not here"),
            Refusal::NotJson { error } => write!(f, "its body is not JSON ({error}); a function takes JSON only"),
        }
    }
}

/// What to re-send for one dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redelivery {
    /// What it is.
    pub shape: Shape,
    /// The message body (a queue) or the invocation's payload (a function).
    pub payload: String,
}

/// What `letter` becomes when sent to `to`, or why it stays.
pub fn redelivery(letter: &DeadLetter<'_>, to: &Destination) -> Result<Redelivery, Refusal> {
    let parsed: Result<Value, String> = serde_json::from_str(letter.body).map_err(|e| e.to_string());
    let failed_invocation = parsed.as_ref().ok().and_then(|v| {
        let function = v.get("requestContext")?.get("functionArn")?.as_str()?;
        let payload = v.get("requestPayload")?;
        Some((function, payload))
    });
    let elsewhere = |bound_for: &str| Refusal::ElsewhereBound {
        bound_for: bound_for.to_owned(),
    };

    if let Some((function, payload)) = failed_invocation {
        let named = function_arn(function).unwrap_or_else(|| function.to_owned());
        return match to {
            Destination::Function { arn } if *arn == named => Ok(Redelivery {
                shape: Shape::FailedInvocation,
                payload: payload.to_string(),
            }),
            _ => Err(elsewhere(&named)),
        };
    }
    if let Some(source) = letter.source_queue_arn {
        return match to {
            Destination::Queue { arn } if arn == source => Ok(Redelivery {
                shape: Shape::QueueMessage,
                payload: letter.body.to_owned(),
            }),
            _ => Err(elsewhere(source)),
        };
    }
    let shape = if letter.target_arn.is_some() {
        Shape::RuleDelivery
    } else {
        Shape::QueueMessage
    };
    // A rule's target: that queue or function (a bus target, as a spoke's rule has, cannot be
    // put back on a bus: any queue the operator names takes it).
    let bound = letter.target_arn.and_then(|t| {
        function_arn(t)
            .map(|f| Destination::Function { arn: f })
            .or_else(|| Destination::queue(t))
    });
    if let Some(bound) = bound.filter(|b| b != to) {
        return Err(elsewhere(bound.arn()));
    }
    match to {
        Destination::Queue { .. } => Ok(Redelivery {
            shape,
            payload: letter.body.to_owned(),
        }),
        Destination::Function { .. } => match parsed {
            Ok(_) => Ok(Redelivery {
                shape,
                payload: letter.body.to_owned(),
            }),
            Err(error) => Err(Refusal::NotJson { error }),
        },
    }
}

/// What to do with one received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Re-send it, then delete it once sent.
    Send(Redelivery),
    /// Delete it: this run re-sent it already.
    DeleteOnly,
    /// Leave it in the queue.
    Leave(Refusal),
    /// Leave it: this run handled it already (deleted it, or, in a dry run, counted it).
    Handled,
}

/// A message left in its queue, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Left {
    /// The SQS message id.
    pub message_id: String,
    /// Why.
    #[serde(flatten)]
    pub refusal: Refusal,
}

/// A message whose re-send or deletion failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failed {
    /// The SQS message id.
    pub message_id: String,
    /// `send` or `delete`.
    pub step: &'static str,
    /// The error.
    pub error: String,
}

/// The outcome of a redrive run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RedriveReport {
    /// Distinct messages received.
    pub received: usize,
    /// Messages re-sent (or, in a dry run, that would be).
    pub resent: usize,
    /// Re-sent messages by shape.
    pub resent_by_shape: BTreeMap<String, usize>,
    /// Messages deleted from the dead-letter queue (each re-sent first).
    pub deleted: usize,
    /// Messages received again in the run after they were re-sent: deleted, not sent twice.
    pub duplicates: usize,
    /// Messages left in the queue, and why.
    pub left: Vec<Left>,
    /// Messages whose re-send or deletion failed (a re-sent message whose deletion failed is
    /// re-sent by the next run: every consumer is idempotent on the event's own id).
    pub failed: Vec<Failed>,
    /// Nothing was sent or deleted.
    pub dry_run: bool,
}

impl RedriveReport {
    /// Every message received was re-sent and deleted (or, in a dry run, would be).
    pub fn complete(&self) -> bool {
        self.left.is_empty() && self.failed.is_empty()
    }
}

/// The books of one redrive run: which messages were re-sent, deleted, left.
#[derive(Debug, Clone)]
pub struct Redrive {
    to: Destination,
    seen: BTreeSet<String>,
    resent: BTreeSet<String>,
    deleted: BTreeSet<String>,
    report: RedriveReport,
}

impl Redrive {
    /// A run sending to `to`; `dry_run` sends and deletes nothing.
    pub fn new(to: Destination, dry_run: bool) -> Redrive {
        Redrive {
            to,
            seen: BTreeSet::new(),
            resent: BTreeSet::new(),
            deleted: BTreeSet::new(),
            report: RedriveReport {
                dry_run,
                ..RedriveReport::default()
            },
        }
    }

    /// Where it sends.
    pub fn destination(&self) -> &Destination {
        &self.to
    }

    /// What to do with `letter`, just received. A message seen before in this run and not
    /// re-sent (left, or its send failed) is left again, with its first reason.
    pub fn step(&mut self, letter: &DeadLetter<'_>) -> Step {
        if self.resent.contains(letter.id) {
            return if self.deleted.contains(letter.id) || self.report.dry_run {
                Step::Handled
            } else {
                Step::DeleteOnly
            };
        }
        let first = self.seen.insert(letter.id.to_owned());
        if first {
            self.report.received += 1;
        }
        match redelivery(letter, &self.to) {
            Ok(redelivery) if first => Step::Send(redelivery),
            Ok(redelivery) => {
                // Its earlier send failed: it is tried again.
                self.report.failed.retain(|f| f.message_id != letter.id);
                Step::Send(redelivery)
            }
            Err(refusal) => {
                if first {
                    self.report.left.push(Left {
                        message_id: letter.id.to_owned(),
                        refusal: refusal.clone(),
                    });
                }
                Step::Leave(refusal)
            }
        }
    }

    /// `id` was re-sent (as `shape`).
    pub fn sent(&mut self, id: &str, shape: Shape) {
        if self.resent.insert(id.to_owned()) {
            self.report.resent += 1;
            let name = serde_json::to_value(shape)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            *self.report.resent_by_shape.entry(name).or_default() += 1;
        }
    }

    /// `id` was deleted; `again` when the run had re-sent it earlier (a duplicate receive).
    pub fn deleted(&mut self, id: &str, again: bool) {
        if self.deleted.insert(id.to_owned()) {
            self.report.deleted += 1;
            if again {
                self.report.duplicates += 1;
            }
            self.report.failed.retain(|f| f.message_id != id);
        }
    }

    /// `step` (`send` or `delete`) of `id` failed with `error`.
    pub fn failed(&mut self, id: &str, step: &'static str, error: &str) {
        self.report.failed.retain(|f| f.message_id != id);
        self.report.failed.push(Failed {
            message_id: id.to_owned(),
            step,
            error: error.to_owned(),
        });
    }

    /// Whether `id` may be deleted: only a message this run re-sent.
    pub fn may_delete(&self, id: &str) -> bool {
        !self.report.dry_run && self.resent.contains(id) && !self.deleted.contains(id)
    }

    /// The report so far.
    pub fn report(&self) -> &RedriveReport {
        &self.report
    }

    /// The report.
    pub fn finish(self) -> RedriveReport {
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INGEST_QUEUE: &str = "arn:aws:sqs:eu-west-1:123456789012:driftguard-Queue-AbC";
    const NOTIFY: &str = "arn:aws:lambda:eu-west-1:123456789012:function:driftguard-NotifySlackFunction-AbC";
    const REMEDIATE: &str = "arn:aws:lambda:eu-west-1:123456789012:function:driftguard-RemediateFunction-AbC";
    const BUS: &str = "arn:aws:events:eu-west-1:123456789012:event-bus/driftguard-bus";

    fn event() -> String {
        serde_json::json!({
            "version": "0", "id": "6f3c0b5e-1d7a-4a3b-9c53-2f0e6f0c1a11",
            "detail-type": "Drift Detected", "source": "driftguard",
            "account": "123456789012", "region": "eu-west-1",
            "detail": {"finding": {"id": "dg-1"}}
        })
        .to_string()
    }

    /// Lambda's on-failure destination record of `function` (the shared sample, its function
    /// replaced), with [`event`] as the request.
    fn failed_invocation(function: &str) -> String {
        let mut record: Value =
            serde_json::from_str(include_str!("../../tests/data/dead_letter/on-failure-destination.json"))
                .unwrap_or_default();
        record["requestContext"]["functionArn"] = Value::String(format!("{function}:$LATEST"));
        record["requestPayload"] = serde_json::from_str::<Value>(&event()).unwrap_or_default();
        record.to_string()
    }

    fn letter<'a>(body: &'a str, source: Option<&'a str>, target: Option<&'a str>) -> DeadLetter<'a> {
        DeadLetter {
            id: "m-1",
            body,
            source_queue_arn: source,
            target_arn: target,
        }
    }

    fn queue() -> Destination {
        Destination::queue(INGEST_QUEUE).expect("a queue ARN")
    }

    fn function(arn: &str) -> Destination {
        Destination::function(arn).expect("a function ARN")
    }

    #[test]
    fn each_shape_goes_back_where_it_came_from_as_its_consumer_takes_it() {
        let body = event();
        // The ingest queue's own dead letter: the body, untouched, back to the queue.
        assert_eq!(
            redelivery(&letter(&body, Some(INGEST_QUEUE), None), &queue()),
            Ok(Redelivery {
                shape: Shape::QueueMessage,
                payload: body.clone()
            })
        );
        // A rule's delivery failure to the queue: the event as the rule would have sent it.
        assert_eq!(
            redelivery(&letter(&body, None, Some(INGEST_QUEUE)), &queue()),
            Ok(Redelivery {
                shape: Shape::RuleDelivery,
                payload: body.clone()
            })
        );
        // A rule's delivery failure to a function: invoked with the event.
        assert_eq!(
            redelivery(&letter(&body, None, Some(NOTIFY)), &function(NOTIFY)),
            Ok(Redelivery {
                shape: Shape::RuleDelivery,
                payload: body.clone()
            })
        );
        // A failed invocation: invoked with requestPayload alone, qualifier aside.
        let record = failed_invocation(NOTIFY);
        let got = redelivery(&letter(&record, None, None), &function(&format!("{NOTIFY}:live")))
            .expect("back to notify-slack");
        assert_eq!(got.shape, Shape::FailedInvocation);
        assert_eq!(
            serde_json::from_str::<Value>(&got.payload).ok(),
            serde_json::from_str::<Value>(&body).ok()
        );
        // A spoke's dead letter (its rule targeted the central bus): any queue named takes it.
        assert_eq!(
            redelivery(&letter(&body, None, Some(BUS)), &queue()).map(|r| r.shape),
            Ok(Shape::RuleDelivery)
        );
    }

    #[test]
    fn a_dead_letter_is_never_sent_elsewhere_than_it_names() {
        let body = event();
        let record = failed_invocation(NOTIFY);
        let cases = [
            (letter(&record, None, None), function(REMEDIATE), NOTIFY),
            (letter(&record, None, None), queue(), NOTIFY),
            (letter(&body, None, Some(NOTIFY)), function(REMEDIATE), NOTIFY),
            (letter(&body, None, Some(NOTIFY)), queue(), NOTIFY),
            (letter(&body, None, Some(INGEST_QUEUE)), function(NOTIFY), INGEST_QUEUE),
            (
                letter(&body, Some(INGEST_QUEUE), None),
                Destination::queue("arn:aws:sqs:eu-west-1:123456789012:other").expect("arn"),
                INGEST_QUEUE,
            ),
        ];
        for (letter, to, bound_for) in cases {
            assert_eq!(
                redelivery(&letter, &to),
                Err(Refusal::ElsewhereBound {
                    bound_for: bound_for.to_owned()
                }),
                "{letter:?} to {to:?}"
            );
        }
        let refusal = redelivery(&letter("not json", None, None), &function(NOTIFY));
        assert!(
            matches!(&refusal, Err(Refusal::NotJson { error }) if error.contains("expected")),
            "{refusal:?}"
        );
        // A queue takes any body.
        assert!(redelivery(&letter("not json", None, None), &queue()).is_ok());
    }

    #[test]
    fn destinations_are_read_from_arns_only() {
        assert_eq!(
            Destination::function(&format!("{NOTIFY}:$LATEST")).map(|d| d.arn().to_owned()),
            Some(NOTIFY.to_owned())
        );
        for bad in [
            "driftguard-NotifySlackFunction-AbC",
            "arn:aws:lambda:eu-west-1:123456789012:layer:x",
            INGEST_QUEUE,
        ] {
            assert_eq!(Destination::function(bad), None, "{bad}");
        }
        assert_eq!(Destination::queue(NOTIFY), None);
        assert_eq!(Destination::queue("https://sqs.eu-west-1.amazonaws.com/1/q"), None);
    }

    #[test]
    fn a_run_deletes_only_what_it_re_sent_and_never_sends_twice() {
        let body = event();
        let record = failed_invocation(REMEDIATE);
        let mut run = Redrive::new(queue(), false);
        let a = DeadLetter {
            id: "a",
            ..letter(&body, Some(INGEST_QUEUE), None)
        };
        let b = DeadLetter {
            id: "b",
            ..letter(&record, None, None)
        };
        let c = DeadLetter {
            id: "c",
            ..letter(&body, None, None)
        };

        assert!(matches!(run.step(&a), Step::Send(_)));
        assert!(matches!(run.step(&b), Step::Leave(Refusal::ElsewhereBound { .. })));
        assert!(matches!(run.step(&c), Step::Send(_)));
        assert!(!run.may_delete("a"), "not deleted before it is sent");
        run.sent("a", Shape::QueueMessage);
        run.failed("c", "send", "throttled");
        assert!(run.may_delete("a") && !run.may_delete("b") && !run.may_delete("c"));

        // Received again in the same run: a (sent, its deletion not done yet) is deleted without
        // a second send; b is left again, counted once; c's send is tried again.
        assert_eq!(run.step(&a), Step::DeleteOnly);
        assert!(matches!(run.step(&b), Step::Leave(_)));
        assert!(matches!(run.step(&c), Step::Send(_)));
        run.deleted("a", true);
        run.sent("c", Shape::QueueMessage);
        run.deleted("c", false);
        assert!(!run.may_delete("a"), "deleted once");

        let report = run.finish();
        assert_eq!(
            (report.received, report.resent, report.deleted, report.duplicates),
            (3, 2, 2, 1)
        );
        assert_eq!(report.left.len(), 1, "{report:?}");
        assert_eq!(report.left[0].message_id, "b");
        assert!(report.failed.is_empty(), "c's retry succeeded: {report:?}");
        assert!(!report.complete());
    }

    #[test]
    fn a_dry_run_deletes_nothing() {
        let body = event();
        let mut run = Redrive::new(queue(), true);
        let a = DeadLetter {
            id: "a",
            ..letter(&body, None, None)
        };
        assert!(matches!(run.step(&a), Step::Send(_)));
        run.sent("a", Shape::QueueMessage);
        assert!(!run.may_delete("a"));
        assert_eq!(run.step(&a), Step::Handled);
        let report = run.finish();
        assert_eq!((report.received, report.resent, report.deleted), (1, 1, 0));
        assert!(report.dry_run && report.complete());
    }
}
