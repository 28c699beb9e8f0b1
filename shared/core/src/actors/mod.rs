//! Stage 2, actors: who made a change. A rule table (configured principals first, then identity
//! type, `invokedBy` / `sourceIPAddress`, console sessions, user agents) classes each call as IaC,
//! human, AWS service or other automation, and names the rule that decided.

pub mod attribution;
