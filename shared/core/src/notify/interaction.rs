//! Slack interactivity, sans IO: a button click on a DriftGuard alert (a `block_actions`
//! payload, form-encoded as `payload=<JSON>`), whether it may act ([`Origin`] for the workspace
//! and app, [`ActionPolicy`] for who may click what, [`check_target`] for the finding's message
//! and state), and the [`Decision`] recorded on the finding — who, when, which action — which is
//! also the label the learning issue trains on. [`DecisionLedger`] is the port that records
//! decisions (at most one settling decision per finding) and refuses replayed requests.

use crate::remediation::{RemediationAction, RemediationRequest, Requester};
use crate::util::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;

/// What a button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Undo the manual change.
    Revert,
    /// Re-apply IaC.
    Reapply,
    /// Keep the change.
    Accept,
    /// Seen; someone is on it.
    Acknowledge,
    /// Approve a remediation request that waits for approvals (the button on its prompt).
    Approve,
    /// Not drift: a false alarm (a label for learning; changes nothing in AWS).
    NotDrift,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 6] = [
        Action::Revert,
        Action::Reapply,
        Action::Accept,
        Action::Acknowledge,
        Action::Approve,
        Action::NotDrift,
    ];

    /// The buttons on a drift alert, in order (approve lives on an approval prompt).
    pub const ALERT: [Action; 5] = [
        Action::Revert,
        Action::Reapply,
        Action::Accept,
        Action::Acknowledge,
        Action::NotDrift,
    ];

    /// From a button's `action_id` (`driftguard.revert`, ...).
    pub fn from_action_id(id: &str) -> Option<Action> {
        match id.strip_prefix("driftguard.")? {
            "revert" => Some(Action::Revert),
            "reapply" => Some(Action::Reapply),
            "accept" => Some(Action::Accept),
            "acknowledge" => Some(Action::Acknowledge),
            "approve" => Some(Action::Approve),
            "not_drift" => Some(Action::NotDrift),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Revert => "revert",
            Action::Reapply => "reapply",
            Action::Accept => "accept",
            Action::Acknowledge => "acknowledge",
            Action::Approve => "approve",
            Action::NotDrift => "not_drift",
        }
    }

    /// How it reads in a sentence.
    pub fn past_tense(self) -> &'static str {
        match self {
            Action::Revert => "Revert requested",
            Action::Reapply => "Re-apply requested",
            Action::Accept => "Change accepted",
            Action::Acknowledge => "Acknowledged",
            Action::Approve => "Approved",
            Action::NotDrift => "Marked not drift",
        }
    }

    /// The remediation this action requests (all but acknowledge).
    pub fn remediation(self) -> Option<RemediationAction> {
        match self {
            Action::Revert => Some(RemediationAction::Revert),
            Action::Reapply => Some(RemediationAction::Reapply),
            Action::Accept => Some(RemediationAction::Accept),
            Action::Acknowledge | Action::Approve | Action::NotDrift => None,
        }
    }

    /// Whether the alert's buttons go away once it is taken (revert, re-apply and accept). An
    /// approval acts on a request already decided, not on the alert.
    pub fn settles(self) -> bool {
        matches!(self, Action::Revert | Action::Reapply | Action::Accept)
    }
}

/// One click, as DriftGuard needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    /// The Slack user id (`U…`).
    pub user_id: String,
    /// Their user name, when given.
    pub user_name: Option<String>,
    /// The action.
    pub action: Action,
    /// The findings the button is about (one, or a burst's).
    pub finding_ids: Vec<String>,
    /// Where to answer (`response_url`).
    pub response_url: String,
    /// The channel of the message.
    pub channel: Option<String>,
    /// The message's `ts`.
    pub message_ts: Option<String>,
    /// The workspace (`team.id`).
    pub team_id: Option<String>,
    /// The Slack app the click was sent to (`api_app_id`).
    pub api_app_id: Option<String>,
    /// The remediation request an Approve button is about (`rq-` and 16 hex digits).
    pub request_id: Option<String>,
}

/// Why a request cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InteractionError {
    /// Not `payload=<JSON>`, or the JSON is not a block_actions payload.
    #[error("malformed interaction payload: {0}")]
    Malformed(String),
    /// A payload type DriftGuard does not handle.
    #[error("unsupported interaction type {0:?}")]
    Unsupported(String),
    /// A button DriftGuard did not render.
    #[error("unknown action {0:?}")]
    UnknownAction(String),
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space, `%XX` a byte).
pub fn form_decode(s: &str) -> Result<String, InteractionError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| InteractionError::Malformed(format!("bad percent escape at byte {i}")))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| InteractionError::Malformed("form value is not UTF-8".into()))
}

/// A form-encoded field's value.
pub fn form_field(body: &str, name: &str) -> Result<Option<String>, InteractionError> {
    for pair in body.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if form_decode(k)? == name {
            return form_decode(v).map(Some);
        }
    }
    Ok(None)
}

/// The button value DriftGuard renders: `{"finding_id": ..., "action": ...}`, or
/// `{"finding_ids": [...], "action": ...}` on a burst's message.
#[derive(Debug, Deserialize)]
struct ButtonValue {
    #[serde(default)]
    finding_id: Option<String>,
    #[serde(default)]
    finding_ids: Vec<String>,
    #[serde(default)]
    request_id: Option<String>,
}

/// Whether `id` has the shape of a request id ([`crate::remediation::safety::request_id`]).
pub fn is_request_id(id: &str) -> bool {
    id.strip_prefix("rq-")
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Reads a click from the request body Slack sends (`payload=<url-encoded JSON>`).
pub fn parse_click(body: &[u8]) -> Result<Click, InteractionError> {
    let body = std::str::from_utf8(body).map_err(|_| InteractionError::Malformed("body is not UTF-8".into()))?;
    let payload =
        form_field(body, "payload")?.ok_or_else(|| InteractionError::Malformed("no `payload` form field".into()))?;
    let v: Value = serde_json::from_str(&payload).map_err(|e| InteractionError::Malformed(format!("payload: {e}")))?;
    match v["type"].as_str() {
        Some("block_actions") => {}
        Some(other) => return Err(InteractionError::Unsupported(other.to_owned())),
        None => return Err(InteractionError::Malformed("payload has no `type`".into())),
    }
    let text = |path: &[&str]| -> Option<String> {
        let mut at = &v;
        for p in path {
            at = at.get(p)?;
        }
        at.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
    };
    let user_id = text(&["user", "id"]).ok_or_else(|| InteractionError::Malformed("no user.id".into()))?;
    let response_url = text(&["response_url"]).ok_or_else(|| InteractionError::Malformed("no response_url".into()))?;
    let action = v["actions"]
        .as_array()
        .and_then(|a| a.first())
        .ok_or_else(|| InteractionError::Malformed("no actions".into()))?;
    let action_id = action["action_id"]
        .as_str()
        .ok_or_else(|| InteractionError::Malformed("action has no action_id".into()))?;
    let kind =
        Action::from_action_id(action_id).ok_or_else(|| InteractionError::UnknownAction(action_id.to_owned()))?;
    let value: ButtonValue = action["value"]
        .as_str()
        .ok_or_else(|| InteractionError::Malformed("action has no value".into()))
        .and_then(|s| serde_json::from_str(s).map_err(|e| InteractionError::Malformed(format!("button value: {e}"))))?;
    let mut finding_ids = value.finding_ids;
    if let Some(id) = value.finding_id {
        if !finding_ids.contains(&id) {
            finding_ids.insert(0, id);
        }
    }
    if finding_ids.is_empty() || finding_ids.iter().any(|id| id.is_empty() || id.len() > 64) {
        return Err(InteractionError::Malformed("button value names no finding".into()));
    }
    let request_id = match (kind, value.request_id) {
        (Action::Approve, Some(id)) if is_request_id(&id) && finding_ids.len() == 1 => Some(id),
        (Action::Approve, _) => {
            return Err(InteractionError::Malformed(
                "an approve button names one finding and its request (rq-<16 hex digits>)".into(),
            ))
        }
        _ => None,
    };
    Ok(Click {
        user_id,
        user_name: text(&["user", "username"]).or_else(|| text(&["user", "name"])),
        action: kind,
        finding_ids,
        response_url,
        channel: text(&["channel", "id"]).or_else(|| text(&["container", "channel_id"])),
        message_ts: text(&["container", "message_ts"]).or_else(|| text(&["message", "ts"])),
        team_id: text(&["team", "id"]).or_else(|| text(&["user", "team_id"])),
        api_app_id: text(&["api_app_id"]),
        request_id,
    })
}

/// Who may take an action: Slack user ids (`U…`, `W…`) and user group ids (`S…`); `*` among
/// the users admits everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowList {
    /// User ids.
    #[serde(default)]
    pub users: Vec<String>,
    /// User group ids.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Who may take each action. An action nobody is listed for is refused to everyone, so revert
/// and re-apply can be limited to a smaller group than acknowledge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionPolicy {
    /// Revert.
    #[serde(default)]
    pub revert: AllowList,
    /// Re-apply IaC.
    #[serde(default)]
    pub reapply: AllowList,
    /// Accept change.
    #[serde(default)]
    pub accept: AllowList,
    /// Acknowledge.
    #[serde(default)]
    pub acknowledge: AllowList,
    /// Approve a waiting remediation request. The remediate function counts only approvers on
    /// its own list (`RemediationPolicy.approvers`); this list decides who may click.
    #[serde(default)]
    pub approve: AllowList,
    /// Not drift (a label: changes nothing, so it may be as open as acknowledge).
    #[serde(default)]
    pub not_drift: AllowList,
}

/// A refused click.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("<@{user}> is not allowed to {action}")]
pub struct Denied {
    /// The user id.
    pub user: String,
    /// The action's name.
    pub action: &'static str,
}

impl ActionPolicy {
    /// The list for an action.
    pub fn list(&self, action: Action) -> &AllowList {
        match action {
            Action::Revert => &self.revert,
            Action::Reapply => &self.reapply,
            Action::Accept => &self.accept,
            Action::Acknowledge => &self.acknowledge,
            Action::Approve => &self.approve,
            Action::NotDrift => &self.not_drift,
        }
    }

    /// Whether the user may be admitted without knowing their groups (they are listed, or
    /// everyone is); when not, the caller looks up the groups [`ActionPolicy::list`] names.
    pub fn admits_directly(&self, action: Action, user: &str) -> bool {
        self.list(action).users.iter().any(|u| u == "*" || u == user)
    }

    /// Checks the policy can be enforced as written: `*` admits everyone only among `users` (a
    /// group list holds user group ids `S…`), and group membership can only be read with a bot
    /// token. Without this a `groups: ["*"]` or a group list on a deployment without a bot token
    /// would silently refuse everyone.
    pub fn validate(&self, has_bot_token: bool) -> Result<(), String> {
        for action in Action::ALL {
            let list = self.list(action);
            if let Some(g) = list.groups.iter().find(|g| g.trim() == "*" || g.trim().is_empty()) {
                return Err(format!(
                    "{}.groups holds {g:?}: groups are user group ids (S…); put \"*\" in {0}.users to admit everyone",
                    action.as_str()
                ));
            }
            if !list.groups.is_empty() && !has_bot_token {
                return Err(format!(
                    "{}.groups needs a bot token (DRIFTGUARD_SLACK_BOT_TOKEN or _REF with usergroups:read) to read group members",
                    action.as_str()
                ));
            }
        }
        Ok(())
    }

    /// Authorises `user`, member of `groups` (those among the action's groups the caller
    /// checked), to take `action`.
    pub fn authorise(&self, action: Action, user: &str, groups: &[String]) -> Result<(), Denied> {
        let list = self.list(action);
        if self.admits_directly(action, user) || list.groups.iter().any(|g| groups.contains(g)) {
            Ok(())
        } else {
            Err(Denied {
                user: user.to_owned(),
                action: action.as_str(),
            })
        }
    }
}

/// The workspace and app DriftGuard's buttons live in (`DRIFTGUARD_SLACK_TEAM_ID`,
/// `DRIFTGUARD_SLACK_APP_ID`): a click signed with the app's secret but naming another
/// workspace or app is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `team.id` (`T…`).
    pub team_id: String,
    /// `api_app_id` (`A…`).
    pub api_app_id: String,
}

impl Origin {
    /// Whether the click comes from the configured workspace and app.
    pub fn check(&self, click: &Click) -> Result<(), Refused> {
        if click.team_id.as_deref() != Some(self.team_id.as_str()) {
            return Err(Refused::ForeignOrigin {
                field: "team.id",
                got: click.team_id.clone().unwrap_or_default(),
            });
        }
        if click.api_app_id.as_deref() != Some(self.api_app_id.as_str()) {
            return Err(Refused::ForeignOrigin {
                field: "api_app_id",
                got: click.api_app_id.clone().unwrap_or_default(),
            });
        }
        Ok(())
    }
}

/// Why a verified, authorised click does not act. Nothing is recorded or published; the user
/// is told [`Refused::user_text`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The click names another workspace or app than the configured ones.
    #[error("{field} {got:?} is not the configured one")]
    ForeignOrigin {
        /// `team.id` or `api_app_id`.
        field: &'static str,
        /// What the click said.
        got: String,
    },
    /// The finding is not in DriftGuard's table.
    #[error("finding {0} is not in the table")]
    NotFound(String),
    /// The finding was not posted in the message the button is on (its ledger entry names
    /// another channel / ts, or none): a button carrying a finding id it was not rendered for.
    #[error("finding {finding_id} was not posted in message {channel}/{ts}")]
    NotOnMessage {
        /// The finding.
        finding_id: String,
        /// The clicked message's channel.
        channel: String,
        /// The clicked message's ts.
        ts: String,
    },
    /// The finding is resolved: there is nothing left to act on.
    #[error("finding {0} is resolved")]
    Resolved(String),
    /// A settling decision was already taken on the finding.
    #[error("finding {finding_id} is already decided: {decision}")]
    Decided {
        /// The finding.
        finding_id: String,
        /// The decision, as a sentence.
        decision: String,
    },
    /// The request an Approve button names is not waiting for approvals (unknown, executed,
    /// refused, or another finding's).
    #[error("request {request_id} on finding {finding_id} is not waiting for approvals: {why}")]
    NotAwaiting {
        /// The finding.
        finding_id: String,
        /// The request.
        request_id: String,
        /// Where it stands.
        why: String,
    },
    /// The requester clicked Approve on their own request.
    #[error("<@{user}> requested {request_id} and cannot approve it")]
    OwnRequest {
        /// The user.
        user: String,
        /// The request.
        request_id: String,
    },
}

impl Refused {
    /// A snake-case reason, for logs and counts.
    pub fn reason(&self) -> &'static str {
        match self {
            Refused::ForeignOrigin { .. } => "foreign_origin",
            Refused::NotFound(_) => "not_found",
            Refused::NotOnMessage { .. } => "not_on_message",
            Refused::Resolved(_) => "resolved",
            Refused::Decided { .. } => "decided",
            Refused::NotAwaiting { .. } => "not_awaiting",
            Refused::OwnRequest { .. } => "own_request",
        }
    }

    /// What the clicking user is told (ephemeral): what was refused and that nothing changed.
    pub fn user_text(&self) -> String {
        let what = match self {
            Refused::ForeignOrigin { .. } => "This button does not belong to DriftGuard's Slack app.".to_owned(),
            Refused::NotFound(id) => format!("Finding `{id}` is not in DriftGuard's store."),
            Refused::NotOnMessage { finding_id, .. } => {
                format!("Finding `{finding_id}` was not posted in this message.")
            }
            Refused::Resolved(id) => format!("Finding `{id}` is already resolved."),
            Refused::Decided { finding_id, decision } => {
                format!("Finding `{finding_id}` is already decided: {decision}.")
            }
            Refused::NotAwaiting { request_id, why, .. } => {
                format!("Request `{request_id}` is not waiting for approvals: {why}.")
            }
            Refused::OwnRequest { request_id, .. } => {
                format!("You requested `{request_id}`; someone else must approve it.")
            }
        };
        format!(":warning: {what} Nothing was changed.")
    }
}

/// Whether a click may act on one of its findings: the finding is stored (`finding`), the
/// ledger's record of where it was posted (`posted`) is the clicked message, it is open, and no
/// settling decision was taken on it (`decisions`) by someone else or for another action. The
/// same user repeating the same click passes (the ledger answers [`Recorded::Repeat`], so
/// nothing new is published); any other action after a revert, re-apply or accept is refused.
pub fn check_target(
    click: &Click,
    finding_id: &str,
    finding: Option<&crate::findings::finding::Finding>,
    posted: Option<&crate::notify::slack::MessageRef>,
    decisions: &[Decision],
) -> Result<(), Refused> {
    open_on_message(click, finding_id, finding, posted)?;
    let same = |d: &&Decision| d.action == click.action && d.by.user == click.user_id;
    if let Some(d) = decisions.iter().filter(|d| !same(d)).find(|d| d.action.settles()) {
        return Err(Refused::Decided {
            finding_id: finding_id.to_owned(),
            decision: d.sentence(),
        });
    }
    Ok(())
}

/// What every click needs: the finding is stored and open, and the click came from the message
/// the ledger says the button was posted in (`posted`).
fn open_on_message(
    click: &Click,
    finding_id: &str,
    finding: Option<&crate::findings::finding::Finding>,
    posted: Option<&crate::notify::slack::MessageRef>,
) -> Result<(), Refused> {
    let Some(finding) = finding else {
        return Err(Refused::NotFound(finding_id.to_owned()));
    };
    let on_message = matches!(
        (posted, &click.channel, &click.message_ts),
        (Some(m), Some(channel), Some(ts)) if &m.channel == channel && &m.ts == ts
    );
    if !on_message {
        return Err(Refused::NotOnMessage {
            finding_id: finding_id.to_owned(),
            channel: click.channel.clone().unwrap_or_default(),
            ts: click.message_ts.clone().unwrap_or_default(),
        });
    }
    if finding.status == crate::findings::finding::Status::Resolved {
        return Err(Refused::Resolved(finding_id.to_owned()));
    }
    Ok(())
}

/// Where a waiting request stands, as the remediation ledger says (read by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestStanding {
    /// Not in the ledger under this finding.
    Unknown,
    /// Waiting for approvals; the request is who asked.
    Awaiting(RemediationRequest),
    /// Anything else (being decided, executing, done), named.
    Other(&'static str),
}

/// Whether an Approve click may be passed on as `Remediation Approved`: the finding is stored
/// and open, the click is on the approval prompt posted for this request (`prompt`, from the
/// ledger), the request waits for approvals, and the clicking user did not request it. Settling
/// decisions on the alert do not matter here: the request being approved is one of them.
pub fn check_approval(
    click: &Click,
    finding: Option<&crate::findings::finding::Finding>,
    prompt: Option<&crate::notify::slack::MessageRef>,
    standing: &RequestStanding,
) -> Result<(), Refused> {
    let finding_id = click.finding_ids.first().map_or("", String::as_str);
    let request_id = click.request_id.clone().unwrap_or_default();
    open_on_message(click, finding_id, finding, prompt)?;
    let not_awaiting = |why: &str| Refused::NotAwaiting {
        finding_id: finding_id.to_owned(),
        request_id: request_id.clone(),
        why: why.to_owned(),
    };
    match standing {
        RequestStanding::Unknown => Err(not_awaiting("no such request on this finding")),
        RequestStanding::Other(state) => Err(not_awaiting(state)),
        RequestStanding::Awaiting(request) if request.requested_by.user == click.user_id => Err(Refused::OwnRequest {
            user: click.user_id.clone(),
            request_id,
        }),
        RequestStanding::Awaiting(_) => Ok(()),
    }
}

/// The `Remediation Approved` detail an authorised, checked Approve click publishes.
pub fn approval_of(click: &Click, at: Timestamp) -> Option<crate::remediation::RemediationApproval> {
    (click.action == Action::Approve).then(|| crate::remediation::RemediationApproval {
        schema_version: 1,
        finding_id: click.finding_ids.first().cloned().unwrap_or_default(),
        request_id: click.request_id.clone().unwrap_or_default(),
        approver: click.user_id.clone(),
        at,
    })
}

/// A decision on a finding, taken in Slack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The finding.
    pub finding_id: String,
    /// What was decided.
    pub action: Action,
    /// Who (`source` `slack`, `user` the Slack user id).
    pub by: Requester,
    /// Their Slack user name, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// When.
    pub at: Timestamp,
    /// The message it was taken on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<crate::notify::slack::MessageRef>,
}

impl Decision {
    /// The decisions a click makes, one per finding.
    pub fn from_click(click: &Click, at: Timestamp) -> Vec<Decision> {
        let message = match (&click.channel, &click.message_ts) {
            (Some(channel), Some(ts)) => Some(crate::notify::slack::MessageRef {
                channel: channel.clone(),
                ts: ts.clone(),
            }),
            _ => None,
        };
        click
            .finding_ids
            .iter()
            .map(|id| Decision {
                finding_id: id.clone(),
                action: click.action,
                by: Requester {
                    source: "slack".into(),
                    user: click.user_id.clone(),
                },
                user_name: click.user_name.clone(),
                at,
                message: message.clone(),
            })
            .collect()
    }

    /// The decision's key within its finding: `<action>#<user>`. A user taking the same action
    /// on the same finding again is the same decision (recorded once, published once).
    pub fn key(&self) -> String {
        format!("{}#{}", self.action.as_str(), self.by.user)
    }

    /// Whether `other` is the same decision (same finding, action and user), whenever taken.
    pub fn same_as(&self, other: &Decision) -> bool {
        self.finding_id == other.finding_id && self.key() == other.key()
    }

    /// The `Remediation Requested` detail for revert and re-apply.
    pub fn remediation_request(&self) -> Option<RemediationRequest> {
        Some(RemediationRequest {
            schema_version: 1,
            finding_id: self.finding_id.clone(),
            action: self.action.remediation()?,
            requested_by: self.by.clone(),
            requested_at: self.at,
            dry_run: false,
            reason: None,
        })
    }

    /// One line for the message: "Revert requested by <@U…> at …".
    pub fn sentence(&self) -> String {
        format!("{} by <@{}> at {}", self.action.past_tense(), self.by.user, self.at)
    }
}

/// What recording a decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// A new decision: act on it (publish its remediation request, then
    /// [`DecisionLedger::mark_published`]).
    New,
    /// The same decision (finding, action, user) was already recorded. `published`: its
    /// remediation request went out (or it needs none), so there is nothing new to do; when
    /// `false` an earlier attempt failed to publish, and this one publishes it.
    Repeat {
        /// Whether the decision's remediation request was published.
        published: bool,
    },
    /// Another settling decision holds the finding (revert, re-apply and accept settle it, first
    /// one wins): this one was not recorded.
    Taken(Box<Decision>),
}

/// Where decisions are recorded, and which signed requests were already seen.
pub trait DecisionLedger {
    /// The adapter's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Records a decision on its finding, once per finding + action + user; a settling decision
    /// ([`Action::settles`]) only when no other settling decision holds the finding — atomically,
    /// so two users clicking Revert and Re-apply at once cannot both request remediation.
    fn record(&self, decision: &Decision) -> impl Future<Output = Result<Recorded, Self::Error>> + Send;

    /// Marks the decision's remediation request published, so a repeat click publishes nothing.
    fn mark_published(&self, decision: &Decision) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The decisions on a finding, oldest first.
    fn decisions(&self, finding_id: &str) -> impl Future<Output = Result<Vec<Decision>, Self::Error>> + Send;

    /// Records a signed request until `expires` under `request` (the canonical signature,
    /// [`crate::notify::slack::replay_key`]); `false` when it was seen before (a replay).
    fn first_use(&self, request: &str, expires: Timestamp) -> impl Future<Output = Result<bool, Self::Error>> + Send;
}

/// Decodes standard base64 (with or without padding), as Lambda function URLs deliver bodies
/// they consider binary.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, InteractionError> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return Err(InteractionError::Malformed("body is not valid base64".into())),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_bodies_decode() {
        assert_eq!(
            base64_decode("cGF5bG9hZD0lN0IlN0Q=").unwrap_or_default(),
            b"payload=%7B%7D"
        );
        assert_eq!(base64_decode("YQ").unwrap_or_default(), b"a");
        assert!(base64_decode("a$b").is_err());
    }

    #[test]
    fn form_fields_decode() {
        assert_eq!(
            form_field("a=1&payload=%7B%22x%22%3A+1%7D", "payload").unwrap_or_default(),
            Some("{\"x\": 1}".to_owned())
        );
        assert_eq!(form_field("a=1", "payload").unwrap_or_default(), None);
    }
}
