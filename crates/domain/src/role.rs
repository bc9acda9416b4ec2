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
    /// A self-service terminal (自助终端) with the holder's card inserted (R-PW-6, R-LS-1).
    Kiosk,
}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::Admin,
        Role::Clerk,
        Role::Bank,
        Role::Pharmacy,
        Role::Hospital,
        Role::Hotline,
        Role::Employer,
        Role::Cardholder,
        Role::Sms,
        Role::Kiosk,
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
            Role::Kiosk => "kiosk",
        }
    }

    /// Terminal actors sit at a place with a region code (API.md "Conventions").
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Role::Bank | Role::Pharmacy | Role::Hospital | Role::Kiosk
        )
    }

    /// May this role be answered a holder's name, ID number, phone or bank card number? Not
    /// the terminals that serve the public (pharmacy, hospital, hotline) nor the SMS platform:
    /// what they learn of a card is its number, status and account states (API.md
    /// "Conventions").
    pub fn sees_personal_data(self) -> bool {
        !matches!(
            self,
            Role::Pharmacy | Role::Hospital | Role::Hotline | Role::Sms | Role::Kiosk
        )
    }

    /// May this role see a card's personal-account balance? Those who see personal data, and
    /// the pharmacy, which pays from that balance and is answered it with every purchase
    /// (R-MS-1), and the self-service terminal, where the holder reads it with the card
    /// inserted. The hospital, the hotline and the SMS platform need it for nothing.
    pub fn sees_balance(self) -> bool {
        self.sees_personal_data() || matches!(self, Role::Pharmacy | Role::Kiosk)
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

#[cfg(test)]
mod tests {
    use super::*;

    // API.md "Conventions": the roles' names; terminals (bank, pharmacy, hospital, kiosk) have a
    // region; the terminals that serve the public (pharmacy, hospital, hotline) and the SMS
    // platform never see a holder's name, ID number, phone or bank card number, everyone
    // else does (the employer: its own employees, whom it registers); the balance is seen by
    // those and by the pharmacy, which pays from it (R-MS-1). The table is written from those
    // sentences. Catches any one role moved to the wrong side, a constant answer, `||` → `&&`
    // or `== Pharmacy` inverted in `sees_balance`, names that do not round-trip, an empty
    // Display.
    #[test]
    fn what_each_role_is_and_sees() {
        use Role::*;
        // (role, name, terminal, personal data, balance)
        let table = [
            (Admin, "admin", false, true, true),
            (Clerk, "clerk", false, true, true),
            (Bank, "bank", true, true, true),
            (Pharmacy, "pharmacy", true, false, true),
            (Hospital, "hospital", true, false, false),
            (Hotline, "hotline", false, false, false),
            (Employer, "employer", false, true, true),
            (Cardholder, "cardholder", false, true, true),
            (Sms, "sms", false, false, false),
            // The self-service terminal: a terminal with a region; the holder reads the card's
            // balance there with the card inserted, never the personal data (API.md).
            (Kiosk, "kiosk", true, false, true),
        ];
        assert_eq!(table.len(), Role::ALL.len());
        for (role, name, terminal, personal, balance) in table {
            assert_eq!(role.as_str(), name);
            assert_eq!(role.to_string(), name);
            assert_eq!(name.parse::<Role>(), Ok(role));
            assert_eq!(role.is_terminal(), terminal, "{role:?}");
            assert_eq!(role.sees_personal_data(), personal, "{role:?}");
            assert_eq!(role.sees_balance(), balance, "{role:?}");
        }
        assert_eq!("root".parse::<Role>(), Err(()));
        assert_eq!("Clerk".parse::<Role>(), Err(()));
    }
}
