//! The store conformance suite: the lifecycle every [`FindingStore`] must implement the same
//! way. Each adapter's tests run [`check_store`] on a fresh store, so the embedded store and the
//! DynamoDB store cannot drift apart. [`check_recovery`] makes each step of handling an event
//! fail part-way (the publisher, each store call, and the adapter's own writes) and checks that
//! the retry publishes every transition exactly once.

use crate::actors::attribution::{Actor, ActorKind, Channel};
use crate::drift::diff::AttributeChange;
use crate::drift::score::Severity;
use crate::findings::finding::{
    finding_id, CallInfo, Finding, FindingKind, IacChange, ResourceInfo, Status, Transition,
};
use crate::findings::join::{ConfigEvidence, ConfigObservation, CONFIG_SOURCE};
use crate::findings::ports::{Change, DriftEvent, EventPublisher, FindingStore, Query};
use crate::findings::service;
use crate::input::config_item::ChangeType;
use crate::util::time::Timestamp;
use serde_json::json;
use std::future::Future;
use std::sync::Mutex;

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
        weights_version: crate::drift::score::DEFAULT_WEIGHTS.into(),
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
        finding: None,
        baseline: false,
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
        factor_weight: None,
        origin: crate::findings::evidence::Origin::Event,
        in_line: Vec::new(),
        who: None,
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

/// Faults an adapter can inject into its own requests, so the suite can break one `apply` part-way
/// (a DynamoDB store writes several items per change). Stores that write one transaction per
/// call have nothing to break inside a call and pass [`NoFaults`].
pub trait StoreFaults {
    /// Lets `ok` more requests through, then fails every request until [`StoreFaults::heal`].
    fn fail_after(&self, ok: usize);
    /// Stops failing; returns whether any request failed since [`StoreFaults::fail_after`].
    fn heal(&self) -> bool;
}

/// No request-level faults.
#[derive(Debug, Default)]
pub struct NoFaults;

impl StoreFaults for NoFaults {
    fn fail_after(&self, _ok: usize) {}
    fn heal(&self) -> bool {
        false
    }
}

/// A failure the suite injected.
#[derive(Debug, thiserror::Error)]
#[error("injected failure")]
pub struct Injected;

/// A countdown shared by the suite's wrappers: `None` never fails; `Some(n)` lets n calls
/// through and fails the rest, noting that it did.
#[derive(Debug, Default)]
struct Countdown(Mutex<(Option<usize>, bool)>);

impl Countdown {
    fn arm(&self, ok: usize) {
        if let Ok(mut c) = self.0.lock() {
            *c = (Some(ok), false);
        }
    }

    fn heal(&self) -> bool {
        self.0.lock().map(|mut c| std::mem::take(&mut *c).1).unwrap_or(false)
    }

    /// Whether this call fails.
    fn fails(&self) -> bool {
        let Ok(mut c) = self.0.lock() else { return true };
        match c.0 {
            None => false,
            Some(0) => {
                c.1 = true;
                true
            }
            Some(n) => {
                c.0 = Some(n - 1);
                false
            }
        }
    }
}

/// A publisher that records every event it accepts, without deduplication (a second
/// publication of a key shows), and fails on demand.
#[derive(Debug, Default)]
pub struct RecordingPublisher {
    events: Mutex<Vec<DriftEvent>>,
    faults: Countdown,
}

impl RecordingPublisher {
    /// Keys of the events accepted so far, in order.
    pub fn keys(&self) -> Vec<String> {
        self.events
            .lock()
            .map(|e| e.iter().map(|e| e.key.clone()).collect())
            .unwrap_or_default()
    }
}

impl EventPublisher for RecordingPublisher {
    type Error = Injected;

    fn publish(&self, events: &[DriftEvent]) -> impl Future<Output = Result<usize, Injected>> + Send {
        let result = if self.faults.fails() {
            Err(Injected)
        } else {
            match self.events.lock() {
                Ok(mut all) => {
                    all.extend(events.iter().cloned());
                    Ok(events.len())
                }
                Err(_) => Err(Injected),
            }
        };
        std::future::ready(result)
    }
}

/// A store call that failed: injected by the suite, or the store's own error.
#[derive(Debug, thiserror::Error)]
pub enum FlakyError<E: std::error::Error + 'static> {
    /// The suite failed the call.
    #[error("injected store failure")]
    Injected,
    /// The store failed.
    #[error(transparent)]
    Store(E),
}

/// Wraps a store and fails whole calls on demand (any method).
#[derive(Debug)]
struct Flaky<'s, S> {
    inner: &'s S,
    faults: Countdown,
}

impl<S: FindingStore + Sync> FindingStore for Flaky<'_, S> {
    type Error = FlakyError<S::Error>;

    async fn apply(&self, batch: &[Change]) -> Result<Vec<Transition>, Self::Error> {
        if self.faults.fails() {
            return Err(FlakyError::Injected);
        }
        self.inner.apply(batch).await.map_err(FlakyError::Store)
    }

    async fn get(&self, id: &str) -> Result<Option<Finding>, Self::Error> {
        if self.faults.fails() {
            return Err(FlakyError::Injected);
        }
        self.inner.get(id).await.map_err(FlakyError::Store)
    }

    async fn list(&self, query: &Query) -> Result<Vec<Finding>, Self::Error> {
        if self.faults.fails() {
            return Err(FlakyError::Injected);
        }
        self.inner.list(query).await.map_err(FlakyError::Store)
    }

    async fn processed(&self, event_key: &str) -> Result<bool, Self::Error> {
        if self.faults.fails() {
            return Err(FlakyError::Injected);
        }
        self.inner.processed(event_key).await.map_err(FlakyError::Store)
    }

    async fn mark_processed(&self, event_key: &str) -> Result<(), Self::Error> {
        if self.faults.fails() {
            return Err(FlakyError::Injected);
        }
        self.inner.mark_processed(event_key).await.map_err(FlakyError::Store)
    }

    async fn unpublished(&self, origin: &str) -> Result<Vec<DriftEvent>, Self::Error> {
        if self.faults.fails() {
            return Err(FlakyError::Injected);
        }
        self.inner.unpublished(origin).await.map_err(FlakyError::Store)
    }

    async fn mark_published(&self, origin: &str, key: &str) -> Result<(), Self::Error> {
        if self.faults.fails() {
            return Err(FlakyError::Injected);
        }
        self.inner.mark_published(origin, key).await.map_err(FlakyError::Store)
    }
}

/// Which step the suite breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Break {
    /// The n-th publish call.
    Publish,
    /// The n-th store call (apply, outbox read, mark published, processed markers).
    StoreCall,
    /// The n-th request the adapter itself makes.
    Request,
}

/// One recovery case: changes handled cleanly first, then the change that is broken part-way,
/// and the event keys (and final statuses) it must publish exactly once.
struct Case {
    setup: Vec<Change>,
    step: Change,
    expect: Vec<String>,
    resolved: Vec<String>,
}

fn cases(tag: &str) -> Vec<Case> {
    let sg = |n: &str| format!("sg-{tag}-{n}");
    let mut out = Vec::new();

    // An IaC change resolving two findings: two `Drift Resolved`.
    let (f1, f2) = (
        sample_finding(&format!("ev-{tag}-r1"), &sg("iac"), 100, Severity::Major),
        sample_finding(&format!("ev-{tag}-r2"), &sg("iac"), 110, Severity::Critical),
    );
    out.push(Case {
        setup: vec![
            Change::Finding(Box::new(f1.clone())),
            Change::Finding(Box::new(f2.clone())),
        ],
        step: Change::Iac(sample_iac(&format!("ev-{tag}-iac"), &sg("iac"), 200)),
        expect: vec![format!("{}:resolved", f1.id), format!("{}:resolved", f2.id)],
        resolved: vec![f1.id.clone(), f2.id.clone()],
    });

    // A Config item joining the call before it: the call's finding, revision 2.
    let call = sample_finding(&format!("ev-{tag}-c1"), &sg("cfg"), 1000, Severity::Major);
    out.push(Case {
        setup: vec![Change::Finding(Box::new(call.clone()))],
        step: Change::Config(Box::new(sample_observation(&sg("cfg"), 1120, true))),
        expect: vec![format!("{}:detected:r2", call.id)],
        resolved: Vec::new(),
    });

    // A call joining the Config item before it: the Config finding, revision 2.
    let obs = sample_observation(&sg("call"), 2120, true);
    let config_id = obs.finding.as_ref().map(|f| f.id.clone()).unwrap_or_default();
    out.push(Case {
        setup: vec![Change::Config(Box::new(obs))],
        step: Change::Finding(Box::new(sample_finding(
            &format!("ev-{tag}-c2"),
            &sg("call"),
            2000,
            Severity::Major,
        ))),
        expect: vec![format!("{config_id}:detected:r2")],
        resolved: Vec::new(),
    });

    // A finding that arrives after the IaC change superseding it: detected and resolved.
    let late = sample_finding(&format!("ev-{tag}-late"), &sg("late"), 400, Severity::Minor);
    out.push(Case {
        setup: vec![Change::Iac(sample_iac(&format!("ev-{tag}-iac2"), &sg("late"), 500))],
        step: Change::Finding(Box::new(late.clone())),
        expect: vec![format!("{}:detected", late.id), format!("{}:resolved", late.id)],
        resolved: vec![late.id],
    });
    out
}

/// The event id the suite hands the service for a change.
fn event_of(change: &Change) -> String {
    format!("event-{}", change.origin())
}

/// Runs the recovery cases: for each step (publishing, each store call, each of the adapter's
/// own requests via `faults`), and each position `n` of the failure within the step until a run
/// no longer reaches it, the n-th call fails, the event is delivered again, and then once more
/// as a duplicate. Every expected transition must then be published exactly once, nothing
/// else published for it, and the store must hold the outcome. (Exception: when the failure
/// hits between the publisher taking an event and the outbox forgetting it, that one event is
/// published twice with the same key, which consumers dedupe on.) Returns the first violation.
pub async fn check_recovery<S: FindingStore + Sync>(store: &S, faults: &impl StoreFaults) -> Result<(), String> {
    for mode in [Break::Publish, Break::StoreCall, Break::Request] {
        for n in 0..200 {
            let tag = format!("{mode:?}-{n}").to_lowercase();
            let mut reached = false;
            for (i, case) in cases(&tag).into_iter().enumerate() {
                reached |= run_case(store, faults, mode, n, &case)
                    .await
                    .map_err(|e| format!("recovery ({mode:?} fails at call {n}, case {i}): {e}"))?;
            }
            if !reached {
                break;
            }
        }
    }
    Ok(())
}

/// One case under one failure; returns whether the failure was reached.
async fn run_case<S: FindingStore + Sync>(
    store: &S,
    faults: &impl StoreFaults,
    mode: Break,
    n: usize,
    case: &Case,
) -> Result<bool, String> {
    let publisher = RecordingPublisher::default();
    let flaky = Flaky {
        inner: store,
        faults: Countdown::default(),
    };
    for change in &case.setup {
        service::handle_change(&flaky, &publisher, &event_of(change), change)
            .await
            .map_err(|e| format!("setup: {e}"))?;
    }
    let before = publisher.keys().len();
    match mode {
        Break::Publish => publisher.faults.arm(n),
        Break::StoreCall => flaky.faults.arm(n),
        Break::Request => faults.fail_after(n),
    }
    let event = event_of(&case.step);
    let first = service::handle_change(&flaky, &publisher, &event, &case.step).await;
    let reached = match mode {
        Break::Publish => publisher.faults.heal(),
        Break::StoreCall => flaky.faults.heal(),
        Break::Request => faults.heal(),
    };
    if first.is_err() != reached {
        return Err(format!(
            "a failure was injected ({reached}) but the handling result was {first:?}"
        ));
    }
    // The one gap no store can close: an event the publisher took whose outbox entry could not
    // be removed (the failure hit right after the publish) is published again, same key.
    let mut gap: Vec<String> = Vec::new();
    if reached {
        let outbox = store
            .unpublished(case.step.origin())
            .await
            .map_err(|e| format!("store error: {e}"))?;
        let taken = publisher.keys();
        gap = outbox
            .into_iter()
            .map(|e| e.key)
            .filter(|k| taken[before..].contains(k))
            .collect();
        ensure(gap.len() <= 1, "at most the event being marked is left behind")?;
    }
    if reached {
        // (A duplicate when only the answer to the processed marker was lost.)
        service::handle_change(&flaky, &publisher, &event, &case.step)
            .await
            .map_err(|e| format!("the retry failed: {e}"))?;
    }
    let again = service::handle_change(&flaky, &publisher, &event, &case.step)
        .await
        .map_err(|e| format!("the duplicate failed: {e}"))?;
    ensure(again.is_none(), "a delivery after success is a duplicate")?;
    let keys = publisher.keys();
    let mut got: Vec<&String> = keys[before..].iter().collect();
    got.sort();
    got.dedup_by(|a, b| a == b && gap.contains(a));
    let mut want: Vec<&String> = case.expect.iter().collect();
    want.sort();
    if got != want {
        return Err(format!("published {got:?}, expected each of {want:?} exactly once"));
    }
    for id in &case.resolved {
        let f = store
            .get(id)
            .await
            .map_err(|e| format!("store error: {e}"))?
            .ok_or_else(|| format!("finding {id} is missing"))?;
        ensure(f.status == Status::Resolved, "the step's resolutions are stored")?;
    }
    ensure(
        store
            .unpublished(case.step.origin())
            .await
            .map_err(|e| format!("store error: {e}"))?
            .is_empty(),
        "the outbox is empty once everything is published",
    )?;
    Ok(reached)
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

    #[test]
    fn memory_store_recovers_from_each_failed_step() {
        let store = crate::findings::ports::MemoryStore::default();
        let result = std::future::Future::poll(
            std::pin::pin!(super::check_recovery(&store, &super::NoFaults)),
            &mut std::task::Context::from_waker(std::task::Waker::noop()),
        );
        assert_eq!(result, std::task::Poll::Ready(Ok(())));
    }
}
