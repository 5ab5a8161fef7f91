//! Who acts: the caller a service function acts for and is audited as. Its own module because
//! every use case takes one, and the modules that authenticate (`auth`) and record (`audit`)
//! depend on each other's neighbours: here both can use it without a loop.

use crate::domain::auth::Role;
use crate::domain::ids::{OperatorId, SessionId, TokenId, UserId};

/// Who acts: a signed-in user (in one session), an API token, or the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User {
        user: UserId,
        session: SessionId,
    },
    /// A user proving who they are outside a session (a password reset by emailed code).
    Account(UserId),
    Token(TokenId),
    Cli,
    /// berth itself: a worker's decision (a departure's minimum of participants).
    System,
}

impl Actor {
    /// How the audit log names the actor.
    pub fn audit_name(&self) -> String {
        match self {
            Actor::User { user, .. } | Actor::Account(user) => format!("user:{user}"),
            Actor::Token(token) => format!("token:{token}"),
            Actor::Cli => "cli".to_owned(),
            Actor::System => "berth".to_owned(),
        }
    }
}

/// An authenticated caller: the operator it acts for, with which role, and who it is.
#[derive(Debug, Clone)]
pub struct Principal {
    pub operator: OperatorId,
    pub role: Role,
    pub actor: Actor,
    /// A user whose operator requires two-factor sign-in and who has not enabled it: they may
    /// only enrol (and sign out) until they do.
    pub must_enrol: bool,
}

impl Principal {
    /// berth's own workers, acting for `operator`.
    pub fn system(operator: &OperatorId) -> Principal {
        Principal {
            operator: operator.clone(),
            role: Role::Owner,
            actor: Actor::System,
            must_enrol: false,
        }
    }

    /// The command line, acting as an owner of `operator`.
    pub fn cli(operator: &OperatorId) -> Principal {
        Principal {
            operator: operator.clone(),
            role: Role::Owner,
            actor: Actor::Cli,
            must_enrol: false,
        }
    }
}
