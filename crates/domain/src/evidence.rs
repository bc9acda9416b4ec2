//! What a clerk or bank saw before acting for a holder (R-LK-2, R-LK-4, R-PW-4, R-LS-3).
//!
//! The holder in person shows the original ID. An agent shows their own ID and the holder's
//! ID; the region policy may also want a power of attorney (Guangxi, 003) or an employer's
//! letter (some cities, 001).

use crate::id::IdNumber;
use crate::policy::AgentPolicy;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    pub holder_present: bool,
    pub holder_id_checked: bool,
    pub agent_id_number: Option<IdNumber>,
    pub power_of_attorney: bool,
    pub employer_letter: bool,
    /// The pickup certificate (领卡证明) a replacement card is collected with (R-LS-5, 001).
    pub pickup_certificate: bool,
}

/// One piece of evidence that is missing: a stable code (the console words each in its own
/// catalogue) and the words a clerk can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Missing {
    /// No evidence was sent at all.
    Evidence,
    /// The holder's original ID card must be checked.
    HolderIdChecked,
    /// The holder must come in person (agents are not allowed, or the act is the holder's own).
    HolderInPerson,
    /// The holder is absent: the agent's ID number is required.
    AgentIdNumber,
    /// The agent's ID number is the holder's own.
    AgentIsHolder,
    /// The region requires a power of attorney (委托书) for an agent.
    PowerOfAttorney,
    /// The region requires a letter from the employer (for an agent, or for the holder too).
    EmployerLetter,
    /// A replacement card is collected with the pickup certificate (R-LS-5, 001).
    PickupCertificate,
}

impl Missing {
    pub const ALL: [Missing; 8] = [
        Missing::Evidence,
        Missing::HolderIdChecked,
        Missing::HolderInPerson,
        Missing::AgentIdNumber,
        Missing::AgentIsHolder,
        Missing::PowerOfAttorney,
        Missing::EmployerLetter,
        Missing::PickupCertificate,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Missing::Evidence => "evidence",
            Missing::HolderIdChecked => "holder_id_checked",
            Missing::HolderInPerson => "holder_in_person",
            Missing::AgentIdNumber => "agent_id_number",
            Missing::AgentIsHolder => "agent_is_holder",
            Missing::PowerOfAttorney => "power_of_attorney",
            Missing::EmployerLetter => "employer_letter",
            Missing::PickupCertificate => "pickup_certificate",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Missing::Evidence => "evidence is required",
            Missing::HolderIdChecked => "the holder's original ID card must be checked",
            Missing::HolderInPerson => "the holder must come in person",
            Missing::AgentIdNumber => "the holder is absent: the agent's ID number is required",
            Missing::AgentIsHolder => "the agent's ID number must not be the holder's own",
            Missing::PowerOfAttorney => {
                "this region requires a power of attorney (委托书) for an agent"
            }
            Missing::EmployerLetter => {
                "this region requires a letter from the employer (单位介绍信)"
            }
            Missing::PickupCertificate => {
                "a replacement card is collected with the pickup certificate (领卡证明)"
            }
        }
    }
}

/// The pieces of evidence that are missing, in the order they are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceMissing(pub Vec<Missing>);

impl EvidenceMissing {
    pub fn describe(&self) -> String {
        let words: Vec<&str> = self.0.iter().map(|m| m.describe()).collect();
        format!("missing evidence: {}", words.join("; "))
    }
}

impl Evidence {
    /// Evidence for acting on the holder's behalf: the holder in person with ID, or an agent
    /// with what the policy asks (R-LK-2, R-LK-4).
    pub fn check_holder_or_agent(
        &self,
        holder: &IdNumber,
        agents: &AgentPolicy,
    ) -> Result<(), EvidenceMissing> {
        let mut missing = Vec::new();
        if !self.holder_id_checked {
            missing.push(Missing::HolderIdChecked);
        }
        if agents.employer_letter_for_holder && self.holder_present && !self.employer_letter {
            missing.push(Missing::EmployerLetter);
        }
        if !self.holder_present {
            if !agents.allowed {
                missing.push(Missing::HolderInPerson);
            } else {
                match &self.agent_id_number {
                    None => missing.push(Missing::AgentIdNumber),
                    Some(agent) if agent == holder => missing.push(Missing::AgentIsHolder),
                    Some(_) => {}
                }
                if agents.power_of_attorney && !self.power_of_attorney {
                    missing.push(Missing::PowerOfAttorney);
                }
                if agents.employer_letter && !self.employer_letter {
                    missing.push(Missing::EmployerLetter);
                }
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(EvidenceMissing(missing))
        }
    }

    /// Evidence for collecting a replacement card (R-LS-5, 001): the holder or an agent as for
    /// any act for the holder, and the pickup certificate.
    pub fn check_collection(
        &self,
        holder: &IdNumber,
        agents: &AgentPolicy,
    ) -> Result<(), EvidenceMissing> {
        let mut missing = match self.check_holder_or_agent(holder, agents) {
            Ok(()) => Vec::new(),
            Err(EvidenceMissing(m)) => m,
        };
        if !self.pickup_certificate {
            missing.push(Missing::PickupCertificate);
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(EvidenceMissing(missing))
        }
    }

    /// Evidence for an act only the holder can do in person with ID (R-PW-4).
    pub fn check_holder_in_person(&self) -> Result<(), EvidenceMissing> {
        let mut missing = Vec::new();
        if !self.holder_present {
            missing.push(Missing::HolderInPerson);
        }
        if !self.holder_id_checked {
            missing.push(Missing::HolderIdChecked);
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(EvidenceMissing(missing))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder() -> IdNumber {
        IdNumber::parse_shape("11010519491231002X").unwrap()
    }
    fn agent() -> IdNumber {
        IdNumber::parse_shape("110105198001010016").unwrap()
    }

    // R-LK-2, R-LK-4
    #[test]
    fn agents_need_what_the_region_asks() {
        let national = AgentPolicy {
            allowed: true,
            power_of_attorney: false,
            employer_letter: false,
            employer_letter_for_holder: false,
        };
        let guangxi = AgentPolicy {
            power_of_attorney: true,
            ..national
        };
        let by_agent = Evidence {
            holder_present: false,
            holder_id_checked: true,
            agent_id_number: Some(agent()),
            ..Evidence::default()
        };
        assert!(by_agent.check_holder_or_agent(&holder(), &national).is_ok());
        assert!(by_agent.check_holder_or_agent(&holder(), &guangxi).is_err());
        let with_poa = Evidence {
            power_of_attorney: true,
            ..by_agent.clone()
        };
        assert!(with_poa.check_holder_or_agent(&holder(), &guangxi).is_ok());
        let no_agent_id = Evidence {
            agent_id_number: None,
            ..with_poa
        };
        assert!(
            no_agent_id
                .check_holder_or_agent(&holder(), &guangxi)
                .is_err()
        );
        let in_person = Evidence {
            holder_present: true,
            holder_id_checked: true,
            ..Evidence::default()
        };
        assert!(in_person.check_holder_or_agent(&holder(), &guangxi).is_ok());
        let unchecked = Evidence {
            holder_present: true,
            ..Evidence::default()
        };
        assert!(
            unchecked
                .check_holder_or_agent(&holder(), &national)
                .is_err()
        );
    }

    // R-LK-4: an agent cannot be the holder under another hat; a region that asks for an
    // employer's letter (001) refuses an agent without one. Catches the `agent == holder`
    // guard dropped and the letter's check inverted (`!` deleted).
    #[test]
    fn agent_is_not_the_holder_and_brings_the_letter_where_asked() {
        let letter = AgentPolicy {
            allowed: true,
            power_of_attorney: false,
            employer_letter: true,
            employer_letter_for_holder: false,
        };
        let by_agent = Evidence {
            holder_present: false,
            holder_id_checked: true,
            agent_id_number: Some(agent()),
            ..Evidence::default()
        };
        assert_eq!(
            by_agent.check_holder_or_agent(&holder(), &letter),
            Err(EvidenceMissing(vec![Missing::EmployerLetter]))
        );
        let with_letter = Evidence {
            employer_letter: true,
            ..by_agent.clone()
        };
        assert_eq!(
            with_letter.check_holder_or_agent(&holder(), &letter),
            Ok(())
        );
        let self_agent = Evidence {
            agent_id_number: Some(holder()),
            ..with_letter
        };
        assert_eq!(
            self_agent.check_holder_or_agent(&holder(), &letter),
            Err(EvidenceMissing(vec![Missing::AgentIsHolder]))
        );
        // Agents not allowed: the holder must come.
        let no_agents = AgentPolicy {
            allowed: false,
            ..letter
        };
        assert_eq!(
            by_agent.check_holder_or_agent(&holder(), &no_agents),
            Err(EvidenceMissing(vec![Missing::HolderInPerson]))
        );
    }

    // R-LK-4 (001: Xi'an, Jiangyin): where the holder in person brings the employer's letter
    // too, a holder without it is refused, an agent with it and both IDs is not; a person with
    // no employer is not asked for one. Catches the holder's letter never asked, or asked of
    // every kind of person.
    #[test]
    fn some_cities_ask_the_holder_for_the_employer_letter() {
        let xian = AgentPolicy {
            allowed: true,
            power_of_attorney: false,
            employer_letter: true,
            employer_letter_for_holder: true,
        };
        let in_person = Evidence {
            holder_present: true,
            holder_id_checked: true,
            ..Evidence::default()
        };
        assert_eq!(
            in_person.check_holder_or_agent(&holder(), &xian),
            Err(EvidenceMissing(vec![Missing::EmployerLetter]))
        );
        let with_letter = Evidence {
            employer_letter: true,
            ..in_person.clone()
        };
        assert_eq!(with_letter.check_holder_or_agent(&holder(), &xian), Ok(()));
        let resident = xian.for_kind(crate::person::PersonKind::Resident);
        assert_eq!(
            in_person.check_holder_or_agent(&holder(), &resident),
            Ok(())
        );
        let employee = xian.for_kind(crate::person::PersonKind::Employee);
        assert_eq!(employee, xian);
    }

    // R-PW-4: cancelling a password needs the holder in person *and* the original ID checked;
    // the clerk is told each missing piece. Catches an always-Ok check and either test
    // inverted.
    #[test]
    fn in_person_needs_presence_and_id() {
        let ev = |present, checked| Evidence {
            holder_present: present,
            holder_id_checked: checked,
            ..Evidence::default()
        };
        assert_eq!(ev(true, true).check_holder_in_person(), Ok(()));
        assert_eq!(
            ev(false, true).check_holder_in_person(),
            Err(EvidenceMissing(vec![Missing::HolderInPerson]))
        );
        assert_eq!(
            ev(true, false).check_holder_in_person(),
            Err(EvidenceMissing(vec![Missing::HolderIdChecked]))
        );
        let both = ev(false, false).check_holder_in_person().unwrap_err();
        assert_eq!(both.0.len(), 2);
        assert_eq!(
            both.0.iter().map(|m| m.code()).collect::<Vec<_>>(),
            ["holder_in_person", "holder_id_checked"]
        );
        // The clerk reads every missing piece in one line.
        assert_eq!(
            both.describe(),
            "missing evidence: the holder must come in person; the holder's original ID card must be checked"
        );
    }
}
