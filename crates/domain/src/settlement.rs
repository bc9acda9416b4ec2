//! Medical settlement arithmetic (R-MS-1..3): pharmacy purchases from the personal account,
//! hospital visits paid by the fund, and the out-of-area filing rules.

use crate::contribution::percent_of;
use crate::money::Fen;
use crate::person::RegionCode;
use jiff::civil::Date;

/// R-MS-1: the purchase is paid from the personal account as far as the balance goes; the rest
/// is paid in cash. Returns (from the account, cash due).
pub fn split_purchase(balance: Fen, amount: Fen) -> (Fen, Fen) {
    let from_account = Fen(balance.0.max(0).min(amount.0));
    (from_account, Fen(amount.0 - from_account.0))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitKind {
    Outpatient,
    /// Chronic and special outpatient care (门诊慢特病, D-18): fund-paid at its own ratio.
    ChronicOutpatient,
    Inpatient,
}

impl VisitKind {
    pub const ALL: [VisitKind; 3] = [
        VisitKind::Outpatient,
        VisitKind::ChronicOutpatient,
        VisitKind::Inpatient,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VisitKind::Outpatient => "outpatient",
            VisitKind::ChronicOutpatient => "chronic_outpatient",
            VisitKind::Inpatient => "inpatient",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        VisitKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The settlement side of a region's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettlementPolicy {
    /// R-MS-2: the fund pays a fixed diagnosis fee at outpatient registration.
    pub outpatient_fixed_fee: Fen,
    /// R-MS-2: the insured place's reimbursement ratio for inpatient costs.
    pub inpatient_ratio_bp: u32,
    /// D-18: the fund's ratio for chronic and special outpatient care.
    pub chronic_outpatient_ratio_bp: u32,
    /// R-MS-3: an emergency admission out of area is filed within this many working days.
    pub emergency_filing_working_days: u32,
}

/// R-MS-2: (fund pays, holder pays) for a visit costing `cost`.
pub fn split_visit(policy: &SettlementPolicy, kind: VisitKind, cost: Fen) -> (Fen, Fen) {
    let fund = match kind {
        VisitKind::Outpatient => Fen(policy.outpatient_fixed_fee.0.min(cost.0)),
        VisitKind::ChronicOutpatient => percent_of(cost, policy.chronic_outpatient_ratio_bp),
        VisitKind::Inpatient => percent_of(cost, policy.inpatient_ratio_bp),
    };
    (fund, Fen(cost.0 - fund.0))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilingKind {
    /// Long-term residence elsewhere: filed before the admission.
    LongTermResidence,
    /// Emergency while travelling: filed within N working days of admission (R-MS-3).
    Emergency,
    /// Referral to a hospital outside the insured place.
    Referral,
}

impl FilingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FilingKind::LongTermResidence => "long_term_residence",
            FilingKind::Emergency => "emergency",
            FilingKind::Referral => "referral",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            FilingKind::LongTermResidence,
            FilingKind::Emergency,
            FilingKind::Referral,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// An out-of-area filing on record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filing {
    pub kind: FilingKind,
    pub region: RegionCode,
    pub filed_on: Date,
    /// Emergencies: the admission it is for.
    pub admitted_on: Option<Date>,
}

impl Filing {
    /// Whether this filing lets an inpatient admission on `admitted_on` in `region` settle by
    /// card (R-MS-3): long-term residence and referral filed on or before the admission (a
    /// referral is filed before the transfer); an emergency filing for that very admission.
    pub fn covers(&self, region: &RegionCode, admitted_on: Date) -> bool {
        if &self.region != region {
            return false;
        }
        match self.kind {
            FilingKind::LongTermResidence | FilingKind::Referral => self.filed_on <= admitted_on,
            FilingKind::Emergency => self.admitted_on == Some(admitted_on),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    const POLICY: SettlementPolicy = SettlementPolicy {
        outpatient_fixed_fee: Fen(1_000),
        inpatient_ratio_bp: 8_000,
        chronic_outpatient_ratio_bp: 7_000,
        emergency_filing_working_days: 3,
    };

    // R-MS-1: the account pays what it holds, cash the rest.
    #[test]
    fn purchase_splits() {
        assert_eq!(split_purchase(Fen(5_000), Fen(3_000)), (Fen(3_000), Fen(0)));
        assert_eq!(
            split_purchase(Fen(2_000), Fen(3_000)),
            (Fen(2_000), Fen(1_000))
        );
        assert_eq!(split_purchase(Fen(0), Fen(3_000)), (Fen(0), Fen(3_000)));
    }

    // R-MS-2.
    #[test]
    fn visit_splits() {
        assert_eq!(
            split_visit(&POLICY, VisitKind::Outpatient, Fen(5_000)),
            (Fen(1_000), Fen(4_000))
        );
        assert_eq!(
            split_visit(&POLICY, VisitKind::Outpatient, Fen(600)),
            (Fen(600), Fen(0))
        );
        assert_eq!(
            split_visit(&POLICY, VisitKind::Inpatient, Fen(100_001)),
            (Fen(80_001), Fen(20_000))
        );
        // D-18: chronic outpatient care at its own ratio (70 %), rounded half up to the fen.
        assert_eq!(
            split_visit(&POLICY, VisitKind::ChronicOutpatient, Fen(10_005)),
            (Fen(7_004), Fen(3_001))
        );
    }

    // R-MS-3.
    #[test]
    fn filings_cover_their_admissions() {
        let here = RegionCode::parse("440300").unwrap();
        let there = RegionCode::parse("310000").unwrap();
        let residence = Filing {
            kind: FilingKind::LongTermResidence,
            region: here.clone(),
            filed_on: date(2026, 3, 1),
            admitted_on: None,
        };
        assert!(residence.covers(&here, date(2026, 3, 1)));
        assert!(
            !residence.covers(&here, date(2026, 2, 28)),
            "filed after the admission"
        );
        assert!(!residence.covers(&there, date(2026, 3, 5)));
        let emergency = Filing {
            kind: FilingKind::Emergency,
            region: here.clone(),
            filed_on: date(2026, 3, 4),
            admitted_on: Some(date(2026, 3, 2)),
        };
        assert!(emergency.covers(&here, date(2026, 3, 2)));
        assert!(
            !emergency.covers(&here, date(2026, 3, 9)),
            "another admission"
        );
    }

    proptest! {
        // Money is conserved: the two parts always add up to the whole.
        #[test]
        fn splits_conserve_money(balance in 0i64..10_000_000, amount in 1i64..10_000_000, inpatient: bool) {
            let (a, c) = split_purchase(Fen(balance), Fen(amount));
            prop_assert_eq!(a.0 + c.0, amount);
            prop_assert!(a.0 <= balance && a.0 >= 0 && c.0 >= 0);
            let kind = if inpatient { VisitKind::Inpatient } else { VisitKind::Outpatient };
            let (f, h) = split_visit(&POLICY, kind, Fen(amount));
            prop_assert_eq!(f.0 + h.0, amount);
            prop_assert!(f.0 >= 0 && h.0 >= 0);
        }
    }

    // The stored and wire names of visit and filing kinds (API.md). Catches an `as_str` that
    // returns another string and a `parse` that finds the wrong kind or none.
    #[test]
    fn kind_names_round_trip() {
        for (kind, name) in [
            (VisitKind::Outpatient, "outpatient"),
            (VisitKind::ChronicOutpatient, "chronic_outpatient"),
            (VisitKind::Inpatient, "inpatient"),
        ] {
            assert_eq!(kind.as_str(), name);
            assert_eq!(VisitKind::parse(name), Some(kind));
        }
        for (kind, name) in [
            (FilingKind::LongTermResidence, "long_term_residence"),
            (FilingKind::Emergency, "emergency"),
            (FilingKind::Referral, "referral"),
        ] {
            assert_eq!(kind.as_str(), name);
            assert_eq!(FilingKind::parse(name), Some(kind));
        }
        assert_eq!(VisitKind::parse("chronic"), None);
        assert_eq!(FilingKind::parse("travel"), None);
    }
}
