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
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::Clerk,
        Role::Bank,
        Role::Pharmacy,
        Role::Hospital,
        Role::Hotline,
        Role::Employer,
        Role::Cardholder,
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
        }
    }

    /// Terminal actors sit at a place with a region code (API.md "Conventions").
    pub fn is_terminal(self) -> bool {
        matches!(self, Role::Bank | Role::Pharmacy | Role::Hospital)
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
