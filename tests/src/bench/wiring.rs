//! What `infra/template.yaml` says about the flow a benchmark plays: the ingest queue's event
//! source mapping (batch size, batching window, concurrency limits), the queue's visibility
//! timeout and redrive, the rules' event patterns, and the two functions' environment and
//! memory. Read from the template itself, so the benchmark plays what would be deployed.

use crate::runtime_api::{ACCOUNT_ID, REGION};
use serde_json::{json, Map, Value};
use serde_yaml::Value as Yaml;
use std::collections::BTreeMap;
use std::path::Path;

/// The flow's settings, as the template declares them.
#[derive(Debug, Clone)]
pub struct Wiring {
    /// `IngestFunction` → `Events.Queue.Properties.BatchSize` (Lambda's default 10 when absent).
    pub batch_size: usize,
    /// `MaximumBatchingWindowInSeconds` of the same mapping (Lambda's default 0 when absent).
    pub batching_window_s: u64,
    /// `ScalingConfig.MaximumConcurrency` of the mapping, when set.
    pub max_concurrency: Option<u64>,
    /// `IngestFunction` → `ReservedConcurrentExecutions`, when set to a number.
    pub reserved_concurrency: Option<u64>,
    /// `Queue` → `VisibilityTimeout`.
    pub visibility_timeout_s: i32,
    /// `Queue` → `RedrivePolicy.maxReceiveCount`.
    pub max_receive_count: u32,
    /// `NotifySlackFunction` → `EventInvokeConfig.MaximumRetryAttempts`.
    pub notify_retries: usize,
    /// `DefaultBusRule` → `EventPattern`: CloudTrail and Config events to the ingest queue.
    pub ingest_pattern: Value,
    /// `NotifySlackFunction` → `Events.DriftEvents.Properties.Pattern`, `AWS::AccountId` resolved.
    pub notify_pattern: Value,
    /// The ingest function's variables that the template sets to a literal or to a parameter's
    /// default (the rest name the stack's own resources and are set by the benchmark).
    pub ingest_env: BTreeMap<String, String>,
    /// The same for notify-slack.
    pub notify_env: BTreeMap<String, String>,
    /// The ingest function's memory (MB), the template's default.
    pub ingest_memory_mb: u64,
    /// notify-slack's memory (MB).
    pub notify_memory_mb: u64,
}

impl Wiring {
    /// Reads `template` (normally `infra/template.yaml`); the error names what is missing.
    pub fn read(template: &Path) -> Result<Wiring, String> {
        let text = std::fs::read_to_string(template).map_err(|e| format!("cannot read {}: {e}", template.display()))?;
        let t: Yaml = serde_yaml::from_str(&text).map_err(|e| format!("{} does not parse: {e}", template.display()))?;
        let params = &t["Parameters"];
        let resource = |name: &str| -> Result<&Yaml, String> {
            let r = &t["Resources"][name];
            if r.is_null() {
                Err(format!("{} declares no resource {name}", template.display()))
            } else {
                Ok(r)
            }
        };
        let ingest = resource("IngestFunction")?;
        let notify = resource("NotifySlackFunction")?;
        let queue = resource("Queue")?;
        let mapping = &ingest["Properties"]["Events"]["Queue"]["Properties"];
        if mapping.is_null() {
            return Err("IngestFunction has no Events.Queue (the SQS event source)".into());
        }
        let number = |v: &Yaml| -> Option<u64> {
            match resolve(v, params)? {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            }
        };
        let pattern = |v: &Yaml, what: &str| -> Result<Value, String> {
            resolve(v, params).ok_or_else(|| format!("{what}: the pattern does not resolve to JSON"))
        };
        Ok(Wiring {
            batch_size: number(&mapping["BatchSize"]).map_or(10, |n| n as usize),
            batching_window_s: number(&mapping["MaximumBatchingWindowInSeconds"]).unwrap_or(0),
            max_concurrency: number(&mapping["ScalingConfig"]["MaximumConcurrency"]),
            reserved_concurrency: number(&ingest["Properties"]["ReservedConcurrentExecutions"]),
            visibility_timeout_s: number(&queue["Properties"]["VisibilityTimeout"])
                .and_then(|n| i32::try_from(n).ok())
                .ok_or("Queue has no VisibilityTimeout")?,
            max_receive_count: number(&queue["Properties"]["RedrivePolicy"]["maxReceiveCount"])
                .and_then(|n| u32::try_from(n).ok())
                .ok_or("Queue has no RedrivePolicy.maxReceiveCount")?,
            notify_retries: number(&notify["Properties"]["EventInvokeConfig"]["MaximumRetryAttempts"])
                .map_or(2, |n| n as usize),
            ingest_pattern: pattern(
                &resource("DefaultBusRule")?["Properties"]["EventPattern"],
                "DefaultBusRule",
            )?,
            notify_pattern: pattern(
                &notify["Properties"]["Events"]["DriftEvents"]["Properties"]["Pattern"],
                "NotifySlackFunction DriftEvents",
            )?,
            ingest_env: environment(ingest, params),
            notify_env: environment(notify, params),
            ingest_memory_mb: number(&ingest["Properties"]["MemorySize"]).ok_or("IngestFunction has no MemorySize")?,
            notify_memory_mb: number(&notify["Properties"]["MemorySize"])
                .ok_or("NotifySlackFunction has no MemorySize")?,
        })
    }

    /// One line per setting, for a report.
    pub fn describe(&self) -> String {
        let or_none = |v: Option<u64>| v.map_or_else(|| "not set".to_owned(), |n| n.to_string());
        format!(
            "event source mapping: BatchSize {}, MaximumBatchingWindowInSeconds {}, ScalingConfig.MaximumConcurrency {}, \
             ingest ReservedConcurrentExecutions {}; queue VisibilityTimeout {} s, maxReceiveCount {}; \
             ingest {} MB, notify-slack {} MB",
            self.batch_size,
            self.batching_window_s,
            or_none(self.max_concurrency),
            or_none(self.reserved_concurrency),
            self.visibility_timeout_s,
            self.max_receive_count,
            self.ingest_memory_mb,
            self.notify_memory_mb,
        )
    }
}

/// A function's `Environment.Variables` that resolve without the stack: literals, and `!Ref`s
/// to parameters with a default.
fn environment(function: &Yaml, params: &Yaml) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Yaml::Mapping(vars) = &function["Properties"]["Environment"]["Variables"] {
        for (k, v) in vars {
            let (Some(k), Some(v)) = (k.as_str(), resolve(v, params)) else {
                continue;
            };
            let v = match v {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            out.insert(k.to_owned(), v);
        }
    }
    out
}

/// `v` as JSON, with `!Ref` to a pseudo parameter or to a parameter's default resolved; `None`
/// when anything in it needs the stack (another intrinsic, a `!Ref` to a resource).
fn resolve(v: &Yaml, params: &Yaml) -> Option<Value> {
    Some(match v {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => json!(b),
        Yaml::Number(n) => n
            .as_u64()
            .map(Value::from)
            .or_else(|| n.as_i64().map(Value::from))
            .or_else(|| n.as_f64().map(Value::from))?,
        Yaml::String(s) => json!(s),
        Yaml::Sequence(items) => Value::Array(items.iter().map(|i| resolve(i, params)).collect::<Option<_>>()?),
        Yaml::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(k.as_str()?.to_owned(), resolve(v, params)?);
            }
            Value::Object(out)
        }
        Yaml::Tagged(tagged) if tagged.tag == "Ref" => {
            let name = tagged.value.as_str()?;
            match name {
                "AWS::AccountId" => json!(ACCOUNT_ID),
                "AWS::Region" => json!(REGION),
                "AWS::Partition" => json!("aws"),
                _ => resolve(&params[name]["Default"], params).filter(|d| !d.is_null())?,
            }
        }
        Yaml::Tagged(_) => return None,
    })
}
