//! The pure domain core of shebao.
//!
//! Everything here is plain Rust: no I/O, no clock, no SQL, no JSON. Time comes in as a
//! `now: Timestamp` argument, rules come in as a [`Policy`]. The service layer loads state,
//! calls these transitions and stores what they return, in one transaction.

pub mod bank;
pub mod calendar;
pub mod card;
pub mod contribution;
pub mod evidence;
pub mod id;
pub mod money;
pub mod month;
pub mod name;
pub mod password;
pub mod person;
pub mod policy;
pub mod role;
pub mod settlement;
pub mod throttle;
pub mod time;
pub mod unitlock;

pub use calendar::{CalendarError, DayKind, WorkCalendar};
pub use card::{
    Card, CardNo, CardStatus, FinAccount, PasswordAttempt, PinVerifier, SsAccount, SsActivation,
    SsPassword,
};
pub use contribution::{Assessment, ContributionPolicy, CreditRules, Insured, RuleSet};
pub use evidence::{Evidence, EvidenceMissing, Missing};
pub use id::{IdNumber, IdNumberError};
pub use money::Fen;
pub use month::Month;
pub use name::{NameError, parse_name};
pub use password::{Pin, PinError, Weakness};
pub use person::{LegacyCard, Person, PersonKind, Phone, RegionCode};
pub use policy::{
    AgentPolicy, InitialPassword, MoneyLimits, Policy, WeakPasswordRule, WebLoginPolicy,
};
pub use role::Role;
pub use settlement::{Filing, FilingKind, SettlementPolicy, VisitKind};
pub use throttle::WebLoginThrottle;
pub use unitlock::{EmployerMonth, UnitLock, Unlock};
