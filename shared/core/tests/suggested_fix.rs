//! The suggested fix targets the declarations that hold the drifted values: a bucket's public
//! access block and versioning are resources of their own in Terraform, and applying the bucket
//! would not restore them.

mod common;

use common::{events_dir, read, workspace};
use driftguard_core::attribution::AttributionConfig;
use driftguard_core::decode::{decode, Item, Position};
use driftguard_core::inventory::Inventory;
use driftguard_core::pipeline::{Outcome, Pipeline};

fn fix_for(event: &str) -> String {
    let mut inventory = Inventory::new();
    for name in ["network.tfstate", "data.tfstate"] {
        inventory
            .add_state(name, &read(&workspace().join("events/terraform").join(name)))
            .expect("state loads");
    }
    let pipeline = Pipeline::new(&AttributionConfig::default(), inventory);
    let mut fix = None;
    decode(&read(&events_dir().join(event)), event, &mut |_: &Position,
                                                          item: Result<
        Item<'_>,
        _,
    >| {
        match pipeline.evaluate(&item.expect("decodes")).outcome {
            Outcome::Finding(f) => fix = Some(f.fix.clone()),
            other => panic!("{event}: expected a finding, got {other:?}"),
        }
    });
    fix.expect("one item")
}

#[test]
fn the_fix_targets_the_declaration_holding_the_drifted_value() {
    for (event, target) in [
        (
            "cloudtrail/s3-put-bucket-public-access-block.console-sso.json",
            "-target='aws_s3_bucket_public_access_block.artifacts'",
        ),
        (
            "cloudtrail/s3-put-bucket-versioning.cli-user.json",
            "-target='aws_s3_bucket_versioning.artifacts'",
        ),
        (
            "cloudtrail/ec2-authorize-security-group-ingress.console-sso.json",
            "-target='module.network.aws_security_group.web'",
        ),
    ] {
        let fix = fix_for(event);
        assert!(fix.contains(&format!("terraform apply {target}`")), "{event}: {fix}");
    }
}
