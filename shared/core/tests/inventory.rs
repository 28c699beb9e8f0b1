//! The IaC inventory as a user meets it: the sample Terraform states load into one inventory
//! with the addresses `terraform state list` prints, data sources left out, lookups by id, name
//! and ARN returning the primary type first, sensitive values redacted; broken or old states
//! fail with a clear error and add nothing; and, when the public corpora are present, every
//! state there loads or fails cleanly.

mod common;

use common::{corpora, events_dir, file_name, files, read, workspace};
use driftguard_core::inventory::{Inventory, StateError, REDACTED};
use serde_json::{json, Value};
use std::path::Path;

const DB_PASSWORD: &str = "pG7#vQ2!mZ9xR4tL8wK3";

/// Loads `files` of `dir` into one inventory, each named by its file name.
fn load(dir: &Path, names: &[&str]) -> Inventory {
    let mut inv = Inventory::new();
    for name in names {
        inv.add_state(name, &read(&dir.join(name)))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    inv
}

/// Both sample states, in one inventory.
fn samples() -> Inventory {
    load(&events_dir().join("terraform"), &["network.tfstate", "data.tfstate"])
}

fn addresses(found: &[driftguard_core::inventory::Declared]) -> Vec<String> {
    found.iter().map(|d| d.address.clone()).collect()
}

#[test]
fn sample_states_load_into_one_inventory() {
    let inv = samples();
    let mut got: Vec<String> = inv.resources().map(|d| d.address.clone()).collect();
    got.sort();
    let want = [
        "aws_db_instance.main",
        "aws_iam_role.app_runtime",
        "aws_iam_role_policy.app_runtime_logs",
        "aws_instance.app",
        "aws_lambda_function.api",
        "aws_s3_bucket.artifacts",
        "aws_s3_bucket_public_access_block.artifacts",
        "aws_s3_bucket_versioning.artifacts",
        "aws_sqs_queue.jobs[\"emails\"]",
        "aws_sqs_queue.jobs[\"orders\"]",
        "module.network.aws_security_group.db",
        "module.network.aws_security_group.web",
        "module.network.aws_subnet.private[0]",
        "module.network.aws_subnet.private[1]",
        "module.network.aws_vpc.main",
    ];
    assert_eq!(got, want);
    assert_eq!((inv.len(), inv.is_empty()), (15, false));
    let states: Vec<_> = inv
        .states()
        .iter()
        .map(|s| {
            (
                s.origin.as_str(),
                s.resources,
                s.data_sources,
                s.serial,
                s.terraform_version.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("network.tfstate", 6, 1, Some(27), Some("1.9.8")),
            ("data.tfstate", 9, 0, Some(41), Some("1.9.8"))
        ]
    );
    let counts = inv.type_counts();
    assert_eq!(
        (
            counts.get("aws_subnet"),
            counts.get("aws_sqs_queue"),
            counts.get("aws_caller_identity")
        ),
        (Some(&2), Some(&2), None)
    );
}

#[test]
fn data_sources_are_not_resources() {
    let inv = samples();
    assert!(
        inv.resources().all(|d| d.tf_type != "aws_caller_identity"),
        "the data source is skipped"
    );
    assert!(inv.find(&["aws_caller_identity"], "123456789012").is_empty());
}

/// Looks `id` up among `types` and checks the addresses found, in order, and their state file.
fn check_find(inv: &Inventory, types: &[&str], id: &str, want: &[&str], origin: &str) {
    let found = inv.find(types, id);
    assert_eq!(addresses(&found), want, "find({types:?}, {id:?})");
    for d in &found {
        assert_eq!(inv.state_origin(d), origin, "{}", d.address);
    }
}

#[test]
fn find_by_id_name_and_arn() {
    let inv = samples();
    let (net, data) = ("network.tfstate", "data.tfstate");
    let bucket_types = [
        "aws_s3_bucket",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_versioning",
    ];
    let cases: &[(&[&str], &str, &[&str], &str)] = &[
        (
            &["aws_security_group"],
            "sg-0123456789abcdef0",
            &["module.network.aws_security_group.web"],
            net,
        ),
        (
            &["aws_security_group"],
            "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0fedcba9876543210",
            &["module.network.aws_security_group.db"],
            net,
        ),
        (
            &["aws_subnet"],
            "subnet-0ee55ff66aa77bb88",
            &["module.network.aws_subnet.private[1]"],
            net,
        ),
        (
            &["aws_instance"],
            "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc1234def567890",
            &["aws_instance.app"],
            net,
        ),
        (
            &["aws_iam_role", "aws_iam_role_policy"],
            "app-runtime",
            &["aws_iam_role.app_runtime", "aws_iam_role_policy.app_runtime_logs"],
            data,
        ),
        (
            &["aws_iam_role_policy", "aws_iam_role"],
            "app-runtime",
            &["aws_iam_role_policy.app_runtime_logs", "aws_iam_role.app_runtime"],
            data,
        ),
        (
            &["aws_iam_role", "aws_iam_role_policy"],
            "arn:aws:iam::123456789012:role/app-runtime",
            &["aws_iam_role.app_runtime"],
            data,
        ),
        (
            &bucket_types,
            "acme-prod-artifacts",
            &[
                "aws_s3_bucket.artifacts",
                "aws_s3_bucket_public_access_block.artifacts",
                "aws_s3_bucket_versioning.artifacts",
            ],
            data,
        ),
        (
            &bucket_types,
            "arn:aws:s3:::acme-prod-artifacts",
            &["aws_s3_bucket.artifacts"],
            data,
        ),
        (
            &["aws_sqs_queue"],
            "https://sqs.eu-west-1.amazonaws.com/123456789012/orders",
            &["aws_sqs_queue.jobs[\"orders\"]"],
            data,
        ),
        (&["aws_sqs_queue"], "emails", &["aws_sqs_queue.jobs[\"emails\"]"], data),
        (&["aws_db_instance"], "acme-prod-db", &["aws_db_instance.main"], data),
        (
            &["aws_lambda_function"],
            "orders-api",
            &["aws_lambda_function.api"],
            data,
        ),
        (&["aws_instance"], "sg-0123456789abcdef0", &[], net),
        (&["aws_iam_role"], "arn:aws:s3:::acme-prod-artifacts", &[], data),
        (&["aws_security_group"], "sg-0000000000000000", &[], net),
        (&["aws_security_group"], "", &[], net),
    ];
    for (types, id, want, origin) in cases {
        check_find(&inv, types, id, want, origin);
    }
}

#[test]
fn sensitive_values_are_redacted() {
    let inv = samples();
    let db = inv.find(&["aws_db_instance"], "acme-prod-db");
    assert_eq!(db.len(), 1);
    assert_eq!(db[0].str_attr("password"), Some(REDACTED));
    assert_eq!(
        db[0].str_attr("username"),
        Some("orders_admin"),
        "other attributes are kept"
    );
    let shown = format!("{inv:?}");
    assert!(!shown.contains(DB_PASSWORD), "the password leaks through Debug");
    assert!(shown.contains("orders_admin"));
}

/// Loads a synthetic v4 state of one managed resource and returns its attributes.
fn load_one(attributes: Value, sensitive: Value) -> (Inventory, String) {
    let state = json!({
        "version": 4,
        "terraform_version": "0.12.31",
        "serial": 1,
        "resources": [{
            "mode": "managed", "type": "aws_db_instance", "name": "x",
            "instances": [{ "attributes": attributes, "sensitive_attributes": sensitive }]
        }]
    });
    let mut inv = Inventory::new();
    inv.add_state("synthetic.tfstate", state.to_string().as_bytes())
        .expect("loads");
    let shown = format!("{inv:?}");
    (inv, shown)
}

#[test]
fn listed_and_well_known_secrets_are_redacted() {
    let (inv, shown) = load_one(
        json!({ "id": "db", "password": "hunter2-pw", "master_password": "hunter2-mpw", "custom_token_field": "hunter2-custom", "kept": "visible", "token": null }),
        json!([[{ "type": "get_attr", "value": "custom_token_field" }]]),
    );
    let d = &inv.resources().next().expect("one resource");
    for name in ["password", "master_password", "custom_token_field"] {
        assert_eq!(d.str_attr(name), Some(REDACTED), "{name}");
    }
    assert_eq!(d.attributes.get("token"), Some(&Value::Null), "null stays null");
    assert_eq!(d.str_attr("kept"), Some("visible"));
    assert!(!shown.contains("hunter2"), "a secret leaks through Debug: {shown}");

    let (inv, shown) = load_one(
        json!({ "id": "db", "master_user_secret": [{ "secret_arn": "arn:secret-hunter2" }] }),
        json!([[{ "type": "get_attr", "value": "master_user_secret" }, { "type": "index", "value": { "value": 0, "type": "number" } }]]),
    );
    assert_eq!(
        inv.resources()
            .next()
            .expect("one resource")
            .str_attr("master_user_secret"),
        Some(REDACTED),
        "a nested path redacts its top attribute"
    );
    assert!(!shown.contains("hunter2"));
}

/// Adds a bad state to an inventory already holding the samples and checks the error and that
/// nothing was added.
fn check_bad(name: &str, bytes: &[u8], want: &dyn Fn(&StateError) -> bool, needles: &[&str]) {
    let mut inv = samples();
    let (len, states) = (inv.len(), inv.states().len());
    let err = inv.add_state(name, bytes).expect_err("a bad state fails");
    assert!(want(&err), "{name}: {err:?}");
    let msg = err.to_string();
    for needle in std::iter::once(&name).chain(needles) {
        assert!(msg.contains(needle), "{name}: {msg:?} should mention {needle:?}");
    }
    assert_eq!(
        (inv.len(), inv.states().len()),
        (len, states),
        "{name}: a failed load adds nothing"
    );
}

#[test]
fn bad_states_fail_clearly_and_add_nothing() {
    let bad = workspace().join("tests/data/bad");
    let json_err = |e: &StateError| matches!(e, StateError::Json { .. });
    check_bad(
        "truncated.tfstate",
        &read(&bad.join("truncated.tfstate")),
        &json_err,
        &["malformed Terraform state", "line"],
    );
    check_bad(
        "version3.tfstate",
        &read(&bad.join("version3.tfstate")),
        &|e| matches!(e, StateError::Version { version: 3, .. }),
        &["version 3"],
    );
    check_bad(
        "five.tfstate",
        br#"{"version": 5, "resources": []}"#,
        &|e| matches!(e, StateError::Version { version: 5, .. }),
        &["version 5"],
    );
    check_bad("no-version.tfstate", br#"{"resources": []}"#, &json_err, &["version"]);
    check_bad("garbage.tfstate", b"\x00\xffnot json", &json_err, &[]);
    check_bad("empty.tfstate", b"", &json_err, &[]);
    let mut empty = Inventory::new();
    let info = empty
        .add_state("minimal.tfstate", br#"{"version": 4}"#)
        .expect("a minimal v4 state loads");
    assert_eq!((info.resources, info.data_sources), (0, 0));
    assert!(empty.is_empty());
}

/// One bad state among good ones: the good ones load, the bad one is named, and its last good
/// version stands in for it when there is one.
#[test]
fn one_bad_state_does_not_blind_the_others() {
    use driftguard_core::inventory::{load_states, StateSource};
    let dir = events_dir().join("terraform");
    let (network, data) = (read(&dir.join("network.tfstate")), read(&dir.join("data.tfstate")));
    let truncated = read(&workspace().join("tests/data/bad/truncated.tfstate"));
    let loaded = load_states([
        StateSource {
            origin: "s3://st/network.tfstate",
            current: &network,
            last_good: None,
        },
        StateSource {
            origin: "s3://st/data.tfstate",
            current: &truncated,
            last_good: None,
        },
    ]);
    assert_eq!(loaded.inventory.states().len(), 1, "the good state loads");
    assert_eq!(loaded.current_ok, ["s3://st/network.tfstate"]);
    assert_eq!(loaded.failed.len(), 1);
    assert!(!loaded.failed[0].kept_last_good);
    let msg = loaded.failed[0].error.to_string();
    assert!(
        msg.contains("s3://st/data.tfstate") && msg.contains("malformed"),
        "{msg}"
    );

    // A later bad version of a state that loaded before: the last good version stays.
    let loaded = load_states([
        StateSource {
            origin: "s3://st/network.tfstate",
            current: &network,
            last_good: Some(&network),
        },
        StateSource {
            origin: "s3://st/data.tfstate",
            current: &truncated,
            last_good: Some(&data),
        },
    ]);
    assert_eq!(loaded.inventory.states().len(), 2, "both states are known");
    assert!(loaded.failed[0].kept_last_good);
    assert_eq!(loaded.inventory.len(), samples().len(), "as if nothing broke");
}

/// Each corpus file's name and how loading it went (resources read, or the error).
type Outcomes = Vec<(String, Result<usize, StateError>)>;

/// Loads every state of a corpus folder into one inventory, catching panics per file.
/// Returns the inventory and each file's outcome.
fn load_corpus(dir: &Path) -> (Inventory, Outcomes) {
    let mut inv = Inventory::new();
    let mut outcomes = Vec::new();
    for path in files(dir, &|p| {
        let n = file_name(p);
        n.ends_with(".tfstate") || n.ends_with(".json")
    }) {
        let name = path.strip_prefix(dir).expect("under dir").display().to_string();
        let bytes = read(&path);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            inv.add_state(&name, &bytes).map(|info| info.resources)
        }))
        .unwrap_or_else(|_| panic!("{name}: loading panicked"));
        if let Err(e) = &result {
            assert!(
                e.to_string().starts_with(&name),
                "{name}: the error names the file: {e}"
            );
        }
        outcomes.push((name, result));
    }
    (inv, outcomes)
}

/// Managed resource instances in a state, read as plain JSON.
fn managed_instances(bytes: &[u8]) -> usize {
    let state: Value = serde_json::from_slice(bytes).expect("state is JSON");
    state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["mode"] == "managed")
        .map(|r| r["instances"].as_array().map_or(0, Vec::len))
        .sum()
}

fn ok_count(outcomes: &Outcomes) -> usize {
    outcomes.iter().filter(|(_, r)| r.is_ok()).count()
}

#[test]
#[cfg_attr(
    driftguard_no_data,
    ignore = "needs the public corpora at ../shared/data, which are absent"
)]
fn public_states_load_or_fail_cleanly() {
    let root = corpora("public_states_load_or_fail_cleanly");
    for folder in ["tfstate-driftctl", "tfstate-inframap", "tfstate-tfstate-lookup"] {
        let (inv, outcomes) = load_corpus(&root.join(folder));
        let errors: Vec<String> = outcomes
            .iter()
            .filter_map(|(_, r)| r.as_ref().err().map(ToString::to_string))
            .collect();
        println!(
            "{folder}: {} files, {} loaded, {} resources, {} errors",
            outcomes.len(),
            ok_count(&outcomes),
            inv.len(),
            errors.len()
        );
        for e in &errors {
            println!("    {e}");
        }
        assert_eq!(
            inv.states().len(),
            ok_count(&outcomes),
            "{folder}: one StateInfo per loaded file"
        );
        assert_eq!(
            inv.len(),
            outcomes.iter().filter_map(|(_, r)| r.as_ref().ok()).sum::<usize>()
        );
    }
}

#[test]
#[cfg_attr(
    driftguard_no_data,
    ignore = "needs the public corpora at ../shared/data, which are absent"
)]
fn every_driftctl_v4_state_loads() {
    let root = corpora("every_driftctl_v4_state_loads");
    let (inv, outcomes) = load_corpus(&root.join("tfstate-driftctl"));
    for (name, result) in &outcomes {
        let is_state = name.ends_with(".tfstate");
        match result {
            Ok(_) => assert!(is_state, "{name}: driftctl's golden results are not states"),
            Err(e) => assert!(!is_state, "{name}: {e}"),
        }
    }
    let loaded = ok_count(&outcomes);
    assert!(loaded >= 70, "only {loaded} driftctl states loaded");
    // Counted independently of the inventory: managed instances in every state file.
    let managed: usize = files(&root.join("tfstate-driftctl"), &|p| file_name(p).ends_with(".tfstate"))
        .iter()
        .map(|p| managed_instances(&read(p)))
        .sum();
    assert_eq!(inv.len(), managed, "every managed instance is loaded");
    let shown = format!("{inv:?}");
    for secret in ["foobarbaz", "bar12345678"] {
        assert!(
            !shown.contains(secret),
            "a 0.12-era password ({secret}) leaks through Debug"
        );
    }
}

#[test]
#[cfg_attr(
    driftguard_no_data,
    ignore = "needs the public corpora at ../shared/data, which are absent"
)]
fn inframap_states_by_version() {
    let root = corpora("inframap_states_by_version");
    let (_, outcomes) = load_corpus(&root.join("tfstate-inframap"));
    let version = |name: &str| {
        outcomes
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} is in the corpus"))
            .1
            .as_ref()
            .err()
            .and_then(|e| match e {
                StateError::Version { version, .. } => Some(*version),
                StateError::Json { .. } | StateError::TooManyInstances { .. } => None,
            })
    };
    assert_eq!(version("generate__version_3_state.json"), Some(3));
    assert_eq!(version("generate__invalid_version_state.json"), Some(2));
    assert!(ok_count(&outcomes) >= 8, "the v4 states load");
}
