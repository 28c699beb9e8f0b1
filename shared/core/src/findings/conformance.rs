//! The store conformance suite: the lifecycle every [`FindingStore`] must implement the same
//! way. Each adapter's tests run [`check_store`] on a fresh store, so the embedded store and the
//! DynamoDB store cannot drift apart.

use crate::actors::attribution::{Actor, ActorKind, Channel};
use crate::drift::diff::AttributeChange;
use crate::drift::score::Severity;
use crate::findings::finding::{
    finding_id, CallInfo, Finding, FindingKind, IacChange, ResourceInfo, Status, Transition,
};
use crate::findings::join::{ConfigEvidence, ConfigObservation, CONFIG_SOURCE};
use crate::findings::ports::{Change, FindingStore, Query};
use crate::input::config_item::ChangeType;
use crate::util::time::Timestamp;
use serde_json::json;

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
        likelihood: crate::drift::score::from_factors(&sample_factors()),
        factors: sample_factors(),
        severity,
        severity_reasons: Vec::new(),
        summary: "sample".into(),
        fix: "sample".into(),
        revision: 1,
        config: None,
        tags: Default::default(),
    }
}

fn sample_factors() -> Vec<crate::drift::score::Factor> {
    [
        ("prior", crate::drift::score::PRIOR),
        ("actor.human", 2.5),
        ("channel.console", 0.5),
    ]
    .into_iter()
    .map(|(name, weight)| crate::drift::score::Factor {
        name: name.into(),
        weight,
    })
    .collect()
}

/// An IaC change on the resource of [`sample_finding`]`(_, sg, ..)` at `secs`.
pub fn sample_iac(event_id: &str, sg: &str, secs: i64) -> IacChange {
    IacChange {
        resource_key: format!("123456789012/eu-west-1/AWS::EC2::SecurityGroup/{sg}"),
        event_id: event_id.into(),
        time: Timestamp(secs * 1000),
        by: "Terraform".into(),
        restores: Vec::new(),
    }
}

/// An AWS Config item on the resource of [`sample_finding`]`(_, sg, ..)` captured at `secs`: port
/// 22 open to the internet (`drifted`), or the live group matching IaC. It carries the
/// Config-only finding that stands when no call joins it.
pub fn sample_observation(sg: &str, secs: i64, drifted: bool) -> ConfigObservation {
    let resource = sample_finding("-", sg, secs, Severity::Major).resource;
    let observation = format!(
        "cfg-{:016x}",
        crate::util::fnv::hash_parts(&[&resource.key(), &secs.to_string()])
    );
    let changes = if drifted {
        vec![AttributeChange {
            attribute: "ingress".into(),
            declared_in: Some("aws_security_group.web".into()),
            expected: json!(["tcp 443 0.0.0.0/0"]),
            found: json!(["tcp 22 0.0.0.0/0", "tcp 443 0.0.0.0/0"]),
            drifted: true,
        }]
    } else {
        Vec::new()
    };
    let evidence = ConfigEvidence {
        observation: observation.clone(),
        capture_time: Timestamp(secs * 1000),
        arn: None,
        change: ChangeType::Update,
        compared: true,
        drifted: changes.clone(),
        changed_properties: Vec::new(),
        severity: if drifted { Severity::Critical } else { Severity::Major },
        severity_reasons: Vec::new(),
    };
    let finding = drifted.then(|| {
        let mut f = sample_finding(&observation, sg, secs, Severity::Critical);
        f.actor.kind = ActorKind::Unknown;
        f.actor.channel = Channel::Other;
        f.actor.human = None;
        f.call.source = CONFIG_SOURCE.into();
        f.call.name = "ConfigurationItemChange".into();
        f.changes = changes;
        f.config = Some(evidence.clone());
        Box::new(f)
    });
    ConfigObservation {
        resource,
        evidence,
        finding,
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

    check_join(store).await?;

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

/// The Config ↔ CloudTrail join, in both orders, on resources of their own.
async fn check_join<S: FindingStore>(store: &S) -> Result<(), String> {
    let err = |e: S::Error| format!("store error: {e}");
    let on = |sg: &'static str| move |f: &Finding| f.resource.id == sg;

    // The call first, then its Config item: the call's finding gains the live values.
    let call = sample_finding("ev-j1", "sg-j1", 1000, Severity::Major);
    let obs = sample_observation("sg-j1", 1120, true);
    store
        .apply(&[Change::Finding(Box::new(call.clone()))])
        .await
        .map_err(err)?;
    let t = store
        .apply(&[Change::Config(Box::new(obs.clone()))])
        .await
        .map_err(err)?;
    ensure(
        kinds(&t) == ["detected"],
        "a joining Config item re-reports the finding",
    )?;
    let all = store.list(&Query::default()).await.map_err(err)?;
    let joined: Vec<&Finding> = all.iter().filter(|f| on("sg-j1")(f)).collect();
    ensure(joined.len() == 1, "call then Config: one finding")?;
    let f = joined[0];
    ensure(
        f.id == call.id && f.revision == 2,
        "call then Config: the call's finding, revision 2",
    )?;
    ensure(
        f.config.as_ref().map(|c| c.observation.as_str()) == Some(obs.evidence.observation.as_str()),
        "call then Config: the evidence is attached",
    )?;
    ensure(
        f.changes
            .iter()
            .any(|c| c.attribute == "ingress" && c.found == json!(["tcp 22 0.0.0.0/0", "tcp 443 0.0.0.0/0"])),
        "call then Config: the live value is the found value",
    )?;
    ensure(
        f.likelihood > call.likelihood && f.factors.iter().any(|x| x.name == "config.confirmed"),
        "confirmation raises the likelihood",
    )?;
    ensure(
        f.severity == Severity::Critical,
        "the live exposure raises the severity",
    )?;
    ensure(
        store
            .apply(&[Change::Config(Box::new(obs.clone()))])
            .await
            .map_err(err)?
            .is_empty()
            && store
                .apply(&[Change::Finding(Box::new(call.clone()))])
                .await
                .map_err(err)?
                .is_empty(),
        "replays of a joined pair report nothing",
    )?;

    // The Config item first, then the call: one finding, who from the call.
    let obs = sample_observation("sg-j2", 2120, true);
    let call = sample_finding("ev-j2", "sg-j2", 2000, Severity::Major);
    let t = store
        .apply(&[Change::Config(Box::new(obs.clone()))])
        .await
        .map_err(err)?;
    ensure(kinds(&t) == ["detected"], "a Config item showing drift stands alone")?;
    let t = store
        .apply(&[Change::Finding(Box::new(call.clone()))])
        .await
        .map_err(err)?;
    ensure(kinds(&t) == ["detected"], "the call fills in the Config-only finding")?;
    let all = store.list(&Query::default()).await.map_err(err)?;
    let joined: Vec<&Finding> = all.iter().filter(|f| on("sg-j2")(f)).collect();
    ensure(joined.len() == 1, "Config then call: one finding")?;
    let f = joined[0];
    let config_id = obs.finding.as_ref().map(|f| f.id.clone()).unwrap_or_default();
    ensure(
        f.id == config_id && f.revision == 2,
        "Config then call: the Config finding, revision 2",
    )?;
    ensure(
        f.actor.human.as_deref() == Some("alice") && f.call.event_id == "ev-j2" && !f.is_config_only(),
        "Config then call: who and which call come from CloudTrail",
    )?;
    ensure(
        f.changes.iter().any(|c| c.attribute == "ingress" && c.drifted),
        "Config then call: the live diff is kept",
    )?;
    ensure(
        store.get(&call.id).await.map_err(err)?.is_none(),
        "Config then call: no second finding under the call's id",
    )?;
    ensure(
        store
            .apply(&[Change::Finding(Box::new(call.clone()))])
            .await
            .map_err(err)?
            .is_empty()
            && store
                .apply(&[Change::Config(Box::new(obs.clone()))])
                .await
                .map_err(err)?
                .is_empty(),
        "replays of a joined pair report nothing",
    )?;

    // A Config item showing the live resource matching IaC lowers a call's likelihood.
    let call = sample_finding("ev-j3", "sg-j3", 3000, Severity::Major);
    store
        .apply(&[Change::Finding(Box::new(call.clone()))])
        .await
        .map_err(err)?;
    store
        .apply(&[Change::Config(Box::new(sample_observation("sg-j3", 3060, false)))])
        .await
        .map_err(err)?;
    let f = store
        .get(&call.id)
        .await
        .map_err(err)?
        .ok_or("matched finding disappeared")?;
    ensure(
        f.factors.iter().any(|x| x.name == "config.matches_iac")
            && f.changes.is_empty()
            && f.likelihood < call.likelihood,
        "a matching Config item is evidence against drift",
    )?;

    // Outside the window, no join: two findings.
    let call = sample_finding("ev-j4", "sg-j4", 4000, Severity::Major);
    store
        .apply(&[Change::Finding(Box::new(call.clone()))])
        .await
        .map_err(err)?;
    store
        .apply(&[Change::Config(Box::new(sample_observation("sg-j4", 4000 + 3600, true)))])
        .await
        .map_err(err)?;
    let all = store.list(&Query::default()).await.map_err(err)?;
    ensure(
        all.iter().filter(|f| on("sg-j4")(f)).count() == 2,
        "a Config item an hour after a call is not its effect",
    )?;

    // A Config item just after an IaC change is the apply's effect (the state was not
    // refreshed yet): no finding.
    store
        .apply(&[Change::Iac(sample_iac("ev-j5-iac", "sg-j5", 5000))])
        .await
        .map_err(err)?;
    let t = store
        .apply(&[Change::Config(Box::new(sample_observation("sg-j5", 5060, true)))])
        .await
        .map_err(err)?;
    ensure(t.is_empty(), "a Config item right after an IaC change is not drift")?;
    // ... and one that arrives before the IaC change it reflects is resolved by it.
    store
        .apply(&[Change::Config(Box::new(sample_observation("sg-j6", 6060, true)))])
        .await
        .map_err(err)?;
    let t = store
        .apply(&[Change::Iac(sample_iac("ev-j6-iac", "sg-j6", 6000))])
        .await
        .map_err(err)?;
    ensure(
        kinds(&t) == ["resolved"],
        "an IaC change just before a Config-only finding resolves it",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_store_conforms() {
        let store = crate::findings::ports::MemoryStore::default();
        let result = std::future::Future::poll(
            std::pin::pin!(super::check_store(&store)),
            &mut std::task::Context::from_waker(std::task::Waker::noop()),
        );
        assert_eq!(result, std::task::Poll::Ready(Ok(())));
    }
}
