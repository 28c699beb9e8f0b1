//! The resource catalog, row by row: every entry of `catalog::ENTRIES`, and every id path of
//! every entry, is fed a CloudTrail record built so that only that path holds an id; the record
//! goes through the real decoder and `Catalog::resolve` must name the entry's resource type and
//! that id. Also: the table's shape (size, unique keys, names keyed by source) and the two ways
//! resolution misses.

use driftguard_core::catalog::{Catalog, Entry, IdPath, Miss, EC2_ID_PREFIXES, EC2_TAGGED, ENTRIES};
mod common;

use common::record;
use driftguard_core::decode::{decode, Item};
use serde_json::{json, Map, Value};
use std::collections::HashSet;

/// What `Catalog::resolve` answered, owned so it can leave the decoder's callback.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Resolved {
    /// `(eventSource, eventName)` of the row that matched.
    row: (&'static str, &'static str),
    resource_type: &'static str,
    terraform: Vec<&'static str>,
    id: String,
}

/// Decodes `record` (one bare CloudTrail record) and resolves its call against the catalog.
fn resolve(record: &Value) -> Result<Resolved, Miss> {
    let bytes = serde_json::to_vec(record).expect("a record serialises");
    let catalog = Catalog::new();
    let mut out = Vec::new();
    decode(&bytes, "catalog-test", &mut |_, item| match item {
        Ok(Item::Api { call, .. }) => out.push(catalog.resolve(&call).map(|t| Resolved {
            row: (t.entry.source, t.entry.name),
            resource_type: t.resource_type,
            terraform: t.terraform.to_vec(),
            id: t.id.into_owned(),
        })),
        other => panic!("expected one API call from {record}, got {other:?}"),
    });
    assert_eq!(out.len(), 1, "one record in, one call out: {record}");
    out.remove(0)
}

/// A JSON value holding `leaf` at the dot path `path`; numeric segments index arrays.
fn nest(path: &str, leaf: Value) -> Value {
    path.rsplit('.')
        .fold(leaf, |inner, segment| match segment.parse::<usize>() {
            Ok(index) => {
                let mut items = vec![Value::Null; index];
                items.push(inner);
                Value::Array(items)
            }
            Err(_) => json!({ segment: inner }),
        })
}

/// A record of `entry`'s call whose only id is `id`, placed at `path`.
fn record_with_id(entry: &Entry, path: IdPath, id: &str) -> Value {
    let fields = match path {
        IdPath::Request(p) => json!({ "requestParameters": nest(p, json!(id)) }),
        IdPath::Response(p) => json!({ "responseElements": nest(p, json!(id)) }),
        IdPath::Resources(t) => json!({ "resources": [{ "ARN": id, "type": t, "accountId": "123456789012" }] }),
    };
    record(entry.source, entry.name, fields)
}

/// The ids a path is tested with, each with the resource type and Terraform types expected:
/// the entry's own for ordinary rows; one per EC2 id prefix for the EC2 tag rows.
fn cases(entry: &Entry, path: IdPath, tag: &str) -> Vec<(String, &'static str, Vec<&'static str>)> {
    let id = match path {
        IdPath::Resources(_) => format!("arn:aws:test:eu-west-1:123456789012:thing/{tag}"),
        _ => format!("id-{tag}"),
    };
    if entry.resource_type == EC2_TAGGED {
        EC2_ID_PREFIXES
            .iter()
            .map(|(prefix, t, tf)| (format!("{prefix}0{tag}"), *t, tf.to_vec()))
            .collect()
    } else {
        vec![(id, entry.resource_type, entry.terraform.to_vec())]
    }
}

/// Resolves a record with `id` at `path` of `entry` and checks the row, type, Terraform types and id.
fn check(entry: &Entry, path: IdPath, id: &str, want_type: &'static str, want_tf: &[&'static str]) {
    let rec = record_with_id(entry, path, id);
    let got =
        resolve(&rec).unwrap_or_else(|miss| panic!("{}/{} with {path:?}={id:?}: {miss:?}", entry.source, entry.name));
    let want = Resolved {
        row: (entry.source, entry.name),
        resource_type: want_type,
        terraform: want_tf.to_vec(),
        id: id.to_owned(),
    };
    assert_eq!(got, want, "{}/{} with {path:?}", entry.source, entry.name);
}

#[test]
fn every_row_and_every_id_path_resolves() {
    let mut asserted = 0;
    for (row, entry) in ENTRIES.iter().enumerate() {
        assert!(!entry.id.is_empty(), "{} has no id path", entry.name);
        for (k, path) in entry.id.iter().enumerate() {
            for (id, t, tf) in cases(entry, *path, &format!("{row}-{k}")) {
                check(entry, *path, &id, t, &tf);
                asserted += 1;
            }
        }
    }
    let paths: usize = ENTRIES.iter().map(|e| e.id.len()).sum();
    println!(
        "catalog: {} rows, {paths} id paths, {asserted} resolutions asserted",
        ENTRIES.len()
    );
    assert!(asserted >= paths, "every path asserted at least once");
}

#[test]
fn earlier_id_paths_win_over_later_ones() {
    for entry in ENTRIES
        .iter()
        .filter(|e| e.id.len() > 1 && e.resource_type != EC2_TAGGED)
    {
        let mut fields = Map::new();
        for (k, path) in entry.id.iter().enumerate().rev() {
            let filled = record_with_id(entry, *path, &format!("id-{k}"));
            for key in ["requestParameters", "responseElements", "resources"] {
                if let Some(v) = filled.get(key) {
                    merge(fields.entry(key).or_insert(Value::Null), v.clone());
                }
            }
        }
        let got = resolve(&record(entry.source, entry.name, Value::Object(fields)))
            .unwrap_or_else(|m| panic!("{}/{}: {m:?}", entry.source, entry.name));
        assert_eq!(
            got.id, "id-0",
            "{}/{}: with every path filled the first must win",
            entry.source, entry.name
        );
    }
}

/// Deep-merges `add` into `into` (objects key by key; anything else replaces).
fn merge(into: &mut Value, add: Value) {
    match (into, add) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

#[test]
fn table_is_large_and_keyed_by_source_and_name() {
    assert!(ENTRIES.len() >= 150, "only {} rows", ENTRIES.len());
    let mut seen = HashSet::new();
    for e in ENTRIES {
        assert!(seen.insert((e.source, e.name)), "duplicate row {}/{}", e.source, e.name);
    }
    let names: HashSet<&str> = ENTRIES.iter().map(|e| e.name).collect();
    assert!(names.len() < ENTRIES.len(), "some names are shared between services");
}

#[test]
fn shared_names_resolve_by_source() {
    // One request body carrying every service's spelling of the id; the source decides.
    let cases: &[(&str, &str, Value, &str, &str)] = &[
        (
            "dynamodb.amazonaws.com",
            "CreateTable",
            json!({"tableName": "orders", "tableInput": {"name": "orders_raw"}}),
            "AWS::DynamoDB::Table",
            "orders",
        ),
        (
            "glue.amazonaws.com",
            "CreateTable",
            json!({"tableName": "orders", "tableInput": {"name": "orders_raw"}}),
            "AWS::Glue::Table",
            "orders_raw",
        ),
        (
            "ecs.amazonaws.com",
            "CreateCluster",
            json!({"clusterName": "web", "name": "k8s", "clusterIdentifier": "dw"}),
            "AWS::ECS::Cluster",
            "web",
        ),
        (
            "eks.amazonaws.com",
            "CreateCluster",
            json!({"clusterName": "web", "name": "k8s", "clusterIdentifier": "dw"}),
            "AWS::EKS::Cluster",
            "k8s",
        ),
        (
            "redshift.amazonaws.com",
            "CreateCluster",
            json!({"clusterName": "web", "name": "k8s", "clusterIdentifier": "dw"}),
            "AWS::Redshift::Cluster",
            "dw",
        ),
        (
            "elasticloadbalancing.amazonaws.com",
            "DeleteRule",
            json!({"ruleArn": "arn:aws:elasticloadbalancing:eu-west-1:1:listener-rule/app/x", "name": "nightly"}),
            "AWS::ElasticLoadBalancingV2::ListenerRule",
            "arn:aws:elasticloadbalancing:eu-west-1:1:listener-rule/app/x",
        ),
        (
            "events.amazonaws.com",
            "DeleteRule",
            json!({"ruleArn": "arn:aws:elasticloadbalancing:eu-west-1:1:listener-rule/app/x", "name": "nightly"}),
            "AWS::Events::Rule",
            "nightly",
        ),
    ];
    let mut types = HashSet::new();
    for (source, name, request, want_type, want_id) in cases {
        let got = resolve(&record(source, name, json!({ "requestParameters": request })))
            .unwrap_or_else(|m| panic!("{source}/{name}: {m:?}"));
        assert_eq!(
            (got.resource_type, got.id.as_str()),
            (*want_type, *want_id),
            "{source}/{name}"
        );
        types.insert(got.resource_type);
    }
    assert_eq!(types.len(), cases.len(), "each source names its own type");
}

#[test]
fn misses_say_why() {
    let cases: &[(&str, &str, Value, Miss)] = &[
        (
            "example.amazonaws.com",
            "CreateWidget",
            json!({"requestParameters": {"name": "w"}}),
            Miss::UnknownCall,
        ),
        (
            "ec2.amazonaws.com",
            "DescribeInstances",
            json!({"requestParameters": {"instanceId": "i-1"}}),
            Miss::UnknownCall,
        ),
        (
            "dynamodb.amazonaws.com",
            "CreateBucket",
            json!({"requestParameters": {"bucketName": "b"}}),
            Miss::UnknownCall,
        ),
        (
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            json!({}),
            Miss::NoId,
        ),
        (
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            json!({"requestParameters": {"groupName": "web"}}),
            Miss::NoId,
        ),
        (
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            json!({"requestParameters": {"groupId": ""}}),
            Miss::NoId,
        ),
        (
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            json!({"requestParameters": {"groupId": {"x": 1}}}),
            Miss::NoId,
        ),
        (
            "s3.amazonaws.com",
            "PutBucketPolicy",
            json!({"requestParameters": null, "resources": [{"ARN": "arn:aws:s3:::b/k", "type": "AWS::S3::Object"}]}),
            Miss::NoId,
        ),
    ];
    for (source, name, fields, want) in cases {
        let got = resolve(&record(source, name, fields.clone()));
        assert_eq!(got.as_ref().err(), Some(want), "{source}/{name} {fields}: {got:?}");
    }
}

#[test]
fn ec2_tags_on_an_unknown_prefix_keep_the_placeholder_type() {
    let entry = ENTRIES
        .iter()
        .find(|e| e.source == "ec2.amazonaws.com" && e.name == "CreateTags")
        .expect("CreateTags is catalogued");
    let got = resolve(&record_with_id(entry, entry.id[0], "fpga-0123")).expect("resolves");
    assert_eq!(
        (got.resource_type, got.terraform.len(), got.id.as_str()),
        (EC2_TAGGED, 0, "fpga-0123")
    );
}
