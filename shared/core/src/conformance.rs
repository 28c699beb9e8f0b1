//! The store conformance suite: the lifecycle every [`FindingStore`] must implement the same
//! way. Each adapter's tests run [`check_store`] on a fresh store, so the embedded store and the
//! DynamoDB store cannot drift apart.

use crate::attribution::{Actor, ActorKind, Channel};
use crate::finding::{finding_id, CallInfo, Finding, FindingKind, IacChange, ResourceInfo, Status, Transition};
use crate::ports::{Change, FindingStore, Query};
use crate::score::Severity;
use crate::time::Timestamp;

/// A finding on security group `sg` made by event `event_id` at `secs` past the epoch.
pub fn sample_finding(event_id: &str, sg: &str, secs: i64, severity: Severity) -> Finding {
    let resource = ResourceInfo {
        resource_type: "AWS::EC2::SecurityGroup".into(),
        id: sg.into(),
        arn: None,
        account: "123456789012".into(),
        region: "eu-west-1".into(),
    };
    Finding {
        id: finding_id(event_id, &resource.resource_type, &resource.id),
        kind: FindingKind::Drift,
        status: Status::Open,
        resolution: None,
        owner: None,
        actor: Actor {
            kind: ActorKind::Human,
            channel: Channel::Console,
            tool: None,
            principal: None,
            role: None,
            human: Some("alice".into()),
            source_ip: None,
            user_agent: None,
            rule: "session.console-credential".into(),
        },
        call: CallInfo {
            event_id: event_id.into(),
            source: "ec2.amazonaws.com".into(),
            name: "AuthorizeSecurityGroupIngress".into(),
            time: Timestamp(secs * 1000),
        },
        resource,
        changes: Vec::new(),
        likelihood: 0.9,
        factors: Vec::new(),
        severity,
        severity_reasons: Vec::new(),
        summary: "sample".into(),
        fix: "sample".into(),
        tags: Default::default(),
    }
}

/// An IaC change on the resource of [`sample_finding`]`(_, sg, ..)` at `secs`.
pub fn sample_iac(event_id: &str, sg: &str, secs: i64) -> IacChange {
    IacChange {
        resource_key: format!("123456789012/eu-west-1/AWS::EC2::SecurityGroup/{sg}"),
        event_id: event_id.into(),
        time: Timestamp(secs * 1000),
        by: "Terraform".into(),
    }
}

fn kinds(ts: &[Transition]) -> Vec<&'static str> {
    ts.iter()
        .map(|t| match t {
            Transition::Detected(_) => "detected",
            Transition::Resolved(_) => "resolved",
        })
        .collect()
}

fn ensure(cond: bool, what: &str) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(format!("store does not conform: {what}"))
    }
}

/// Runs the suite against an empty store. Returns the first violation.
pub async fn check_store<S: FindingStore>(store: &S) -> Result<(), String> {
    let err = |e: S::Error| format!("store error: {e}");
    let a = sample_finding("ev-a", "sg-a", 100, Severity::Critical);

    // A new finding is detected once; a replay changes nothing.
    let t = store
        .apply(&[Change::Finding(Box::new(a.clone()))])
        .await
        .map_err(err)?;
    ensure(kinds(&t) == ["detected"], "first write reports one detection")?;
    let t = store
        .apply(&[Change::Finding(Box::new(a.clone()))])
        .await
        .map_err(err)?;
    ensure(t.is_empty(), "a replayed finding reports no transition")?;
    ensure(
        store.get(&a.id).await.map_err(err)?.as_ref() == Some(&a),
        "get returns the finding as written",
    )?;
    ensure(
        store.list(&Query::default()).await.map_err(err)?.len() == 1,
        "a replay does not add a second finding",
    )?;

    // A later IaC change resolves it, once.
    let t = store
        .apply(&[Change::Iac(sample_iac("ev-iac", "sg-a", 200))])
        .await
        .map_err(err)?;
    ensure(
        kinds(&t) == ["resolved"],
        "a later IaC change resolves the open finding",
    )?;
    let stored = store
        .get(&a.id)
        .await
        .map_err(err)?
        .ok_or("resolved finding disappeared")?;
    ensure(stored.status == Status::Resolved, "resolved status is stored")?;
    ensure(
        stored.resolution.as_ref().map(|r| r.event_id.as_str()) == Some("ev-iac"),
        "the resolving event is recorded",
    )?;
    let t = store
        .apply(&[Change::Iac(sample_iac("ev-iac", "sg-a", 200))])
        .await
        .map_err(err)?;
    ensure(t.is_empty(), "a replayed IaC change reports no transition")?;

    // Out of order: the manual change's event arrives after the IaC change that superseded it.
    store
        .apply(&[Change::Iac(sample_iac("ev-iac-b", "sg-b", 500))])
        .await
        .map_err(err)?;
    let late = sample_finding("ev-b-old", "sg-b", 400, Severity::Major);
    let t = store
        .apply(&[Change::Finding(Box::new(late.clone()))])
        .await
        .map_err(err)?;
    ensure(
        kinds(&t) == ["detected", "resolved"],
        "a finding older than the last IaC change is stored resolved",
    )?;
    let newer = sample_finding("ev-b-new", "sg-b", 600, Severity::Minor);
    let t = store
        .apply(&[Change::Finding(Box::new(newer.clone()))])
        .await
        .map_err(err)?;
    ensure(
        kinds(&t) == ["detected"],
        "a finding newer than the last IaC change stays open",
    )?;

    // An IaC change older than a finding does not resolve it.
    let t = store
        .apply(&[Change::Iac(sample_iac("ev-iac-old", "sg-b", 550))])
        .await
        .map_err(err)?;
    ensure(t.is_empty(), "an IaC change older than the finding leaves it open")?;

    // Queries.
    let open = store
        .list(&Query {
            status: Some(Status::Open),
            ..Query::default()
        })
        .await
        .map_err(err)?;
    ensure(
        open.iter().map(|f| f.id.as_str()).collect::<Vec<_>>() == [newer.id.as_str()],
        "status filter",
    )?;
    let severe = store
        .list(&Query {
            min_severity: Some(Severity::Major),
            ..Query::default()
        })
        .await
        .map_err(err)?;
    ensure(severe.len() == 2, "severity filter keeps major and critical")?;
    let all = store.list(&Query::default()).await.map_err(err)?;
    let times: Vec<i64> = all.iter().map(|f| f.call.time.unix_seconds()).collect();
    ensure(times == [600, 400, 100], "list is newest first")?;
    let one = store
        .list(&Query {
            limit: Some(1),
            ..Query::default()
        })
        .await
        .map_err(err)?;
    ensure(one.len() == 1 && one[0].id == newer.id, "limit keeps the newest")?;
    ensure(
        store.get("dg-0000000000000000").await.map_err(err)?.is_none(),
        "get of an unknown id is None",
    )?;

    // Processed-event markers.
    ensure(
        !store.processed("ev-x").await.map_err(err)?,
        "an unseen event is not processed",
    )?;
    store.mark_processed("ev-x").await.map_err(err)?;
    store.mark_processed("ev-x").await.map_err(err)?;
    ensure(
        store.processed("ev-x").await.map_err(err)?,
        "a marked event is processed",
    )?;
    ensure(!store.processed("ev-y").await.map_err(err)?, "markers are per event")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_store_conforms() {
        let store = crate::ports::MemoryStore::default();
        let result = std::future::Future::poll(
            std::pin::pin!(super::check_store(&store)),
            &mut std::task::Context::from_waker(std::task::Waker::noop()),
        );
        assert_eq!(result, std::task::Poll::Ready(Ok(())));
    }
}
