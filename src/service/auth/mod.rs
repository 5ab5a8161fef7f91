//! Who is calling and who may sign in: bearer tokens and sessions, passwords, two-factor
//! sign-in and the operator's users, one file each. The functions are re-exported here, so
//! callers name `service::auth::login` whatever file it lives in.

mod passwords;
mod sessions;
mod two_factor;
mod users;

pub use passwords::{
    change_password, confirm_password_reset, request_password_reset, MAX_RESETS_PER_HOUR, RESET_TTL,
};
pub use sessions::{
    authenticate, expires_in, login, logout, logout_everywhere, purge_expired, refresh,
    LoginOutcome, LoginThrottle, SessionTokens, ACCESS_PREFIX, IP_FAILURES, IP_WINDOW, MFA_PREFIX,
    REFRESH_PREFIX,
};
pub use two_factor::{
    confirm_two_factor, require_two_factor, setup_two_factor, two_factor_required,
    verify_second_factor,
};
pub use users::{
    change_user, create_operator_with_owner, create_user, list_users, user, User, UserChange,
    UserDraft,
};
// The caller types, where they were before `service::principal` existed.
pub use crate::service::principal::{Actor, Principal};
