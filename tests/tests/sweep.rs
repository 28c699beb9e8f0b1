//! The reconcile sweep's AWS Config reader against moto's server: listing pages, batch reads of
//! the items in Config's base shape, and what core makes of them.

use driftguard_aws::ConfigReader;
use driftguard_core::sweep::{Listed, Scope};
use driftguard_tests::estate;
use driftguard_tests::fault::FaultProxy;
use driftguard_tests::runtime_api::{ACCOUNT_ID, REGION};
use driftguard_tests::stack::Stack;

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(driftguard_no_moto, ignore = "needs moto_server (pip install moto[server]), absent")]
async fn the_config_reader_pages_through_more_buckets_than_a_page_and_reads_each_item() {
    let Some(stack) =
        Stack::start("the_config_reader_pages_through_more_buckets_than_a_page_and_reads_each_item").await
    else {
        return;
    };
    estate::build(&stack.sdk, 120).await.expect("estate");
    let scope = Scope {
        account: ACCOUNT_ID.into(),
        region: REGION.into(),
    };
    // moto's item times are not in the API's wire shape: a proxy puts them back (estate.rs).
    let proxy = FaultProxy::start(&stack.moto.endpoint(), Vec::new());
    for r in estate::config_rewrites() {
        proxy.rewrite(r);
    }
    let sdk = driftguard_tests::stack::sdk_config(&proxy.endpoint()).await;
    let reader = ConfigReader::new(&sdk, scope, None);
    let mut listed: Vec<Listed> = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = reader.list("AWS::S3::Bucket", token).await.expect("list");
        pages += 1;
        assert!(page.resources.len() <= 100, "a page holds at most 100");
        listed.extend(page.resources);
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    // The state bucket, app-logs, app-data, the hand-made one and 120 fillers (app-backup is gone).
    assert_eq!(listed.len(), 124, "{listed:?}");
    assert_eq!(pages, 2);
    let refs: Vec<&Listed> = listed.iter().collect();
    let read = reader.items(&refs).await.expect("batch get");
    assert_eq!(read.items.len(), 124, "absent: {:?}", read.absent);
    assert_eq!(read.calls, 2, "100 keys per call");
    let logs = read
        .items
        .iter()
        .find(|c| c.resource_id == estate::DRIFTED)
        .expect("app-logs item");
    assert_eq!(logs.account, ACCOUNT_ID);
    let policy = &logs.item["supplementaryConfiguration"]["BucketPolicy"]["policyText"];
    assert!(
        policy
            .as_str()
            .is_some_and(|p| p.contains("\"Principal\":\"*\"") || p.contains("\"Principal\": \"*\"")),
        "{policy}"
    );
}
