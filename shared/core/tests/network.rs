//! Network changes by hand on IaC-managed route tables and network ACLs: ACL entries, routes and
//! subnet associations are compared with the declared blocks and child resources
//! (`aws_network_acl_rule`, `aws_route`, `aws_route_table_association`). Opening a sensitive port
//! to the internet in an ACL, or routing a private table's traffic to an internet gateway, is
//! critical. Requests follow the shapes CloudTrail records (Panther's and StreamAlert's rule tests
//! in ../shared/data).

mod common;

use common::evaluate::{self, change, cli_call, pipeline_over};
use driftguard_core::finding::Finding;
use driftguard_core::score::Severity;
use serde_json::{json, Value};

const ACL: &str = "acl-0b1c2d3e4f5a6b7c8";
const TABLE: &str = "rtb-0c1d2e3f4a5b6c7d8";

fn declared_ingress() -> Vec<&'static str> {
    vec![
        "100 allow tcp 443 10.0.0.0/16",
        "110 allow tcp 1024-65535 0.0.0.0/0",
        "50 deny all * 198.51.100.0/24",
    ]
}

fn finding(name: &str, request: Value) -> Finding {
    let pipeline = pipeline_over(&["shared/core/tests/data/network/vpc.tfstate"]);
    let response = json!({"requestId": "5c8a2b1e-0d3f-4a6b-9c7e-1f2a3b4c5d6e", "_return": true});
    evaluate::finding(evaluate::outcome(
        &pipeline,
        &cli_call("ec2.amazonaws.com", name, request, response),
    ))
}

#[test]
fn an_acl_entry_opening_everything_to_the_internet_is_critical() {
    let f = finding(
        "CreateNetworkAclEntry",
        json!({"networkAclId": ACL, "ruleNumber": 90, "egress": false, "ruleAction": "allow", "icmpTypeCode": {}, "portRange": {"from": -1, "to": -1}, "aclProtocol": "-1", "cidrBlock": "0.0.0.0/0"}),
    );
    let c = change(&f, "ingress");
    assert_eq!(c.expected, json!(declared_ingress()));
    let mut found = declared_ingress();
    found.push("90 allow all * 0.0.0.0/0");
    found.sort();
    assert_eq!(c.found, json!(found));
    assert_eq!(f.severity, Severity::Critical, "{:?}", f.severity_reasons);
    assert!(
        f.severity_reasons
            .iter()
            .any(|r| r.contains("90 allow all * 0.0.0.0/0")),
        "{:?}",
        f.severity_reasons
    );
}

#[test]
fn replacing_and_deleting_declared_acl_entries_is_drift_without_exposure() {
    // Narrowing the HTTPS entry to one host.
    let f = finding(
        "ReplaceNetworkAclEntry",
        json!({"networkAclId": ACL, "ruleNumber": 100, "egress": false, "ruleAction": "allow", "icmpTypeCode": {}, "portRange": {"from": 443, "to": 443}, "aclProtocol": "6", "cidrBlock": "10.0.1.10/32"}),
    );
    let c = change(&f, "ingress");
    assert!(c
        .found
        .as_array()
        .expect("list")
        .contains(&json!("100 allow tcp 443 10.0.1.10/32")));
    assert!(!c
        .found
        .as_array()
        .expect("list")
        .contains(&json!("100 allow tcp 443 10.0.0.0/16")));
    assert!(f.severity < Severity::Critical, "{:?}", f.severity_reasons);

    // Dropping the declared deny rule (an aws_network_acl_rule of its own).
    let f = finding(
        "DeleteNetworkAclEntry",
        json!({"networkAclId": ACL, "ruleNumber": 50, "egress": false}),
    );
    let c = change(&f, "ingress");
    assert!(!c
        .found
        .as_array()
        .expect("list")
        .iter()
        .any(|e| e.as_str().is_some_and(|e| e.starts_with("50 "))));
    assert_eq!(c.declared_in.as_deref(), Some("aws_network_acl_rule.deny_bad_actor"));
}

#[test]
fn a_deny_entry_exposes_nothing() {
    let f = finding(
        "CreateNetworkAclEntry",
        json!({"networkAclId": ACL, "ruleNumber": 40, "egress": false, "ruleAction": "deny", "icmpTypeCode": {}, "portRange": {"from": -1, "to": -1}, "aclProtocol": "-1", "cidrBlock": "0.0.0.0/0"}),
    );
    assert!(change(&f, "ingress").drifted);
    assert!(f.severity < Severity::Critical, "{:?}", f.severity_reasons);
}

#[test]
fn a_default_route_to_an_internet_gateway_on_a_private_table_is_critical() {
    let f = finding(
        "ReplaceRoute",
        json!({"routeTableId": TABLE, "destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-0d1e2f3a4b5c6d7e8"}),
    );
    let c = change(&f, "routes");
    assert_eq!(
        c.expected,
        json!([
            "0.0.0.0/0 via nat-0a1b2c3d4e5f60718",
            "172.31.0.0/16 via pcx-0f1e2d3c4b5a69788"
        ])
    );
    assert_eq!(
        c.found,
        json!([
            "0.0.0.0/0 via igw-0d1e2f3a4b5c6d7e8",
            "172.31.0.0/16 via pcx-0f1e2d3c4b5a69788"
        ])
    );
    assert_eq!(f.severity, Severity::Critical, "{:?}", f.severity_reasons);
    assert!(
        f.severity_reasons.iter().any(|r| r.contains("to the internet")),
        "{:?}",
        f.severity_reasons
    );
}

#[test]
fn a_route_added_or_removed_by_hand_names_the_route() {
    // Panther's shape: a new route through a gateway.
    let f = finding(
        "CreateRoute",
        json!({"routeTableId": TABLE, "destinationCidrBlock": "192.168.0.0/16", "gatewayId": "vgw-0a9b8c7d6e5f40312"}),
    );
    assert!(change(&f, "routes")
        .found
        .as_array()
        .expect("list")
        .contains(&json!("192.168.0.0/16 via vgw-0a9b8c7d6e5f40312")));

    let f = finding(
        "DeleteRoute",
        json!({"routeTableId": TABLE, "destinationCidrBlock": "172.31.0.0/16"}),
    );
    let c = change(&f, "routes");
    assert_eq!(c.found, json!(["0.0.0.0/0 via nat-0a1b2c3d4e5f60718"]));
    assert_eq!(c.declared_in.as_deref(), Some("aws_route.peering"));
}

#[test]
fn a_subnet_associated_by_hand_is_drift() {
    let f = finding(
        "AssociateRouteTable",
        json!({"routeTableId": TABLE, "subnetId": "subnet-0ee55ff66aa77bb88"}),
    );
    let c = change(&f, "associations");
    assert_eq!(c.expected, json!(["subnet-0aa11bb22cc33dd44"]));
    assert_eq!(c.found, json!(["subnet-0aa11bb22cc33dd44", "subnet-0ee55ff66aa77bb88"]));
    assert!(c.drifted);
}
