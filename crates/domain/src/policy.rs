//! Region policy: the numbers where the sources disagree (RULES.md "Region profiles").
//!
//! The service layer reads these from TOML; the domain only consumes them.

use crate::person::RegionCode;
use jiff::SignedDuration;

#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    /// The region this deployment serves; the default for people and terminals.
    pub home_region: RegionCode,
    /// R-LK-1: wrong social-security passwords before the lock.
    pub ss_password_tries_max: u32,
    /// D-1: wrong financial passwords before the bank's lock.
    pub fin_password_tries_max: u32,
    /// R-PW-3: what the holder is told the initial password is.
    pub initial_password: InitialPassword,
    /// R-PW-2: refuse weak passwords or only warn.
    pub weak_passwords: WeakPasswordRule,
    /// R-LK-4: what an agent must bring.
    pub agent: AgentPolicy,
    /// R-ACT-2: delay between bank activation and the social-security account's activation
    /// (zero: at the same moment, Shenyang 000 G).
    pub bank_activation_delay: SignedDuration,
    /// R-ACT-3 (000 I): the activation channels residents (城乡居民) may use, by name.
    pub resident_channels: Vec<String>,
    /// R-LK-2: the roles that may unlock and reset the social-security password (the window
    /// clerk everywhere; in Guangxi the partner bank's branches too, 003 §5, 004).
    pub ss_reset_roles: Vec<crate::role::Role>,
    /// D-16: how long an electronic-card payment code is valid (`ecard.code_seconds`).
    pub ecard_code_validity: SignedDuration,
    /// D-4: throttling of the online query password.
    pub web_login: WebLoginPolicy,
    /// R-LS-1: a pre-loss lapses after this long (D-3: N × 24 h).
    pub pre_loss_duration: SignedDuration,
    /// R-LS-5: working days to produce a replacement card.
    pub replacement_working_days: u32,
    /// R-AC-3: the fee for a replacement card.
    pub replacement_fee: crate::money::Fen,
    /// R-EM-1..4, R-CR-1: deadlines, rates and crediting rule sets.
    pub contribution: crate::contribution::ContributionPolicy,
    /// R-MS-2, R-MS-3: what the fund pays and the filing window.
    pub settlement: crate::settlement::SettlementPolicy,
    /// D-14: the ceilings on money.
    pub limits: MoneyLimits,
}

/// D-14: no amount of money the system keeps may exceed these (the national values: a legacy
/// card's balance 50 000 yuan, a personal account 500 000 yuan, a monthly contribution base or
/// average wage 50 000 yuan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoneyLimits {
    /// An old medical card's balance carried over from the bureau's records.
    pub legacy_balance_max: crate::money::Fen,
    /// A personal medical account's balance.
    pub balance_max: crate::money::Fen,
    /// A monthly contribution base, or an employer's previous-year average monthly wage.
    pub contribution_base_max: crate::money::Fen,
}

impl MoneyLimits {
    /// The national values of D-14.
    pub const NATIONAL: MoneyLimits = MoneyLimits {
        legacy_balance_max: crate::money::Fen(5_000_000),
        balance_max: crate::money::Fen(50_000_000),
        contribution_base_max: crate::money::Fen(5_000_000),
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialPassword {
    /// `123456`, not enabled until changed (national, Guangxi).
    Fixed123456,
    /// The last six characters of the social security number (001), `X` read as `0`.
    IdLastSix,
    /// The last six digits of the card number (001).
    CardLastSix,
    /// No initial password; setting one is voluntary (Shenyang, 000 G).
    None,
}

impl InitialPassword {
    pub fn as_str(self) -> &'static str {
        match self {
            InitialPassword::Fixed123456 => "123456",
            InitialPassword::IdLastSix => "id_last_six",
            InitialPassword::CardLastSix => "card_last_six",
            InitialPassword::None => "none",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeakPasswordRule {
    Refuse,
    Warn,
}

/// What a holder's agent, and in some cities the holder too, must bring (R-LK-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentPolicy {
    pub allowed: bool,
    pub power_of_attorney: bool,
    /// An agent brings a letter from the holder's employer (001).
    pub employer_letter: bool,
    /// The holder in person brings the employer's letter too (001: Xi'an, Jiangyin — 本人身份证、
    /// 单位介绍信和本人IC卡).
    pub employer_letter_for_holder: bool,
}

impl AgentPolicy {
    /// The evidence asked of one person: an employer's letter can only be asked of someone
    /// insured through an employer (an employee); residents, flexible workers and retirees
    /// have no employer to write it.
    pub fn for_kind(self, kind: crate::person::PersonKind) -> AgentPolicy {
        if kind == crate::person::PersonKind::Employee {
            self
        } else {
            AgentPolicy {
                employer_letter: false,
                employer_letter_for_holder: false,
                ..self
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebLoginPolicy {
    pub free_failures: u32,
    pub first_wait: SignedDuration,
    pub max_wait: SignedDuration,
}

#[cfg(test)]
mod tests {
    use super::*;

    // R-PW-3: the names the policy files and the API use for the initial password. Catches an
    // `as_str` that returns another string.
    #[test]
    fn initial_password_names() {
        assert_eq!(InitialPassword::Fixed123456.as_str(), "123456");
        assert_eq!(InitialPassword::IdLastSix.as_str(), "id_last_six");
        assert_eq!(InitialPassword::CardLastSix.as_str(), "card_last_six");
        assert_eq!(InitialPassword::None.as_str(), "none");
    }
}
