//! The compiled reconcile Lambda, run as Lambda runs it (through the Runtime API on loopback),
//! against moto's AWS Config, S3, IAM, DynamoDB, EventBridge and SQS, with CloudTrail's event
//! history answered by a loopback stand-in in the API's wire shape (moto has none). moto's
//! Config item times are put back in the API's wire shape by a proxy (see `estate.rs`).
//!
//! The estate (tests/src/estate.rs): a bucket whose policy was changed by hand (drift), one whose
//! change an event already reported (no duplicate), one declared and deleted (missing), one
//! created by hand (unmanaged), a declared role, and 120 declared buckets, so the bucket listing
//! takes two pages. A margin as long as the Runtime API's deadline makes every invocation stop
//! after one page: the run is resumed from its saved continuation.
//!
//! Security groups and DB instances, which moto's Config does not serve, are swept through a
//! Config stand-in in front of moto (tests/src/config_standin.rs) holding the AWS Config RDK's
//! example items from `../shared/data`.

use driftguard_core::finding::{Finding, FindingKind, Status};
use driftguard_core::ports::{FindingStore, Query};
use driftguard_tests::config_standin::{self, ConfigStandIn};
use driftguard_tests::corpora::shared_data;
use driftguard_tests::estate::{self, HistoryStandIn};
use driftguard_tests::fault::FaultProxy;
use driftguard_tests::runtime_api::{Invocation, LambdaProcess, RuntimeApi};
use driftguard_tests::runtime_api::{ACCOUNT_ID, REGION};
use driftguard_tests::stack::{Stack, BUCKET, BUS, TABLE};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(60);
const FILLERS: usize = 120;

struct Reconcile {
    stack: Stack,
    lambda: LambdaProcess,
    rt: tokio::runtime::Runtime,
    history: HistoryStandIn,
    proxy: FaultProxy,
    /// Config for the types moto's does not serve, when the test holds items of them.
    config: Option<ConfigStandIn>,
}

impl Reconcile {
    fn start(test: &str) -> Option<Reconcile> {
        Self::start_with(test, FILLERS, "30")
    }

    /// `fillers` declared buckets; `margin`: `DRIFTGUARD_SWEEP_MARGIN_SECONDS`; no backfill.
    fn start_with(test: &str, fillers: usize, margin: &str) -> Option<Reconcile> {
        Self::start_full(test, fillers, margin, "0", estate::history())
    }

    /// `backfill_hours`: `DRIFTGUARD_BACKFILL_HOURS`; `history`: what the history stand-in holds.
    fn start_full(
        test: &str,
        fillers: usize,
        margin: &str,
        backfill_hours: &str,
        history: std::collections::HashMap<String, Vec<Value>>,
    ) -> Option<Reconcile> {
        Self::start_on(test, fillers, margin, backfill_hours, history, None, &[])
    }

    /// As [`Self::start_full`], with `held`: a second Terraform state beside the estate's and
    /// the configuration items a [`ConfigStandIn`] serves (listing at most the given number per
    /// page), in front of moto's Config (`AWS_ENDPOINT_URL_CONFIG_SERVICE`).
    fn start_on(
        test: &str,
        fillers: usize,
        margin: &str,
        backfill_hours: &str,
        history: std::collections::HashMap<String, Vec<Value>>,
        held: Option<(Value, Vec<Value>, usize)>,
        extra_env: &[(&str, &str)],
    ) -> Option<Reconcile> {
        Self::start_prepared(
            test,
            fillers,
            margin,
            backfill_hours,
            history,
            held,
            extra_env,
            |_, _| {},
        )
    }

    /// As [`Self::start_on`], running `prepare` on the stack before the function starts.
    #[allow(clippy::too_many_arguments)]
    fn start_prepared(
        test: &str,
        fillers: usize,
        margin: &str,
        backfill_hours: &str,
        history: std::collections::HashMap<String, Vec<Value>>,
        held: Option<(Value, Vec<Value>, usize)>,
        extra_env: &[(&str, &str)],
        prepare: impl FnOnce(&tokio::runtime::Runtime, &Stack),
    ) -> Option<Reconcile> {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let stack = rt.block_on(Stack::start(test))?;
        prepare(&rt, &stack);
        rt.block_on(estate::build(&stack.sdk, fillers))
            .expect("the estate on moto");
        let proxy = FaultProxy::start(&stack.moto.endpoint(), Vec::new());
        for r in estate::config_rewrites() {
            proxy.rewrite(r);
        }
        let config = held.map(|(state, items, page_size)| {
            rt.block_on(
                driftguard_aws::s3_client(&stack.sdk, true)
                    .put_object()
                    .bucket(BUCKET)
                    .key(format!("{}network.tfstate", estate::STATE_PREFIX))
                    .body(state.to_string().into_bytes().into())
                    .send(),
            )
            .expect("put the second state");
            ConfigStandIn::start(&proxy.endpoint(), items, page_size)
        });
        let history = HistoryStandIn::start(history);
        let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_driftguard-reconcile"));
        let api = RuntimeApi::start_named("driftguard-reconcile");
        let states = format!("s3://{BUCKET}/{}", estate::STATE_PREFIX);
        let (endpoint, history_endpoint) = (proxy.endpoint(), history.endpoint());
        let config_endpoint = config.as_ref().map_or(endpoint.clone(), ConfigStandIn::endpoint);
        let mut env: Vec<(&str, &str)> = vec![
            ("AWS_ENDPOINT_URL", &endpoint),
            // The service-specific endpoint of the SDK's `Config Service` (moto's Config
            // directly when no stand-in is in front of it).
            ("AWS_ENDPOINT_URL_CONFIG_SERVICE", &config_endpoint),
            ("AWS_ENDPOINT_URL_CLOUDTRAIL", &history_endpoint),
            ("DRIFTGUARD_TABLE", TABLE),
            ("DRIFTGUARD_EVENT_BUS", BUS),
            ("DRIFTGUARD_STATE_LOCATIONS", &states),
            ("DRIFTGUARD_S3_PATH_STYLE", "true"),
            // As long as the Runtime API's deadline: one page per invocation.
            ("DRIFTGUARD_SWEEP_MARGIN_SECONDS", margin),
            ("DRIFTGUARD_LOOKUP_INTERVAL_MS", "20"),
            ("DRIFTGUARD_BACKFILL_HOURS", backfill_hours),
            ("RUST_LOG", "info"),
        ];
        env.extend_from_slice(extra_env);
        let lambda = LambdaProcess::spawn(&binary, &api, &env);
        Some(Reconcile {
            stack,
            lambda,
            rt,
            history,
            proxy,
            config,
        })
    }

    fn invoke(&mut self, event: Value) -> Value {
        match self.lambda.invoke(event.to_string().as_bytes(), TIMEOUT) {
            Invocation::Response(v) => v,
            other => panic!("expected a response, got {other:?}\nlogs:\n{}", self.lambda.logs()),
        }
    }

    /// Starts a run and continues it until complete; returns every invocation's answer.
    fn sweep(&mut self) -> Vec<Value> {
        let mut answers = vec![self.invoke(json!({"action": "start"}))];
        for _ in 0..8 {
            if answers
                .last()
                .is_some_and(|a| a["scopes"][0]["report"]["complete"] == json!(true))
            {
                return answers;
            }
            answers.push(self.invoke(json!({"action": "continue"})));
        }
        panic!("the run did not complete: {answers:#?}\nlogs:\n{}", self.lambda.logs());
    }

    fn findings(&self) -> Vec<Finding> {
        self.rt
            .block_on(self.stack.store().list(&Query::default()))
            .expect("list findings")
    }

    fn on(&self, bucket: &str) -> Vec<Finding> {
        self.findings()
            .into_iter()
            .filter(|f| f.resource.id == bucket)
            .collect()
    }

    /// What ingest does with one CloudTrail record: the same pipeline and service step.
    fn ingest(&self, record: &Value) {
        let mut inventory = driftguard_core::inventory::Inventory::new();
        inventory
            .add_state(
                "s3://acme-tfstate/sweep/estate.tfstate",
                estate::state(FILLERS).to_string().as_bytes(),
            )
            .expect("the estate's state");
        let pipeline = driftguard_core::pipeline::Pipeline::new(&Default::default(), inventory);
        let mut evaluations = Vec::new();
        driftguard_core::decode::decode(record.to_string().as_bytes(), "record", &mut |_, item| {
            pipeline.evaluate_each(&item.expect("a record"), &mut |e| evaluations.push(e));
        });
        self.rt
            .block_on(driftguard_core::service::handle_all(
                &self.stack.store(),
                &self.stack.publisher(),
                evaluations,
            ))
            .expect("ingest the record");
    }
}

fn kinds(events: &[Value]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["detail-type"].as_str().unwrap_or("").to_owned(),
                e["detail"]["finding"]["resource"]["id"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_sweep_raises_drift_missing_and_unmanaged_once_resumes_across_invocations_and_resolves_what_is_back() {
    let Some(mut t) = Reconcile::start(
        "a_sweep_raises_drift_missing_and_unmanaged_once_resumes_across_invocations_and_resolves_what_is_back",
    ) else {
        return;
    };
    // The event path saw bob's change on app-data first.
    t.ingest(&estate::bob_record());
    let reported = t.on(estate::REPORTED);
    assert_eq!(reported.len(), 1, "{reported:#?}");
    let _ = t.rt.block_on(t.stack.drain_events());

    let started = Instant::now();
    let answers = t.sweep();
    let took = started.elapsed();
    // One page per invocation: the buckets' two pages, then the role's.
    assert_eq!(answers.len(), 3, "{answers:#?}");
    let first = &answers[0]["scopes"][0];
    assert_eq!(first["report"]["complete"], json!(false), "{first:#}");
    assert_eq!(
        first["continues_at"],
        json!("AWS::S3::Bucket after page 1"),
        "{first:#}"
    );
    assert!(
        first["stopped"].as_str().is_some_and(|s| s.contains("deadline")),
        "{first:#}"
    );
    assert_eq!(answers[1]["scopes"][0]["resumed"], json!(true));
    let report = &answers[2]["scopes"][0]["report"];
    assert_eq!(report["invocations"], json!(3), "{report:#}");
    assert_eq!(report["pages"], json!(3), "{report:#}");
    // The state bucket, app-logs, app-data, the hand-made bucket, 120 fillers, the role.
    assert_eq!(report["listed"], json!(FILLERS + 5), "{report:#}");
    assert_eq!(report["read"], json!(FILLERS + 5), "{report:#}");
    let coverage = &report["coverage"]["123456789012/AWS::S3::Bucket"];
    assert_eq!(coverage["managed"], json!(FILLERS + 3), "{report:#}");
    assert_eq!(coverage["unmanaged"], json!(1), "{report:#}");
    assert_eq!(coverage["missing"], json!(1), "{report:#}");
    assert_eq!(
        report["coverage"]["123456789012/AWS::IAM::Role"]["managed"],
        json!(1),
        "{report:#}"
    );
    let calls = report["calls"].clone();
    eprintln!(
        "sweep of {} resources: {took:?} wall clock over 3 invocations, {} ms in pages, calls {calls}",
        FILLERS + 5,
        report["duration_ms"]
    );

    // Drift, named after the last writer by hand (alice, not Terraform's earlier apply).
    let logs = t.on(estate::DRIFTED);
    assert_eq!(logs.len(), 1, "{logs:#?}");
    assert_eq!(logs[0].kind, FindingKind::Drift);
    assert_eq!(logs[0].status, Status::Open);
    assert!(
        logs[0].changes.iter().any(|c| c.attribute == "policy" && c.drifted),
        "{:#?}",
        logs[0].changes
    );
    assert!(logs[0].summary.contains("reconcile sweep"), "{}", logs[0].summary);
    assert!(
        logs[0].summary.contains("names alice as the last writer"),
        "{}",
        logs[0].summary
    );
    // The event's finding is the finding: no second one, the live values joined to it.
    let data = t.on(estate::REPORTED);
    assert_eq!(data.len(), 1, "no duplicate of the event's finding: {data:#?}");
    assert_eq!(data[0].id, reported[0].id);
    assert_eq!(data[0].who(), Some("bob"), "{:#?}", data[0].actor);
    assert!(
        data[0].config.is_some(),
        "the sweep's evidence joined the event's finding"
    );
    assert_eq!(data[0].revision, 2);
    // Deleted by hand: missing; the history holds only Terraform's calls, and says so.
    let backup = t.on(estate::DELETED);
    assert_eq!(backup.len(), 1, "{backup:#?}");
    assert_eq!(backup[0].kind, FindingKind::Missing);
    assert!(
        backup[0].summary.contains("Nobody could be named"),
        "{}",
        backup[0].summary
    );
    // Created by hand: unmanaged.
    let hand = t.on(estate::HAND_MADE);
    assert_eq!(hand.len(), 1, "{hand:#?}");
    assert_eq!(hand[0].kind, FindingKind::Unmanaged);
    assert_eq!(t.findings().len(), 4, "nothing else: {:#?}", t.findings());
    let mut asked = t.history.asked();
    asked.sort();
    let mut expected = vec![estate::DELETED, estate::DRIFTED, estate::REPORTED];
    expected.sort();
    assert_eq!(asked, expected, "one lookup per resource found drifted or missing");
    let events = t.rt.block_on(t.stack.drain_events());
    assert_eq!(
        kinds(&events),
        [
            ("Drift Detected", estate::DELETED),
            ("Drift Detected", estate::REPORTED),
            ("Drift Detected", estate::DRIFTED),
            ("Drift Detected", estate::HAND_MADE),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );

    // A second run over the same estate raises nothing new.
    let again = t.sweep();
    let report = &again.last().expect("an answer")["scopes"][0]["report"];
    assert_eq!(report["detected"], json!(0), "{report:#}");
    assert!(t.rt.block_on(t.stack.drain_events()).is_empty());
    assert_eq!(t.findings().len(), 4);

    // The policy put back by hand: the next run resolves the drift.
    t.rt.block_on(estate::put_policy(
        &t.stack.sdk,
        estate::DRIFTED,
        &estate::declared_policy(estate::DRIFTED),
    ))
    .expect("put the declared policy back");
    let back = t.sweep();
    let report = &back.last().expect("an answer")["scopes"][0]["report"];
    assert_eq!(report["resolved"], json!(1), "{report:#}");
    let logs = t.on(estate::DRIFTED);
    assert_eq!(logs[0].status, Status::Resolved, "{:#?}", logs[0]);
    assert!(logs[0]
        .resolution
        .as_ref()
        .is_some_and(|r| r.by.contains("reconcile sweep")));
    assert_eq!(
        kinds(&t.rt.block_on(t.stack.drain_events())),
        [("Drift Resolved".to_owned(), estate::DRIFTED.to_owned())]
    );
}

/// The figures: time and calls for a sweep of 1,000 buckets (moto, loopback; the answer's
/// `duration_ms` is the time spent in pages, the proxy counts every SDK call the function made).
#[test]
fn a_sweep_of_a_thousand_buckets_takes_ten_pages_of_each_config_call() {
    let Some(mut t) = Reconcile::start_with(
        "a_sweep_of_a_thousand_buckets_takes_ten_pages_of_each_config_call",
        996,
        "5",
    ) else {
        return;
    };
    let before = t.proxy.requests().len();
    let started = Instant::now();
    let answers = t.sweep();
    let wall = started.elapsed();
    let report = &answers.last().expect("an answer")["scopes"][0]["report"];
    // 996 fillers, the state bucket, app-logs, app-data, the hand-made one.
    assert_eq!(
        report["coverage"]["123456789012/AWS::S3::Bucket"]["managed"],
        json!(999),
        "{report:#}"
    );
    assert_eq!(
        report["calls"]["config:ListDiscoveredResources"],
        json!(11),
        "10 bucket pages, 1 role page: {report:#}"
    );
    assert_eq!(
        report["calls"]["config:BatchGetResourceConfig"],
        json!(11),
        "{report:#}"
    );
    let ops = [
        "GetItem",
        "PutItem",
        "TransactWriteItems",
        "Query",
        "DeleteItem",
        "PutEvents",
        "GetCallerIdentity",
        "no X-Amz-Target (S3, STS)",
    ];
    let counts: Vec<String> = ops
        .iter()
        .map(|op| format!("{op} {}", t.proxy.seen(if op.starts_with("no ") { "" } else { op })))
        .collect();
    eprintln!(
        "FIGURES sweep of 1,001 resources (1,000 buckets, 1 role): wall {wall:?} over {} invocation(s), {} ms in pages; Config/CloudTrail calls {}; every SDK call through the proxy: {} ({})",
        answers.len(),
        report["duration_ms"],
        report["calls"],
        t.proxy.requests().len() - before,
        counts.join(", ")
    );
}

/// The first invocation that meets a scope backfills CloudTrail's history of the window (here 3
/// hours, an hour per `LookupEvents` slice) through the same pipeline as the live events: the
/// hand-made writes in the window become findings under their own event ids, a write older
/// than the window is not read, and the next invocation does not backfill again.
#[test]
fn the_first_invocation_backfills_the_history_window_once_through_the_pipeline() {
    let alice = estate::put_policy_record(
        estate::DRIFTED,
        &estate::public_policy(estate::DRIFTED),
        "alice",
        "6c1e0d4a-0a5b-4c2e-9f2a-0000000000f1",
        90,
    );
    let bob = estate::bob_record();
    let old = estate::put_policy_record(
        estate::REPORTED,
        &estate::public_policy(estate::REPORTED),
        "carol",
        "6c1e0d4a-0a5b-4c2e-9f2a-0000000000f2",
        5 * 60,
    );
    let mut history = estate::history();
    history.insert("false".to_owned(), vec![alice.clone(), bob.clone(), old.clone()]);
    let Some(mut t) = Reconcile::start_full(
        "the_first_invocation_backfills_the_history_window_once_through_the_pipeline",
        FILLERS,
        "30",
        "3",
        history,
    ) else {
        return;
    };
    // A continue with no run saved sweeps nothing, but the backfill goes first. The margin is
    // as long as the Runtime API's deadline: one hour slice per invocation, resumed by the next.
    let mut answers = Vec::new();
    for _ in 0..3 {
        let answer = t.invoke(json!({"action": "continue"}));
        assert_eq!(answer["scopes"], json!([]), "{answer:#}");
        answers.push(answer["backfills"][0].clone());
    }
    let done: Vec<(Value, Value)> = answers
        .iter()
        .map(|b| (b["complete"].clone(), b["events_here"].clone()))
        .collect();
    assert_eq!(
        done,
        [
            (json!(false), json!(1)),
            (json!(false), json!(1)),
            (json!(true), json!(0))
        ],
        "newest hour first (bob, 3 minutes ago), then alice (90 minutes ago), then an empty hour: {answers:#?}"
    );
    let backfill = &answers[2];
    assert_eq!(backfill["events"], json!(2), "the writes within 3 hours: {backfill:#}");
    assert_eq!(backfill["pages"], json!(3), "one page per hour slice: {backfill:#}");
    let ids: Vec<String> = t.findings().iter().map(|f| f.call.event_id.clone()).collect();
    for record in [&alice, &bob] {
        let id = record["eventID"].as_str().unwrap_or_default();
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
    let old_id = old["eventID"].as_str().unwrap_or_default();
    assert!(
        !ids.iter().any(|i| i == old_id),
        "a write older than the window was read: {ids:?}"
    );
    let drift = t.on(estate::DRIFTED);
    assert_eq!(drift.len(), 1, "{drift:#?}");
    assert_eq!(drift[0].kind, FindingKind::Drift);
    assert_eq!(drift[0].actor.human.as_deref(), Some("alice"));
    let published = t.rt.block_on(t.stack.drain_events());
    assert_eq!(
        published
            .iter()
            .filter(|e| e["detail-type"] == json!("Drift Detected"))
            .count(),
        2,
        "{published:#?}"
    );

    let again = t.invoke(json!({"action": "continue"}));
    assert!(again.get("backfills").is_none(), "backfilled once: {again:#}");
    assert_eq!(t.findings().len(), ids.len());
}

/// The security group the RDK's example item records (`launch-wizard-7`, SSH open to all).
const SG: &str = "sg-1d56fc66";
/// A second group, made from the same item by hand: live, undeclared, next to [`SG`].
const SG_HAND: &str = "sg-0f3c9a7e5b2d41a86";
/// A declared group Config does not list (deleted out of band, never recorded).
const SG_GONE: &str = "sg-0b5e3c1d2a4f69870";
/// The DB instance the RDK's example item records (`myrdstest`), by Config's resource id.
const DB: &str = "db-HHTTSRD6HXUIKXPFPI6WFVZ4PA";
/// A copy of it made by hand (`scratch-copy`): live, undeclared.
const DB_HAND: &str = "db-7KQW2M4XZ3N5P6R8T0V2Y4A6C8";
/// A declared instance Config does not list.
const DB_GONE: &str = "db-Q2W4E6R8T0Y2U4I6O8P0A2S4D6";

/// The second state: the RDK's group and instance as Terraform (provider v5) records them,
/// each with one attribute other than the live item (the group's SSH rule open to 10.0.0.0/8,
/// not to everyone; the instance a `db.m3.large`, not an `xlarge`), and one more of each that
/// Config does not list.
fn network_state() -> Value {
    let sg_arn = |id: &str| format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:security-group/{id}");
    let db_arn = |name: &str| format!("arn:aws:rds:{REGION}:{ACCOUNT_ID}:db:{name}");
    let rule = |cidr: &str, protocol: &str, port: i64| {
        json!({"cidr_blocks": [cidr], "description": "", "from_port": port, "to_port": port, "protocol": protocol,
            "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": false})
    };
    let group = |id: &str, name: &str, description: &str, ssh_from: &str| {
        json!({"schema_version": 1, "attributes": {"id": id, "arn": sg_arn(id), "name": name, "name_prefix": "",
            "description": description, "vpc_id": "vpc-0990dc6d", "owner_id": ACCOUNT_ID, "revoke_rules_on_delete": false,
            "ingress": [rule(ssh_from, "tcp", 22)], "egress": [rule("0.0.0.0/0", "-1", 0)], "tags": {}, "tags_all": {}}})
    };
    let kms = format!("arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/e20f3a10-781f-4582-93d7-6dfe67cac827");
    let instance = |id: &str, name: &str, class: &str| {
        json!({"schema_version": 2, "attributes": {"id": id, "resource_id": id, "identifier": name, "arn": db_arn(name),
            "engine": "mysql", "engine_version": "5.6.27", "instance_class": class, "allocated_storage": 100,
            "storage_type": "io1", "iops": 1000, "multi_az": true, "publicly_accessible": true, "storage_encrypted": true,
            "kms_key_id": kms, "backup_retention_period": 7, "vpc_security_group_ids": ["sg-e627199e"],
            "db_subnet_group_name": "default", "username": "foo", "tags": {"workload-type": "production"},
            "tags_all": {"workload-type": "production"}}})
    };
    let provider = "provider[\"registry.terraform.io/hashicorp/aws\"]";
    json!({"version": 4, "terraform_version": "1.9.8", "serial": 3, "lineage": "7a4d2c1e-network", "outputs": {},
    "resources": [
        {"mode": "managed", "type": "aws_security_group", "name": "ssh", "provider": provider,
            "instances": [group(SG, "launch-wizard-7", "launch-wizard-7 created 2016-05-26T14:26:12.992-07:00", "10.0.0.0/8")]},
        {"mode": "managed", "type": "aws_security_group", "name": "bastion", "provider": provider,
            "instances": [group(SG_GONE, "bastion", "bastion hosts", "10.0.0.0/8")]},
        {"mode": "managed", "type": "aws_db_instance", "name": "main", "provider": provider,
            "instances": [instance(DB, "myrdstest", "db.m3.large")]},
        {"mode": "managed", "type": "aws_db_instance", "name": "replica", "provider": provider,
            "instances": [instance(DB_GONE, "reports-replica", "db.m3.xlarge")]},
    ]})
}

/// What the stand-in holds: the RDK's group and instance (moved into the test's account and
/// region) and a hand-made copy of each.
fn network_items(data: &std::path::Path) -> Vec<Value> {
    let item = |file: &str| {
        config_standin::rdk_item(data, file, ACCOUNT_ID, REGION).unwrap_or_else(|e| panic!("the RDK's item: {e}"))
    };
    let sg = item("AWS_EC2_SecurityGroup.json");
    let mut sg_hand = config_standin::renamed(&sg, SG_HAND, None);
    sg_hand["configuration"]["groupName"] = json!("hand-made-ssh");
    let db = item("AWS_RDS_DBInstance.json");
    let db_hand = config_standin::renamed(&db, DB_HAND, Some("scratch-copy"));
    vec![sg, sg_hand, db, db_hand]
}

/// For the types moto's Config does not serve, the sweep reads a stand-in that answers with
/// the RDK's real configuration items in the API's wire shapes, a page of one at a time, and
/// forwards the rest (the S3 and IAM estate) to moto: a declared security group and DB
/// instance that differ from the live items drift on exactly the changed attribute (tags,
/// which `BatchGetResourceConfig` does not return, are not reported), the declared ones
/// Config does not list are missing, the hand-made copies are unmanaged (read in full, tags
/// included, with `GetResourceConfigHistory`), and a second run raises nothing new.
#[test]
fn the_sweep_reads_security_groups_and_db_instances_from_real_config_items_beside_moto() {
    let test = "the_sweep_reads_security_groups_and_db_instances_from_real_config_items_beside_moto";
    let Some(data) = shared_data(
        test,
        "the sweep of the RDK's security group and DB instance items is not run",
    ) else {
        return;
    };
    let held = (network_state(), network_items(&data), 1);
    let Some(mut t) = Reconcile::start_on(test, 0, "30", "0", estate::history(), Some(held), &[]) else {
        return;
    };
    let answers = t.sweep();
    let report = answers.last().expect("an answer")["scopes"][0]["report"].clone();
    // One page per invocation: the groups' two pages, the buckets', the role's, the
    // instances' two.
    assert_eq!(answers.len(), 6, "{answers:#?}");
    assert_eq!(
        answers[0]["scopes"][0]["continues_at"],
        json!("AWS::EC2::SecurityGroup after page 1"),
        "{answers:#?}"
    );
    let coverage = |t: &str| report["coverage"][format!("{ACCOUNT_ID}/{t}")].clone();
    assert_eq!(
        coverage("AWS::EC2::SecurityGroup"),
        json!({"managed": 1, "unmanaged": 1, "missing": 1, "cloudformation": 0, "ignored": 0}),
        "{report:#}"
    );
    assert_eq!(
        coverage("AWS::RDS::DBInstance"),
        json!({"managed": 1, "unmanaged": 1, "missing": 1, "cloudformation": 0, "ignored": 0}),
        "{report:#}"
    );
    assert_eq!(
        coverage("AWS::S3::Bucket")["unmanaged"],
        json!(1),
        "moto's estate, forwarded: {report:#}"
    );
    let calls = &report["calls"];
    assert_eq!(calls["config:ListDiscoveredResources"], json!(6), "{report:#}");
    assert_eq!(calls["config:BatchGetResourceConfig"], json!(6), "{report:#}");
    // The two hand-made copies here, the hand-made bucket at moto.
    assert_eq!(calls["config:GetResourceConfigHistory"], json!(3), "{report:#}");
    let config = t.config.as_ref().expect("the stand-in");
    assert_eq!(config.answered("ListDiscoveredResources"), 4);
    assert_eq!(config.answered("BatchGetResourceConfig"), 4);
    assert_eq!(config.answered("GetResourceConfigHistory"), 2);
    assert_eq!(
        config.forwarded("ListDiscoveredResources"),
        2,
        "the buckets and the role"
    );
    assert_eq!(config.forwarded("BatchGetResourceConfig"), 2);
    assert_eq!(config.forwarded("GetResourceConfigHistory"), 1);

    let one = |id: &str, kind: FindingKind| {
        let found = t.on(id);
        assert_eq!(found.len(), 1, "{id}: {found:#?}");
        assert_eq!(found[0].kind, kind, "{id}: {:#?}", found[0]);
        assert_eq!(found[0].status, Status::Open, "{id}");
        found.into_iter().next().expect("one")
    };
    let drifted = |f: &Finding| -> Vec<(String, Value, Value)> {
        f.changes
            .iter()
            .filter(|c| c.drifted)
            .map(|c| (c.attribute.clone(), c.expected.clone(), c.found.clone()))
            .collect()
    };
    let sg = one(SG, FindingKind::Drift);
    assert_eq!(
        drifted(&sg),
        [(
            "ingress".to_owned(),
            json!(["tcp 22 10.0.0.0/8"]),
            json!(["tcp 22 0.0.0.0/0"])
        )],
        "{:#?}",
        sg.changes
    );
    assert_eq!(sg.resource.resource_type, "AWS::EC2::SecurityGroup");
    let db = one(DB, FindingKind::Drift);
    assert_eq!(
        drifted(&db),
        [("instance_class".to_owned(), json!("db.m3.large"), json!("db.m3.xlarge"))],
        "the tags Config's batch read leaves out are not drift: {:#?}",
        db.changes
    );
    for id in [SG_GONE, DB_GONE] {
        one(id, FindingKind::Missing);
    }
    for id in [SG_HAND, DB_HAND] {
        one(id, FindingKind::Unmanaged);
    }
    let before = t.findings().len();
    assert_eq!(
        before,
        10,
        "these six and the estate's four (app-logs, app-data, app-backup, the hand-made bucket): {:#?}",
        t.findings()
    );
    let _ = t.rt.block_on(t.stack.drain_events());

    // A second run over the same items raises nothing new.
    let again = t.sweep();
    let report = &again.last().expect("an answer")["scopes"][0]["report"];
    assert_eq!(report["detected"], json!(0), "{report:#}");
    assert!(t.rt.block_on(t.stack.drain_events()).is_empty());
    assert_eq!(t.findings().len(), before);
    for id in [SG, SG_HAND, SG_GONE, DB, DB_HAND, DB_GONE] {
        assert_eq!(t.on(id).len(), 1, "{id}: no duplicate");
    }
}

#[test]
fn the_sweep_takes_its_ignore_rules_from_the_configuration_file() {
    let test = "the_sweep_takes_its_ignore_rules_from_the_configuration_file";
    let put = |rt: &tokio::runtime::Runtime, stack: &Stack, text: &str| {
        rt.block_on(stack.put_parameter("/driftguard/config", text));
    };
    // The hand-made bucket is known and tolerated: the file says so.
    let file = format!("ignore = [\"AWS::S3::Bucket {}\"]\n", estate::HAND_MADE);
    let Some(mut t) = Reconcile::start_prepared(
        test,
        0,
        "300",
        "0",
        estate::history(),
        None,
        &[
            ("DRIFTGUARD_CONFIG", "ssm:/driftguard/config"),
            ("DRIFTGUARD_CONFIG_REFRESH_SECONDS", "0"),
        ],
        |rt, stack| put(rt, stack, &file),
    ) else {
        return;
    };
    t.sweep();
    assert!(
        t.on(estate::HAND_MADE).is_empty(),
        "ignored by the file's rule: {:#?}",
        t.on(estate::HAND_MADE)
    );
    assert_eq!(t.on(estate::DELETED).len(), 1, "the rest of the sweep is as before");

    // The rule taken out of the file: the next sweep reports the bucket.
    put(&t.rt, &t.stack, "ignore = []\n");
    t.sweep();
    let found = t.on(estate::HAND_MADE);
    assert_eq!(found.len(), 1, "{found:#?}\n{}", t.lambda.logs());
    assert_eq!(found[0].kind, FindingKind::Unmanaged);
}
