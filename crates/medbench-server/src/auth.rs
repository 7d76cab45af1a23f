//! Roles, capabilities and API tokens.
//!
//! A token is 32 random bytes shown once as `mbt_<hex>`; the bank keeps only
//! its SHA-256. The browser presents the same token, kept in an HttpOnly,
//! SameSite=Strict cookie after logging in.

use crate::error::AppError;
use medbench_store::{SqliteBank, StoreError, UserRow};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// What a user is on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users and tokens.
    Admin,
    /// Manages the bank and rounds: browses items and the taxonomy, publishes results.
    Curator,
    /// A clinician who reads items (with their references) and every result, published or not.
    Reviewer,
    /// A model developer: downloads rounds, uploads answers, registers endpoints, sees own runs.
    Submitter,
    /// Reads leaderboards and published reports.
    Viewer,
}

pub const ROLES: [Role; 5] = [
    Role::Admin,
    Role::Curator,
    Role::Reviewer,
    Role::Submitter,
    Role::Viewer,
];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Curator => "curator",
            Role::Reviewer => "reviewer",
            Role::Submitter => "submitter",
            Role::Viewer => "viewer",
        }
    }

    /// Whether this role holds a capability. The one table of who may do what.
    pub fn can(self, cap: Cap) -> bool {
        use Cap::*;
        use Role::*;
        match cap {
            ReadBoard => true,
            Submit => matches!(self, Admin | Submitter),
            ReadAllRuns | BrowseItems => matches!(self, Admin | Curator | Reviewer),
            Publish => matches!(self, Admin | Curator),
            ManageUsers => self == Admin,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        ROLES.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            format!("unknown role `{s}` (expected admin, curator, reviewer, submitter or viewer)")
        })
    }
}

/// Something a route needs its caller to be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cap {
    /// Leaderboards, published reports, rounds' public listing.
    ReadBoard,
    /// Download round questions, upload answers, register endpoints, follow own jobs.
    Submit,
    /// Every run and job, published or not.
    ReadAllRuns,
    /// Items with their references, and the taxonomy.
    BrowseItems,
    /// Publish or withdraw a result.
    Publish,
    /// Users and tokens.
    ManageUsers,
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    pub token_id: i64,
}

impl Principal {
    pub fn can(&self, cap: Cap) -> bool {
        self.role.can(cap)
    }

    /// 403 unless the caller holds `cap`.
    pub fn require(&self, cap: Cap) -> Result<(), AppError> {
        if self.can(cap) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "the {} role may not do this",
                self.role
            )))
        }
    }
}

/// The request's caller, if any (set by the auth middleware).
#[derive(Debug, Clone, Default)]
pub struct Auth(pub Option<Principal>);

impl Auth {
    /// The caller, or 401.
    pub fn principal(&self) -> Result<&Principal, AppError> {
        self.0.as_ref().ok_or_else(AppError::unauthorized)
    }

    /// The caller holding `cap`, or 401/403.
    pub fn require(&self, cap: Cap) -> Result<&Principal, AppError> {
        let p = self.principal()?;
        p.require(cap)?;
        Ok(p)
    }
}

/// SHA-256 of a token secret, as stored.
pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.trim().as_bytes()))
}

/// Fresh random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system's random source");
    b
}

/// Create a token for `user`; returns the secret, which is never stored or shown again.
pub fn create_token(
    bank: &mut SqliteBank,
    user: &str,
    label: &str,
) -> Result<(i64, String), StoreError> {
    let u = bank.user(user)?.ok_or_else(|| {
        StoreError::Unsupported(format!("no user named `{user}` (see `medbench user list`)"))
    })?;
    let secret = format!("mbt_{}", hex::encode(random_bytes::<32>()));
    let id = bank.add_token(u.id, &hash_token(&secret), label, &medbench_eval::now())?;
    Ok((id, secret))
}

/// Add a user with a role; names are 1–64 characters of letters, digits, `-`, `_`, `.` or `@`.
pub fn add_user(bank: &mut SqliteBank, name: &str, role: Role) -> Result<UserRow, StoreError> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if !ok {
        return Err(StoreError::Unsupported(format!(
            "user name `{name}`: use 1–64 letters, digits, `-`, `_`, `.` or `@`"
        )));
    }
    bank.add_user(name, role.as_str(), &medbench_eval::now())
}

/// The principal behind a presented secret, if it is a live token.
pub fn lookup(bank: &SqliteBank, secret: &str) -> Result<Option<Principal>, StoreError> {
    let Some(o) = bank.token_owner(&hash_token(secret))? else {
        return Ok(None);
    };
    let Ok(role) = o.user.role.parse::<Role>() else {
        return Ok(None);
    };
    Ok(Some(Principal {
        user_id: o.user.id,
        name: o.user.name,
        role,
        token_id: o.token_id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_manage_users_and_submitters_cannot_read_items() {
        assert!(Role::Admin.can(Cap::ManageUsers));
        assert!(!Role::Curator.can(Cap::ManageUsers));
        assert!(!Role::Submitter.can(Cap::BrowseItems));
        assert!(!Role::Submitter.can(Cap::ReadAllRuns));
        assert!(Role::Reviewer.can(Cap::BrowseItems));
        assert!(!Role::Viewer.can(Cap::Submit));
        assert_eq!("curator".parse::<Role>(), Ok(Role::Curator));
        assert!("root".parse::<Role>().unwrap_err().contains("unknown role"));
    }

    #[test]
    fn tokens_are_stored_hashed_and_found_by_their_secret() {
        let mut bank = SqliteBank::open(":memory:").unwrap();
        add_user(&mut bank, "ana", Role::Submitter).unwrap();
        let (_, secret) = create_token(&mut bank, "ana", "laptop").unwrap();
        let stored: String = bank
            .connection()
            .query_row("SELECT hash FROM tokens", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, secret);
        assert!(!stored.contains(&secret[4..]));
        let p = lookup(&bank, &secret).unwrap().unwrap();
        assert_eq!((p.name.as_str(), p.role), ("ana", Role::Submitter));
        assert!(lookup(&bank, "mbt_wrong").unwrap().is_none());
        bank.revoke_token(p.token_id).unwrap();
        assert!(lookup(&bank, &secret).unwrap().is_none());
        assert!(add_user(&mut bank, "bad name", Role::Viewer).is_err());
    }
}
