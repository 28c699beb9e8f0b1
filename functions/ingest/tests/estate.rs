//! The compiled ingest function on an organisation-sized estate, under the memory Lambda gives
//! it: the states of `DRIFTGUARD_ESTATE_RESOURCES` resource instances (default 20,000; the
//! benchmark runs 1,000 to 200,000), cloned from the real states in `../shared/data` into
//! Terragrunt-style state files on moto's S3, read by the function with its data segment
//! limited to `DRIFTGUARD_ESTATE_DATA_LIMIT_MB` (default 256) — an allocation past it kills the
//! function. It must judge a change on a sample resource and one on a cloned resource, each
//! against the state that declares it. Peak RSS and times are printed, never asserted.
//!
//! With `DRIFTGUARD_RELEASE_BINS=<dir>` the function is that directory's release build; with
//! `DRIFTGUARD_ESTATE_DIR=<dir>` the state files are also written under `<dir>/<resources>/`.

use driftguard_core::inventory::Inventory;
use driftguard_core::ports::{FindingStore, Query};
use driftguard_tests::large_estate::{self, PER_STATE};
use driftguard_tests::runtime_api::{Invocation, LambdaProcess, RuntimeApi};
use driftguard_tests::stack::{workspace, Stack, BUCKET, STATE_PREFIX};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const MIB: u64 = 1024 * 1024;

fn sizes() -> Vec<usize> {
    std::env::var("DRIFTGUARD_ESTATE_RESOURCES")
        .unwrap_or_else(|_| "20000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .replace('_', "")
                .parse()
                .expect("DRIFTGUARD_ESTATE_RESOURCES: a list of counts")
        })
        .collect()
}

fn binary() -> PathBuf {
    match std::env::var_os("DRIFTGUARD_RELEASE_BINS") {
        Some(dir) => PathBuf::from(dir).join("driftguard-ingest"),
        None => PathBuf::from(env!("CARGO_BIN_EXE_driftguard-ingest")),
    }
}

#[test]
fn the_ingest_function_judges_changes_on_a_large_estate_within_its_memory() {
    let test = "the_ingest_function_judges_changes_on_a_large_estate_within_its_memory";
    let Some(data) = driftguard_tests::corpora::shared_data(test, "the large-estate memory run") else {
        return;
    };
    let templates = large_estate::templates(&data);
    assert!(
        templates.len() >= 100,
        "the corpora's states hold {} resources",
        templates.len()
    );
    let limit_mb: u64 = std::env::var("DRIFTGUARD_ESTATE_DATA_LIMIT_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    println!(
        "large estate: ingest {} with its data segment limited to {limit_mb} MiB; {} templates from {}",
        binary().display(),
        templates.len(),
        data.display()
    );
    println!("  resources   files   state MiB   first invocation s   peak RSS MiB   in-process load s   kept MiB");
    for resources in sizes() {
        run(test, &templates, resources, limit_mb);
    }
}

fn run(test: &str, templates: &[large_estate::Template], resources: usize, limit_mb: u64) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let Some(stack) = rt.block_on(Stack::start(test)) else {
        return;
    };
    let files = large_estate::files(templates, resources);
    let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
    if let Some(dir) = std::env::var_os("DRIFTGUARD_ESTATE_DIR") {
        let dir = PathBuf::from(dir).join(resources.to_string());
        for (key, state) in &files {
            let path = dir.join(key);
            std::fs::create_dir_all(path.parent().expect("a key has a folder")).expect("estate folder");
            std::fs::write(&path, state).expect("write a state file");
        }
    }

    // The CLI's path: the same files read into one inventory in this process.
    let started = Instant::now();
    let mut inventory = Inventory::new();
    for (key, state) in &files {
        inventory.add_state(key, state).expect("a generated state reads");
    }
    let in_process = started.elapsed();
    assert_eq!(
        inventory.len(),
        resources,
        "every generated resource is in the inventory"
    );
    let kept: usize = inventory.parts().iter().map(|p| p.heap_bytes()).sum();

    // A change on a cloned security group: the first clone of one.
    let (n, template) = (0..resources)
        .map(|i| (i, &templates[i % templates.len()]))
        .find(|(_, t)| t.tf_type == "aws_security_group")
        .expect("the corpora declare a security group");
    let account = large_estate::account(n / PER_STATE);
    let clone = large_estate::clone_of(template, n, &account);
    let clone_id = clone["id"].as_str().expect("id").to_owned();
    let clone_state = format!("s3://{BUCKET}/{STATE_PREFIX}{}", files[n / PER_STATE].0);

    let s3 = driftguard_aws::s3_client(&stack.sdk, true);
    rt.block_on(async {
        for (key, state) in files {
            s3.put_object()
                .bucket(BUCKET)
                .key(format!("{STATE_PREFIX}{key}"))
                .body(state.into())
                .send()
                .await
                .expect("put state");
        }
    });
    drop(inventory);

    let api = RuntimeApi::start_named("driftguard-ingest");
    let env = stack.ingest_env();
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let memory = limit_mb.to_string();
    env.push(("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", &memory));
    env.push(("RUST_LOG", "warn"));
    let mut lambda = LambdaProcess::spawn_with_data_limit(&binary(), &api, &env, limit_mb * MIB)
        .expect("prlimit (util-linux) starts the function");

    let sample =
        std::fs::read(workspace().join("events/cloudtrail/ec2-authorize-security-group-ingress.console-sso.json"))
            .expect("sample event");
    // Another call (its own event ids) on the clone, in the clone's account.
    let mut on_clone: Value = serde_json::from_str(
        &String::from_utf8_lossy(&sample)
            .replace("sg-0123456789abcdef0", &clone_id)
            .replace("123456789012", &account),
    )
    .expect("sample event is JSON");
    on_clone["id"] = "0b2f4a36-5d1e-4c6b-9a8f-e57d2c1b0a93".into();
    on_clone["detail"]["eventID"] = "6c1d9e2a-8f3b-4a57-b0c4-2e9d8f7a1b35".into();
    let on_clone = on_clone.to_string();
    let started = Instant::now();
    let first = answer(&mut lambda, &sample);
    let first_took = started.elapsed();
    let second = answer(&mut lambda, on_clone.as_bytes());
    let peak = lambda.peak_rss().unwrap_or(0);
    println!(
        "  {resources:>9}   {:>5}   {:>9.1}   {:>18.2}   {:>12.1}   {:>17.2}   {:>8.1}",
        resources.div_ceil(PER_STATE),
        bytes as f64 / MIB as f64,
        first_took.as_secs_f64(),
        peak as f64 / MIB as f64,
        in_process.as_secs_f64(),
        kept as f64 / MIB as f64,
    );
    for summary in [&first, &second] {
        assert_eq!(summary["findings"], 1, "{summary}\nlogs:\n{}", lambda.logs());
    }

    let findings = rt
        .block_on(stack.store().list(&Query::default()))
        .expect("list findings");
    let owner_of = |id: &str| {
        findings
            .iter()
            .find(|f| f.resource.id == id)
            .and_then(|f| f.owner.as_ref())
            .map(|o| o.state.clone())
    };
    assert_eq!(
        owner_of("sg-0123456789abcdef0").as_deref(),
        Some(format!("s3://{BUCKET}/{STATE_PREFIX}network.tfstate").as_str()),
        "the sample change is judged against the sample state"
    );
    assert_eq!(
        owner_of(&clone_id),
        Some(clone_state),
        "the change on a cloned group ({clone_id}) is judged against the state that declares it; findings: {:?}",
        findings
            .iter()
            .map(|f| (&f.resource.id, &f.kind, f.owner.as_ref().map(|o| &o.state)))
            .collect::<Vec<_>>()
    );
}

fn answer(lambda: &mut LambdaProcess, event: &[u8]) -> Value {
    match lambda.invoke(event, Duration::from_secs(600)) {
        Invocation::Response(v) => v,
        other => panic!("expected a response, got {other:?}\nlogs:\n{}", lambda.logs()),
    }
}
