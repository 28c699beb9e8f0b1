//! A fleet of declared resources and thousands of CloudTrail events on it, for load and fault
//! runs: the sample states' web security group, app instance and artifacts bucket (with its
//! versioning and public access block) cloned `size` times with fresh ids into one more
//! Terraform state, and the sample CloudTrail envelopes of `events/cloudtrail` replayed on those
//! clones with fresh event ids and increasing times — manual changes (findings), Terraform's
//! reverts (resolutions), buckets created by hand (unmanaged), and the read-only, refused,
//! service and sign-in calls real trails are full of (skipped). Everything is derived from the
//! real-shaped samples by replacing ids, so the shapes stay those CloudTrail and Terraform write.

use crate::stack::workspace;
use serde_json::{json, Value};

/// The fleet's state object key, beside the sample states (`env/prod/`), so the ingest
/// function's `s3://acme-tfstate/env/prod/**.tfstate` finds it.
pub const STATE_KEY: &str = "env/prod/fleet.tfstate";

/// The ids the samples use, replaced by each clone's.
const SAMPLE_SG: &str = "sg-0123456789abcdef0";
const SAMPLE_DB_SG: &str = "sg-0fedcba9876543210";
const SAMPLE_INSTANCE: &str = "i-0abc1234def567890";
const SAMPLE_BUCKET: &str = "acme-prod-artifacts";
const SAMPLE_NEW_BUCKET: &str = "acme-tmp-export";

/// The `n`-th clone's security group id (17 hex digits, as EC2's).
pub fn security_group(n: usize) -> String {
    format!("sg-0f1ee7{n:011x}")
}

/// The `n`-th clone's instance id.
pub fn instance(n: usize) -> String {
    format!("i-0f1ee7{n:011x}")
}

/// The `n`-th clone's bucket.
pub fn bucket(n: usize) -> String {
    format!("acme-fleet-{n:04}")
}

fn state_file(name: &str) -> Value {
    let path = workspace().join("events/terraform").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn resource(state: &Value, kind: &str, name: &str) -> Value {
    state["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["type"] == kind && r["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("the sample states declare no {kind}.{name}"))
}

/// `value` with every occurrence of each `(from, to)` replaced in its JSON text.
fn replaced(value: &Value, pairs: &[(&str, &str)]) -> Value {
    let mut text = value.to_string();
    for (from, to) in pairs {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("a replacement broke the JSON: {e}"))
}

/// The fleet's Terraform state (format 4): `size` clones of the web security group, the app
/// instance and the artifacts bucket with its versioning and public access block.
pub fn state(size: usize) -> Value {
    let network = state_file("network.tfstate");
    let data = state_file("data.tfstate");
    let samples = [
        resource(&network, "aws_security_group", "web"),
        resource(&network, "aws_instance", "app"),
        resource(&data, "aws_s3_bucket", "artifacts"),
        resource(&data, "aws_s3_bucket_versioning", "artifacts"),
        resource(&data, "aws_s3_bucket_public_access_block", "artifacts"),
    ];
    let mut resources = Vec::new();
    for n in 0..size {
        let (sg, instance, bucket) = (security_group(n), instance(n), bucket(n));
        let web = format!("fleet-web-{n}");
        for sample in &samples {
            let mut r = replaced(
                sample,
                &[
                    (SAMPLE_SG, &sg),
                    (SAMPLE_INSTANCE, &instance),
                    (SAMPLE_BUCKET, &bucket),
                    ("\"name\":\"web\"", &format!("\"name\":\"{web}\"")),
                    ("\"Name\":\"web\"", &format!("\"Name\":\"{web}\"")),
                ],
            );
            let name = format!("{}_{n}", r["name"].as_str().unwrap_or("r"));
            r["name"] = json!(name);
            resources.push(r);
        }
    }
    json!({"version": 4, "terraform_version": "1.9.8", "serial": 3, "lineage": "0f1ee7a1-2b3c-4d5e-8f90-fleet0000001",
        "outputs": {}, "resources": resources})
}

/// How the samples are mixed: (file under `events/cloudtrail`, weight). About one event in
/// nine writes (manual changes and Terraform's reverts on the fleet, a bucket created by hand);
/// the rest are the read-only, refused, service and sign-in calls a trail is mostly made of.
const MIX: [(&str, u32); 14] = [
    ("ec2-authorize-security-group-ingress.console-sso.json", 8),
    ("ec2-revoke-security-group-ingress.terraform.json", 3),
    ("ec2-authorize-security-group-ingress.cloud-custodian.json", 1),
    ("s3-put-bucket-versioning.cli-user.json", 2),
    ("s3-put-bucket-public-access-block.console-sso.json", 2),
    ("ec2-modify-instance-attribute.cli-user.json", 2),
    ("ec2-create-tags.cloudshell.json", 1),
    ("s3-create-bucket.cli-user.json", 1),
    ("ec2-describe-instances.cli-user.json", 80),
    ("ec2-authorize-security-group-ingress.access-denied.json", 20),
    ("ec2-terminate-instances.autoscaling-service.json", 36),
    ("signin-console-login.console-sso.json", 42),
    ("lambda-update-function-configuration.console-sso.json", 1),
    ("iam-put-role-policy.sdk-script.json", 1),
];

/// A SplitMix64 step.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A sample envelope of `events/cloudtrail` (its file name there), parsed.
pub fn sample(file: &str) -> Value {
    let path = workspace().join("events/cloudtrail").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `sample` replayed as event `i` of a run on clone `n`: the sample's resources replaced by
/// the clone's (a bucket created by hand is named after `i`), the time `i` × 7 s after
/// 2026-11-20T10:00:00Z (whole seconds, as CloudTrail writes them), the event id
/// `f1ee7000-0000-4000-8000-<i>` and the envelope id `0f1ee700-0000-4000-8000-<i>`.
pub fn on_clone(sample: &Value, i: usize, n: usize) -> Value {
    let (sg, instance, bucket) = (security_group(n), instance(n), bucket(n));
    let new_bucket = format!("{SAMPLE_NEW_BUCKET}-{i:05}");
    let mut event = replaced(
        sample,
        &[
            (SAMPLE_SG, &sg),
            (SAMPLE_DB_SG, &sg),
            (SAMPLE_INSTANCE, &instance),
            (SAMPLE_BUCKET, &bucket),
            (SAMPLE_NEW_BUCKET, &new_bucket),
        ],
    );
    let start = driftguard_core::time::Timestamp::parse("2026-11-20T10:00:00Z").map_or(0, |t| t.0);
    let time = driftguard_core::time::Timestamp(start + i as i64 * 7_000).to_string();
    event["id"] = json!(format!("0f1ee700-0000-4000-8000-{i:012x}"));
    event["time"] = json!(time);
    event["detail"]["eventTime"] = json!(time);
    event["detail"]["eventID"] = json!(event_id(i));
    event
}

/// The CloudTrail event id of event `i` of a run.
pub fn event_id(i: usize) -> String {
    format!("f1ee7000-0000-4000-8000-{i:012x}")
}

/// The events of a run, drawn from [`MIX`] with a seed, any one of them on demand: a run of
/// a hundred thousand is generated as it is sent, never held whole.
#[derive(Debug, Clone)]
pub struct Mix {
    samples: Vec<(Value, u32)>,
    total: u64,
    size: usize,
    seed: u64,
}

impl Mix {
    /// The mix on a fleet of `size` with `seed`.
    pub fn new(size: usize, seed: u64) -> Mix {
        let samples: Vec<(Value, u32)> = MIX.iter().map(|(file, weight)| (sample(file), *weight)).collect();
        let total = samples.iter().map(|(_, w)| u64::from(*w)).sum();
        Mix {
            samples,
            total,
            size: size.max(1),
            seed,
        }
    }

    /// Event `i`: the sample the seeded generator's `i`-th draw picks (SplitMix64 is a
    /// counter, so the draw needs no predecessor), on clone `i mod size`.
    pub fn event(&self, i: usize) -> Value {
        let mut state = self.seed.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut pick = next(&mut state) % self.total;
        let sample = self
            .samples
            .iter()
            .find(|(_, w)| {
                let hit = pick < u64::from(*w);
                pick = pick.saturating_sub(u64::from(*w));
                hit
            })
            .map_or(&self.samples[0].0, |(v, _)| v);
        on_clone(sample, i, i % self.size)
    }

    /// The sample file event `i` was drawn from.
    pub fn kind(&self, i: usize) -> &'static str {
        let mut state = self.seed.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut pick = next(&mut state) % self.total;
        for (file, weight) in MIX {
            if pick < u64::from(weight) {
                return file;
            }
            pick -= u64::from(weight);
        }
        MIX[0].0
    }
}

/// `count` EventBridge envelopes (`AWS API Call via CloudTrail`, as the ingest queue receives
/// them) on a fleet of `size`, drawn from [`MIX`] with `seed`: event `i` is [`Mix::event`]`(i)`,
/// so manual changes and reverts name clone `i mod size`'s resources and each clone sees a
/// history.
pub fn events(count: usize, size: usize, seed: u64) -> Vec<Value> {
    let mix = Mix::new(size, seed);
    (0..count).map(|i| mix.event(i)).collect()
}
