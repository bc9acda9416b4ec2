//! The roles an actor can hold (API.md "Conventions").

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    /// A service-window clerk of the bureau.
    Clerk,
    /// A partner bank branch.
    Bank,
    /// A designated pharmacy.
    Pharmacy,
    /// A designated hospital.
    Hospital,
    /// The phone hotline.
    Hotline,
    /// An employer, bound to one employer id.
    Employer,
    /// A cardholder's self-service session.
    Cardholder,
    /// The SMS platform that forwards holders' messages (`K<serial>` activation, R-ACT-3).
    Sms,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Admin,
        Role::Clerk,
        Role::Bank,
        Role::Pharmacy,
        Role::Hospital,
        Role::Hotline,
        Role::Employer,
        Role::Cardholder,
        Role::Sms,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Clerk => "clerk",
            Role::Bank => "bank",
            Role::Pharmacy => "pharmacy",
            Role::Hospital => "hospital",
            Role::Hotline => "hotline",
            Role::Employer => "employer",
            Role::Cardholder => "cardholder",
            Role::Sms => "sms",
        }
    }

    /// Terminal actors sit at a place with a region code (API.md "Conventions").
    pub fn is_terminal(self) -> bool {
        matches!(self, Role::Bank | Role::Pharmacy | Role::Hospital)
    }

    /// May this role be answered a holder's name, ID number, phone or bank card number? Not
    /// the terminals that serve the public (pharmacy, hospital, hotline) nor the SMS platform:
    /// what they learn of a card is its number, status and account states (API.md
    /// "Conventions").
    pub fn sees_personal_data(self) -> bool {
        !matches!(
            self,
            Role::Pharmacy | Role::Hospital | Role::Hotline | Role::Sms
        )
    }

    /// May this role see a card's personal-account balance? Those who see personal data, and
    /// the pharmacy, which pays from that balance and is answered it with every purchase
    /// (R-MS-1). The hospital, the hotline and the SMS platform need it for nothing.
    pub fn sees_balance(self) -> bool {
        self.sees_personal_data() || self == Role::Pharmacy
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}
