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

/// The Config stand-in (tests/src/config_standin.rs) on its own, through the sweep's reader:
/// the RDK's security group and DB instance items listed a page of one at a time, read in the
/// base shape (configuration decoded, no tags, no supplementary `Tags`), an id it does not hold
/// reported absent, and the full item (tags included) read on request; a type it holds none of
/// goes upstream (nothing listens there: the call fails).
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(driftguard_no_data, ignore = "needs the public corpora at ../shared/data, absent")]
async fn the_config_stand_in_serves_the_rdk_items_in_the_api_shapes_the_reader_reads() {
    use driftguard_tests::config_standin::{rdk_item, renamed, ConfigStandIn};
    use serde_json::json;
    let Some(data) = driftguard_tests::corpora::shared_data(
        "the_config_stand_in_serves_the_rdk_items_in_the_api_shapes_the_reader_reads",
        "the Config stand-in's shapes are not checked",
    ) else {
        return;
    };
    let sg = rdk_item(&data, "AWS_EC2_SecurityGroup.json", ACCOUNT_ID, REGION).expect("the RDK's group");
    let db = rdk_item(&data, "AWS_RDS_DBInstance.json", ACCOUNT_ID, REGION).expect("the RDK's instance");
    let copy = renamed(&db, "db-7KQW2M4XZ3N5P6R8T0V2Y4A6C8", Some("scratch-copy"));
    // One of the two items that are not JSON upstream (the folder's SOURCE.md): refused, named.
    let bad = rdk_item(&data, "AWS_EC2_NetworkInterface.json", ACCOUNT_ID, REGION).expect_err("malformed upstream");
    assert!(bad.contains("AWS_EC2_NetworkInterface.json"), "{bad}");
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let upstream = format!("http://{}", dead.local_addr().expect("addr"));
    drop(dead);
    let standin = ConfigStandIn::start(&upstream, vec![sg, db, copy], 1);
    let sdk = driftguard_tests::stack::sdk_config_without_retries(&standin.endpoint()).await;
    let scope = Scope {
        account: ACCOUNT_ID.into(),
        region: REGION.into(),
    };
    let reader = ConfigReader::new(&sdk, scope, None);

    let mut listed: Vec<Listed> = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = reader.list("AWS::RDS::DBInstance", token).await.expect("list");
        pages += 1;
        assert_eq!(page.resources.len(), 1, "a page of one");
        listed.extend(page.resources);
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 2);
    let names: Vec<Option<&str>> = listed.iter().map(|l| l.resource_name.as_deref()).collect();
    assert_eq!(names, [Some("myrdstest"), Some("scratch-copy")]);
    let gone = Listed {
        resource_type: "AWS::RDS::DBInstance".into(),
        resource_id: "db-NOTHELD".into(),
        resource_name: None,
        deleted_at: None,
    };
    let mut wanted: Vec<&Listed> = listed.iter().collect();
    wanted.push(&gone);
    let read = reader.items(&wanted).await.expect("batch read");
    assert_eq!(read.calls, 1);
    assert_eq!(read.absent, ["db-NOTHELD"]);
    assert_eq!(read.items.len(), 2);
    let main = &read.items[0];
    assert_eq!(main.resource_id, "db-HHTTSRD6HXUIKXPFPI6WFVZ4PA");
    assert_eq!(
        main.arn.as_deref(),
        Some("arn:aws:rds:eu-west-1:123456789012:db:myrdstest")
    );
    assert_eq!((main.account.as_str(), main.region.as_str()), (ACCOUNT_ID, REGION));
    assert_eq!(main.capture_time.to_string(), "2016-10-20T23:42:01.525Z");
    assert_eq!(main.item["configuration"]["dBInstanceClass"], json!("db.m3.xlarge"));
    assert_eq!(main.item["configuration"]["publiclyAccessible"], json!(true));
    assert!(main.item.get("tags").is_none(), "the batch read returns no tags");
    assert_eq!(
        main.item["supplementaryConfiguration"],
        json!({}),
        "nor the supplementary Tags"
    );
    assert_eq!(read.items[1].resource_name.as_deref(), Some("scratch-copy"));

    let full = reader
        .full_item(&read.items[1])
        .await
        .expect("history")
        .expect("an item");
    assert_eq!(full.item["tags"], json!({"workload-type": "production"}));
    assert_eq!(
        full.item["supplementaryConfiguration"]["Tags"][0]["key"],
        json!("workload-type")
    );
    let mut unknown = read.items[1].clone();
    unknown.resource_id = "db-NOTHELD".into();
    assert!(
        reader.full_item(&unknown).await.expect("history").is_none(),
        "not discovered"
    );
    assert_eq!(standin.answered("GetResourceConfigHistory"), 2);

    assert!(
        reader.list("AWS::S3::Bucket", None).await.is_err(),
        "other types go upstream"
    );
    assert_eq!(standin.forwarded("ListDiscoveredResources"), 1);
}
