//! The service layer's one error type. Each variant maps to one stable contract code; the
//! http layer turns it into a status and body. Internal causes (`Store`) are logged there and
//! never sent to clients.

pub use crate::words::LockReason;

/// What a storage engine reports ([`ServiceError::Store`] carries it).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint refused the write.
    #[error("already exists: {0}")]
    Duplicate(String),
    /// Stored data that does not parse: a bug or a manual edit.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database: {0}")]
    Database(String),
    #[error("the storage engine has stopped")]
    Stopped,
    /// The database could not be reached, or did not answer a commit in time: nothing is
    /// acknowledged, and a write's outcome is not known (its idempotent retry is safe). 503.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// 422 with a contract code: `invalid_id_number`, `invalid_password`, `weak_password`,
    /// `evidence_required`, or another `invalid_*` code for a field.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// 422 `evidence_required` (R-LK-2, R-LK-4, R-PW-4, R-LS-3): what is missing, piece by
    /// piece, with stable codes.
    #[error("{}", shebao_domain::EvidenceMissing(missing.clone()).describe())]
    EvidenceRequired {
        missing: Vec<shebao_domain::Missing>,
    },
    /// 422: a wrong password, counted (R-LK-1). `None` for the web query password, which
    /// never locks (D-4).
    #[error("the password is wrong")]
    WrongPassword { remaining_tries: Option<u32> },
    /// 423 (R-LK-5): why, and what the holder must do, in plain words.
    #[error("{}", words.en)]
    AccountLocked {
        reason: LockReason,
        words: crate::words::LockMessage,
        locked_until: Option<jiff::Timestamp>,
    },
    /// 409 `not_activated` (R-ACT-5).
    #[error("{0}")]
    NotActivated(String),
    /// 409 with a code: the state does not allow it.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 409 `already_exists`.
    #[error("{0}")]
    AlreadyExists(String),
    /// 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// 403 `forbidden` (or another code, e.g. `password_change_required`).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// 401.
    #[error("{0}")]
    Unauthorized(String),
    /// 401 with a code: a PSAM terminal's request failed its MAC (`bad_mac`) or reused a
    /// counter (`replayed`) (R-KM-1).
    #[error("{message}")]
    TerminalAuth { code: &'static str, message: String },
    /// 429 `too_many_attempts` (D-4).
    #[error("too many attempts: try again in {retry_after_s} s")]
    TooManyAttempts { retry_after_s: u64 },
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl ServiceError {
    /// 401 `bad_mac` (R-KM-1).
    pub fn bad_mac(message: impl Into<String>) -> Self {
        ServiceError::TerminalAuth {
            code: "bad_mac",
            message: message.into(),
        }
    }

    /// 401 `replayed` (R-KM-1).
    pub fn replayed() -> Self {
        ServiceError::TerminalAuth {
            code: "replayed",
            message: "this terminal counter is not above the last one accepted from this terminal"
                .into(),
        }
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ServiceError::Forbidden {
            code: "forbidden",
            message: message.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ServiceError::NotFound(what.into())
    }
}

/// The refusals more than one use case gives, each written once.
impl ServiceError {
    /// 423 `account_locked`, reason `password` (R-LK-1, R-LK-2, R-LK-5): the social-security
    /// account is locked and unlocks only at a window.
    pub fn password_locked() -> Self {
        ServiceError::AccountLocked {
            reason: LockReason::Password,
            words: crate::words::lock_message(LockReason::Password),
            locked_until: None,
        }
    }

    /// 423 `account_locked`, reason `employer_arrears` (R-EM-2, R-EM-5, D-13).
    pub fn unit_locked() -> Self {
        ServiceError::AccountLocked {
            reason: LockReason::EmployerArrears,
            words: crate::words::lock_message(LockReason::EmployerArrears),
            locked_until: None,
        }
    }

    /// 423 `account_locked`, reason `loss` (R-LS-1, R-LS-2).
    pub fn card_lost() -> Self {
        ServiceError::AccountLocked {
            reason: LockReason::Loss,
            words: crate::words::lock_message(LockReason::Loss),
            locked_until: None,
        }
    }

    /// 409 `card_replaced`: a replaced card is dead for both accounts (R-LS-5, D-10).
    pub fn card_replaced() -> Self {
        ServiceError::conflict("card_replaced", "this card was replaced; use the new card")
    }

    /// 409 `not_activated`: the social-security account is not activated yet (R-ACT-1, R-ACT-5).
    pub fn ss_not_activated() -> Self {
        ServiceError::NotActivated("the social-security account is not activated yet".into())
    }

    /// 409 `not_activated` for the bank's account (R-ACT-2).
    pub fn fin_not_activated() -> Self {
        ServiceError::NotActivated(
            "the financial account is not activated yet: activate it at a partner bank branch"
                .into(),
        )
    }

    /// 409 `not_collected` (R-LS-5): a replacement card is collected with ID before any use.
    pub fn not_collected() -> Self {
        ServiceError::conflict(
            "not_collected",
            "this replacement card has not been collected yet: the holder collects it with ID at the outlet first",
        )
    }
}

impl From<shebao_domain::EvidenceMissing> for ServiceError {
    fn from(m: shebao_domain::EvidenceMissing) -> Self {
        ServiceError::EvidenceRequired { missing: m.0 }
    }
}

impl ServiceError {
    /// 422 `evidence_required` when no evidence was sent at all.
    pub fn no_evidence() -> Self {
        ServiceError::EvidenceRequired {
            missing: vec![shebao_domain::Missing::Evidence],
        }
    }
}

/// A duplicate at the store is the contract's 409 `already_exists`.
pub(crate) fn duplicate_as_exists(e: StoreError) -> ServiceError {
    match e {
        StoreError::Duplicate(what) => ServiceError::AlreadyExists(what),
        other => ServiceError::Store(other),
    }
}
