//! The Slack functions' ledger on DynamoDB (moto, through the real SDK client), held to the same
//! behaviour as the in-memory ledger: delivery claims (fresh, busy, done, released, lease taken
//! over), message references, burst groups, idempotent digest queues, decisions recorded once
//! per finding + action + user (the first settling decision wins) and read back, signatures
//! accepted once; and every Slack item kept off the findings' partition (`FINDING#`), so the
//! Slack roles' `dynamodb:LeadingKeys` can exclude it.

use driftguard_aws::DynamoLedger;
use driftguard_core::conformance::sample_finding;
use driftguard_core::interaction::{Action, Decision, DecisionLedger, Recorded};
use driftguard_core::notify::{Claim, DigestItem, Group, MemoryLedger, MessageRef, NotifyLedger};
use driftguard_core::remediation::Requester;
use driftguard_core::score::Severity;
use driftguard_core::time::Timestamp;
use driftguard_tests::stack::{Stack, TABLE};

/// Runs the same script against a ledger; returns what it observed.
async fn script<L>(ledger: &L) -> Vec<String>
where
    L: NotifyLedger + DecisionLedger,
    <L as NotifyLedger>::Error: std::fmt::Debug,
    <L as DecisionLedger>::Error: std::fmt::Debug,
{
    let mut seen = Vec::new();
    let t = |s: i64| Timestamp(1_795_165_337_000 + s * 1000);
    let key = "dg-1500731b7ee4b0bc:detected";
    seen.push(format!("{:?}", ledger.begin(key, t(0)).await.expect("begin")));
    seen.push(format!("{:?}", ledger.begin(key, t(1)).await.expect("busy")));
    ledger.release(key).await.expect("release");
    seen.push(format!("{:?}", ledger.begin(key, t(2)).await.expect("again")));
    ledger.finish(key, t(3)).await.expect("finish");
    seen.push(format!("{:?}", ledger.begin(key, t(4)).await.expect("done")));
    ledger.release(key).await.expect("release a done claim does nothing");
    seen.push(format!("{:?}", ledger.begin(key, t(5)).await.expect("still done")));
    let abandoned = "dg-2:detected";
    seen.push(format!("{:?}", ledger.begin(abandoned, t(0)).await.expect("claim")));
    seen.push(format!(
        "{:?}",
        ledger.begin(abandoned, t(121)).await.expect("lease expired")
    ));

    let m = MessageRef {
        channel: "C0SECURITY".into(),
        ts: "1700000000.000100".into(),
    };
    seen.push(format!("{:?}", ledger.message("dg-1").await.expect("none")));
    ledger.save_message("dg-1", &m).await.expect("save");
    seen.push(format!("{:?}", ledger.message("dg-1").await.expect("some")));

    let f = sample_finding("ev-1", "sg-1", 100, Severity::Major);
    let group = Group {
        key: "grp-1".into(),
        message: m.clone(),
        findings: vec![f.clone()],
        last_at: f.call.time,
    };
    ledger.save_group(&group).await.expect("save group");
    let back = ledger.group("grp-1").await.expect("group").expect("stored");
    seen.push(format!("group {} {}", back.findings.len(), back == group));

    let a = DigestItem::new("dg-a:detected", &f, t(10));
    let b = DigestItem::new("dg-b:detected", &f, t(5));
    ledger.enqueue("C0DEFAULT", &a).await.expect("enqueue");
    ledger.enqueue("C0DEFAULT", &b).await.expect("enqueue");
    ledger.enqueue("C0DEFAULT", &a).await.expect("enqueue again");
    let queued: Vec<String> = ledger
        .queued("C0DEFAULT")
        .await
        .expect("queued")
        .into_iter()
        .map(|i| i.key)
        .collect();
    seen.push(format!("queued {queued:?}"));
    ledger
        .dequeue("C0DEFAULT", &["dg-b:detected".into()])
        .await
        .expect("dequeue");
    let queued: Vec<String> = ledger
        .queued("C0DEFAULT")
        .await
        .expect("queued")
        .into_iter()
        .map(|i| i.key)
        .collect();
    seen.push(format!("queued {queued:?}"));

    let d = Decision {
        finding_id: "dg-1".into(),
        action: Action::Revert,
        by: Requester {
            source: "slack".into(),
            user: "U0ALICE".into(),
        },
        user_name: Some("alice".into()),
        at: t(20),
        message: Some(m),
    };
    let mut ack = d.clone();
    ack.action = Action::Acknowledge;
    ack.at = t(10);
    let mut later = d.clone();
    later.at = t(25);
    let mut bob = d.clone();
    bob.action = Action::Reapply;
    bob.by.user = "U0BOB".into();
    let short = |r: Recorded| match r {
        Recorded::New => "new".to_owned(),
        Recorded::Repeat { published } => format!("repeat published={published}"),
        Recorded::Taken(by) => format!("taken by {} {}", by.by.user, by.action.as_str()),
    };
    seen.push(format!("record {}", short(ledger.record(&d).await.expect("record"))));
    seen.push(format!(
        "record {}",
        short(ledger.record(&d).await.expect("record again"))
    ));
    seen.push(format!(
        "record {}",
        short(ledger.record(&later).await.expect("a repeat click"))
    ));
    ledger.mark_published(&later).await.expect("mark published");
    seen.push(format!(
        "record {}",
        short(ledger.record(&later).await.expect("after publishing"))
    ));
    seen.push(format!(
        "record {}",
        short(ledger.record(&bob).await.expect("another settling"))
    ));
    seen.push(format!(
        "record {}",
        short(ledger.record(&ack).await.expect("record ack"))
    ));
    let decisions = ledger.decisions("dg-1").await.expect("decisions");
    seen.push(format!(
        "decisions {:?} {}",
        decisions.iter().map(|d| d.action.as_str()).collect::<Vec<_>>(),
        decisions.contains(&d)
    ));
    seen.push(format!(
        "record {}",
        short(ledger.record(&ack).await.expect("ack again"))
    ));
    let first = ledger.decisions("dg-1").await.expect("decisions");
    seen.push(format!(
        "first at kept {}",
        first.iter().any(|x| x.at == d.at && x.action == Action::Revert)
    ));
    let far = Timestamp(i64::MAX / 4);
    seen.push(format!(
        "first {}",
        ledger.first_use("v0=abc", far).await.expect("first")
    ));
    seen.push(format!(
        "first {}",
        ledger.first_use("v0=abc", far).await.expect("replay")
    ));
    seen
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    driftguard_no_moto,
    ignore = "needs moto_server (pip install \"moto[server]\"), which is not installed"
)]
async fn the_dynamodb_ledger_behaves_like_the_memory_ledger() {
    let expected = vec![
        "Fresh",
        "Busy",
        "Fresh",
        "Done",
        "Done",
        "Fresh",
        "Fresh",
        "None",
        "Some(MessageRef { channel: \"C0SECURITY\", ts: \"1700000000.000100\" })",
        "group 1 true",
        "queued [\"dg-b:detected\", \"dg-a:detected\"]",
        "queued [\"dg-a:detected\"]",
        "record new",
        "record repeat published=false",
        "record repeat published=false",
        "record repeat published=true",
        "record taken by U0ALICE revert",
        "record new",
        "decisions [\"acknowledge\", \"revert\"] true",
        "record repeat published=true",
        "first at kept true",
        "first true",
        "first false",
    ];
    assert_eq!(script(&MemoryLedger::default()).await, expected, "the memory ledger");
    let _ = Claim::Fresh;
    let Some(stack) = Stack::start("the_dynamodb_ledger_behaves_like_the_memory_ledger").await else {
        return;
    };
    let ledger = DynamoLedger::new(aws_sdk_dynamodb::Client::new(&stack.sdk), TABLE);
    assert_eq!(script(&ledger).await, expected, "the DynamoDB ledger");
    // No Slack item under a finding's partition: the Slack roles never write `FINDING#` keys.
    use driftguard_core::ports::{FindingStore, Query};
    assert!(stack.store().list(&Query::default()).await.expect("list").is_empty());
    let scan = aws_sdk_dynamodb::Client::new(&stack.sdk)
        .scan()
        .table_name(TABLE)
        .send()
        .await
        .expect("scan");
    let mut prefixes: Vec<String> = scan
        .items()
        .iter()
        .filter_map(|i| i.get("pk").and_then(|v| v.as_s().ok()))
        .map(|pk| pk.split('#').next().unwrap_or_default().to_owned())
        .collect();
    prefixes.sort();
    prefixes.dedup();
    assert_eq!(
        prefixes,
        ["DECISION", "DIGEST", "SLACK", "SLACKGROUP", "SLACKMSG", "SLACKREQ"],
        "the Slack items' partition keys"
    );
}

/// Labels and fitted weights on the table keep the learning store's contract, like the
/// embedded and in-memory stores; labels sit with the finding's decisions, weights under their
/// own partition.
#[tokio::test]
#[cfg_attr(
    driftguard_no_moto,
    ignore = "needs moto_server (pip install \"moto[server]\"), which is not installed"
)]
async fn the_dynamodb_table_keeps_labels_and_weights_versions() {
    let Some(stack) = Stack::start("the_dynamodb_table_keeps_labels_and_weights_versions").await else {
        return;
    };
    let ledger = DynamoLedger::new(aws_sdk_dynamodb::Client::new(&stack.sdk), TABLE);
    driftguard_core::learn::ports::check_learning_store(&ledger).await;
    let scan = aws_sdk_dynamodb::Client::new(&stack.sdk)
        .scan()
        .table_name(TABLE)
        .send()
        .await
        .expect("scan");
    let mut keys: Vec<String> = scan
        .items()
        .iter()
        .map(|i| {
            let get = |k: &str| i.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            format!("{} {}", get("pk"), get("sk"))
        })
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "DECISION#dg-a LABEL#slack:U1",
            "DECISION#dg-a LABEL#slack:U2",
            "DECISION#dg-b LABEL#slack:U1",
            "WEIGHTS#likelihood CURRENT",
            "WEIGHTS#likelihood V#000001",
            "WEIGHTS#likelihood V#000002",
        ]
    );
}
