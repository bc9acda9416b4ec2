//! Monthly assessment and personal-account crediting (R-EM-1, R-CR-1, D-5, D-12).
//!
//! The bureau assesses an employer's monthly medical-insurance contribution from each
//! employee's contribution base; the personal account of each insured person is credited when
//! the month's payment data has come back from the tax bureau (R-EM-4). What a person is
//! credited follows the rule set in force for the month: the seeds' rates by default, the 2021
//! reform (国办发〔2021〕14号) where a region switches to it on a date.
//!
//! Money is integer fen. Every percentage is in basis points (1 bp = 0.01 %), and each
//! component (the employee's part, the employer's part, a retiree's credit) is rounded half up
//! to the fen on its own (D-5).

use crate::money::Fen;
use crate::month::Month;
use crate::person::PersonKind;
use jiff::civil::Date;

/// How personal accounts are credited in a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditRules {
    /// R-CR-1 (001 §3): the employee's own contribution wholly, plus a share of the employer's
    /// (by age on the first day of the month, D-5); retirees a percentage of the employer's
    /// previous-year average monthly contribution wage (D-12).
    Seeds {
        employee_bp: u32,
        employer_under_45_bp: u32,
        employer_45_plus_bp: u32,
        retiree_bp: u32,
    },
    /// 国办发〔2021〕14号: the employer's whole contribution goes to the pooled fund; the
    /// employee's own contribution still goes wholly to the personal account; retirees get a
    /// fixed monthly amount set by the region.
    Reform2021 {
        employee_bp: u32,
        retiree_fixed: Fen,
    },
}

impl CreditRules {
    pub fn name(&self) -> &'static str {
        match self {
            CreditRules::Seeds { .. } => "seeds",
            CreditRules::Reform2021 { .. } => "reform_2021",
        }
    }

    /// The employee's own contribution rate (the same under both rule sets).
    pub fn employee_bp(&self) -> u32 {
        match self {
            CreditRules::Seeds { employee_bp, .. }
            | CreditRules::Reform2021 { employee_bp, .. } => *employee_bp,
        }
    }
}

/// A rule set and the first month it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    pub from: Month,
    pub rules: CreditRules,
}

/// The contribution side of a region's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionPolicy {
    /// R-EM-1: a month's contribution is due on this day of the month ("before the 15th" is
    /// read as "on or before the 15th": a payment dated the 15th is on time).
    pub due_day: i8,
    /// R-EM-4: the tax bureau's payment data reaches the bureau this many working days after
    /// the payment.
    pub tax_data_working_days: u32,
    /// The employer's total contribution rate, for the assessment (of which the rule set says
    /// how much reaches the personal account).
    pub employer_rate_bp: u32,
    /// R-EM-3: an employer that paid in full shows this many months of tax receipts.
    pub unlock_receipt_months: u32,
    /// Sorted by `from`, first one no later than any month assessed.
    pub rule_sets: Vec<RuleSet>,
}

impl ContributionPolicy {
    /// The rule set in force for `month`.
    pub fn rules_for(&self, month: Month) -> Option<&CreditRules> {
        self.rule_sets
            .iter()
            .rev()
            .find(|r| r.from <= month)
            .map(|r| &r.rules)
    }

    pub fn due_on(&self, month: Month) -> Date {
        month.day(self.due_day)
    }
}

/// `amount` × `bp` / 10 000, rounded half up to the fen (D-5). Amounts are non-negative.
pub fn percent_of(amount: Fen, bp: u32) -> Fen {
    let product = i128::from(amount.0.max(0)) * i128::from(bp);
    let rounded = (product + 5_000) / 10_000;
    Fen(i64::try_from(rounded).unwrap_or(i64::MAX))
}

/// Completed years of age on `day`.
pub fn age_on(birth: Date, day: Date) -> i16 {
    let mut age = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// One insured person as the month's assessment sees them.
#[derive(Debug, Clone, Copy)]
pub struct Insured {
    pub kind: PersonKind,
    pub birth: Date,
    pub base: Option<Fen>,
}

/// What one person owes and is owed for one month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessment {
    /// What the employer pays for this person (employee's and employer's parts together).
    pub contribution: Fen,
    /// The employee's own part of it (shown to the holder, R-CR-2).
    pub employee_part: Fen,
    /// What reaches the personal account once the payment data arrives.
    pub credit: Fen,
}

/// Assesses one person for `month` (R-CR-1, D-5, D-12). Residents and flexible workers are
/// not insured through an employer: `None`. An employee without a contribution base is
/// assessed at zero (the registration lacks it); a retiree's credit needs the employer's
/// previous-year average monthly wage (zero without it).
pub fn assess(
    policy: &ContributionPolicy,
    month: Month,
    person: &Insured,
    employer_avg_wage: Option<Fen>,
) -> Option<Assessment> {
    let rules = policy.rules_for(month)?;
    match person.kind {
        PersonKind::Employee => {
            let base = person.base.unwrap_or(Fen::ZERO);
            let employee_part = percent_of(base, rules.employee_bp());
            let employer_part = percent_of(base, policy.employer_rate_bp);
            let to_account_from_employer = match rules {
                CreditRules::Seeds {
                    employer_under_45_bp,
                    employer_45_plus_bp,
                    ..
                } => {
                    let age = age_on(person.birth, month.first_day());
                    let bp = if age >= 45 {
                        *employer_45_plus_bp
                    } else {
                        *employer_under_45_bp
                    };
                    percent_of(base, bp)
                }
                CreditRules::Reform2021 { .. } => Fen::ZERO,
            };
            Some(Assessment {
                contribution: Fen(employee_part.0 + employer_part.0),
                employee_part,
                credit: Fen(employee_part.0 + to_account_from_employer.0),
            })
        }
        PersonKind::Retiree => {
            let credit = match rules {
                CreditRules::Seeds { retiree_bp, .. } => {
                    percent_of(employer_avg_wage.unwrap_or(Fen::ZERO), *retiree_bp)
                }
                CreditRules::Reform2021 { retiree_fixed, .. } => *retiree_fixed,
            };
            Some(Assessment {
                contribution: Fen::ZERO,
                employee_part: Fen::ZERO,
                credit,
            })
        }
        PersonKind::Resident | PersonKind::Flexible => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn policy() -> ContributionPolicy {
        ContributionPolicy {
            due_day: 15,
            tax_data_working_days: 45,
            employer_rate_bp: 600,
            unlock_receipt_months: 3,
            rule_sets: vec![
                RuleSet {
                    from: Month::parse("2000-01").unwrap(),
                    rules: CreditRules::Seeds {
                        employee_bp: 200,
                        employer_under_45_bp: 110,
                        employer_45_plus_bp: 150,
                        retiree_bp: 400,
                    },
                },
                RuleSet {
                    from: Month::parse("2027-01").unwrap(),
                    rules: CreditRules::Reform2021 {
                        employee_bp: 200,
                        retiree_fixed: Fen(8_000),
                    },
                },
            ],
        }
    }

    fn month(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    // R-CR-1: under 45, 2% + 1.1% = 3.1% of the base; 45 and over 2% + 1.5% = 3.5%.
    #[test]
    fn seeds_rates_by_age() {
        let young = Insured {
            kind: PersonKind::Employee,
            birth: date(1990, 6, 1),
            base: Some(Fen(600_000)),
        };
        let a = assess(&policy(), month("2026-03"), &young, None).unwrap();
        assert_eq!(a.employee_part, Fen(12_000));
        assert_eq!(a.credit, Fen(18_600));
        assert_eq!(a.contribution, Fen(12_000 + 36_000));
        // D-5: age is taken on the first day of the month: 45 on 2026-03-01 exactly.
        let turning = Insured {
            birth: date(1981, 3, 1),
            ..young
        };
        assert_eq!(
            assess(&policy(), month("2026-03"), &turning, None)
                .unwrap()
                .credit,
            Fen(21_000)
        );
        assert_eq!(
            assess(&policy(), month("2026-02"), &turning, None)
                .unwrap()
                .credit,
            Fen(18_600),
            "still 44 on 2026-02-01"
        );
    }

    // R-CR-1, D-12: retirees get 4% of the employer's previous-year average monthly wage.
    #[test]
    fn retirees_and_the_reform() {
        let retiree = Insured {
            kind: PersonKind::Retiree,
            birth: date(1950, 1, 1),
            base: None,
        };
        let a = assess(&policy(), month("2026-12"), &retiree, Some(Fen(712_345))).unwrap();
        assert_eq!(
            a.credit,
            Fen(28_494),
            "4% of 7123.45 yuan = 284.938 → 284.94"
        );
        assert_eq!(a.contribution, Fen::ZERO);
        // 2021 reform from 2027-01: a fixed amount for retirees, no employer share for employees.
        let a = assess(&policy(), month("2027-01"), &retiree, Some(Fen(712_345))).unwrap();
        assert_eq!(a.credit, Fen(8_000));
        let employee = Insured {
            kind: PersonKind::Employee,
            birth: date(1970, 1, 1),
            base: Some(Fen(500_000)),
        };
        let a = assess(&policy(), month("2027-01"), &employee, None).unwrap();
        assert_eq!(a.credit, Fen(10_000));
        assert_eq!(a.contribution, Fen(40_000), "the assessment is unchanged");
        assert!(
            assess(
                &policy(),
                month("2027-01"),
                &Insured {
                    kind: PersonKind::Resident,
                    ..employee
                },
                None
            )
            .is_none()
        );
    }

    // D-5: half up to the fen.
    #[test]
    fn rounding_is_half_up() {
        assert_eq!(percent_of(Fen(25), 200), Fen(1)); // 0.5 → 1
        assert_eq!(percent_of(Fen(24), 200), Fen(0)); // 0.48 → 0
        assert_eq!(percent_of(Fen(75), 200), Fen(2)); // 1.5 → 2
        assert_eq!(percent_of(Fen(0), 200), Fen(0));
    }

    #[test]
    fn due_day_and_rule_set_choice() {
        assert_eq!(policy().due_on(month("2026-02")), date(2026, 2, 15));
        assert_eq!(
            policy().rules_for(month("2026-12")).unwrap().name(),
            "seeds"
        );
        assert_eq!(
            policy().rules_for(month("2027-01")).unwrap().name(),
            "reform_2021"
        );
        assert!(policy().rules_for(month("1999-12")).is_none());
    }

    // -----------------------------------------------------------------------------------------
    // R-CR-1 and D-5 stated from the rule text, not from `assess`: the employee's 2 % of the
    // base, plus 1.1 % of it under 45 or 1.5 % from 45 (age on the first day of the credited
    // month), each part rounded half up to the fen; retirees 4 % of the employer's average
    // wage. Percentages are written as fractions and rounded as ⌊x + ½⌋.
    // -----------------------------------------------------------------------------------------

    /// ⌊numerator / denominator + ½⌋ for non-negative amounts: half up to the fen.
    fn half_up(numerator: i128, denominator: i128) -> i64 {
        i64::try_from((2 * numerator + denominator) / (2 * denominator)).unwrap()
    }

    /// D-5: 45 or older on `day` — `day` is on or after the 45th birthday. (A 29 February
    /// birthday falls on 28 February of a common year here; on the first of a month, the
    /// only day asked, 28 February or 1 March cannot make a difference.)
    fn is_45_on(birth: Date, day: Date) -> bool {
        birth.checked_add(jiff::Span::new().years(45)).unwrap() <= day
    }

    /// What R-CR-1 gives, or `None` where no employer insures the person (or before the
    /// first rule set).
    fn expected(
        kind: PersonKind,
        birth: Date,
        base: Option<i64>,
        wage: Option<i64>,
        m: Month,
    ) -> Option<Assessment> {
        if m < month("2000-01") {
            return None;
        }
        let reform = m >= month("2027-01");
        match kind {
            PersonKind::Employee => {
                let base = i128::from(base.unwrap_or(0));
                let own = half_up(base * 2, 100); // 2 %
                let employer_total = half_up(base * 6, 100); // the employer's 6 %
                let share = if reform {
                    0
                } else if is_45_on(birth, m.first_day()) {
                    half_up(base * 15, 1000) // 1.5 %
                } else {
                    half_up(base * 11, 1000) // 1.1 %
                };
                Some(Assessment {
                    contribution: Fen(own + employer_total),
                    employee_part: Fen(own),
                    credit: Fen(own + share),
                })
            }
            PersonKind::Retiree => Some(Assessment {
                contribution: Fen::ZERO,
                employee_part: Fen::ZERO,
                credit: Fen(if reform {
                    8_000
                } else {
                    half_up(i128::from(wage.unwrap_or(0)) * 4, 100) // 4 %
                }),
            }),
            PersonKind::Resident | PersonKind::Flexible => None,
        }
    }

    /// Birth dates on the 1st, on the last day of a month, on 29 February, or any day.
    fn birth_date() -> impl Strategy<Value = Date> {
        let first = (1930i16..=2008, 1i8..=12).prop_map(|(y, m)| date(y, m, 1));
        let last = (1930i16..=2008, 1i8..=12).prop_map(|(y, m)| date(y, m, 1).last_of_month());
        let leap = (1932i16..=2008).prop_map(|y| date(y - y % 4, 2, 29));
        let any = (1930i16..=2008, 1i8..=12, 1i8..=31)
            .prop_map(|(y, m, d)| date(y, m, d.min(date(y, m, 1).days_in_month())));
        prop_oneof![first, last, leap, any]
    }

    /// Bases where a part is exactly half a fen (2 %: 25 mod 50; 1.1 %: 500 mod 1000; 1.5 %:
    /// 100 mod 200), small ones, and any up to the national ceiling (D-14).
    fn base() -> impl Strategy<Value = i64> {
        prop_oneof![
            (0i64..100_000).prop_map(|k| 50 * k + 25),
            (0i64..5_000).prop_map(|k| 1_000 * k + 500),
            (0i64..25_000).prop_map(|k| 200 * k + 100),
            0i64..100,
            0i64..=5_000_000,
        ]
    }

    fn kind() -> impl Strategy<Value = PersonKind> {
        prop_oneof![
            6 => Just(PersonKind::Employee),
            2 => Just(PersonKind::Retiree),
            1 => Just(PersonKind::Resident),
            1 => Just(PersonKind::Flexible),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

        // R-CR-1, D-5, D-12: the assessment equals the rule text's, for random birth dates
        // (1st, last day, 29 February) and months around the 45th birthday (two months either
        // side, so the boundary is crossed both ways) or anywhere from 1998 to 2030 (before
        // the first rule set, under the seeds' rates and under the 2021 reform). Catches the
        // age taken on the last day of the month or on the assessment day, `> 45` for `>= 45`,
        // the two rates swapped, the share rounded on the sum instead of each part, rounding
        // down or to even, the retiree's rate on the base, the employer's share credited
        // under the reform.
        #[test]
        fn assessment_follows_the_rule_text(
            kind in kind(),
            birth in birth_date(),
            base in prop::option::weighted(0.95, base()),
            wage in prop::option::weighted(0.9, 0i64..=5_000_000),
            near_45 in any::<bool>(),
            shift in -2i32..=2,
            any_month in (1998i16..=2030, 1i8..=12),
        ) {
            let m = if near_45 {
                let turning = birth.checked_add(jiff::Span::new().years(45)).unwrap();
                Month::of(turning.first_of_month().checked_add(jiff::Span::new().months(shift)).unwrap())
            } else {
                Month::of(date(any_month.0, any_month.1, 1))
            };
            let person = Insured { kind, birth, base: base.map(Fen) };
            let got = assess(&policy(), m, &person, wage.map(Fen));
            prop_assert_eq!(got, expected(kind, birth, base, wage, m), "{:?} born {} in {}", kind, birth, m);
            if let Some(a) = got {
                prop_assert!(a.credit >= Fen::ZERO && a.employee_part <= a.credit);
                if kind == PersonKind::Employee {
                    prop_assert!(a.credit <= a.contribution, "never more than was paid");
                }
            }
        }

        // D-5: `age_on` is the number of whole years since birth: `day` is on or after the
        // k-th birthday and before the (k+1)-th (births on 29 February left out: their
        // birthday in a common year is a convention, see `is_45_on`). Catches `<` for `<=`
        // on the birthday itself and an age off by one.
        #[test]
        fn age_is_whole_years(birth in birth_date(), later in 0i32..(100 * 366)) {
            let birth = if (birth.month(), birth.day()) == (2, 29) { date(birth.year(), 2, 28) } else { birth };
            let day = birth.checked_add(jiff::Span::new().days(later)).unwrap();
            let age = age_on(birth, day);
            let birthday = |k: i16| birth.checked_add(jiff::Span::new().years(k)).unwrap();
            prop_assert!(age >= 0);
            prop_assert!(birthday(age) <= day && day < birthday(age + 1), "{} on {}: {}", birth, day, age);
        }
    }

    // D-5 at the boundary, by hand: born on the 1st, the last day of a month and 29 February.
    #[test]
    fn the_45_boundary_by_hand() {
        let credit = |birth: Date, m: &str| {
            let p = Insured {
                kind: PersonKind::Employee,
                birth,
                base: Some(Fen(100_000)),
            };
            assess(&policy(), month(m), &p, None).unwrap().credit
        };
        let (under, over) = (Fen(2_000 + 1_100), Fen(2_000 + 1_500));
        // Born 1981-03-01: 45 on 2026-03-01 itself.
        assert_eq!(credit(date(1981, 3, 1), "2026-02"), under);
        assert_eq!(credit(date(1981, 3, 1), "2026-03"), over);
        // Born 1981-03-31: still 44 on 2026-03-01, 45 on 2026-04-01.
        assert_eq!(credit(date(1981, 3, 31), "2026-03"), under);
        assert_eq!(credit(date(1981, 3, 31), "2026-04"), over);
        // Born 1980-02-29: 45 from March 2025 (no 29 February that year).
        assert_eq!(credit(date(1980, 2, 29), "2025-02"), under);
        assert_eq!(credit(date(1980, 2, 29), "2025-03"), over);
        // Born 1979-03-02: 44 on 2024-03-01 (one day short), 45 on 2024-04-01.
        assert_eq!(credit(date(1979, 3, 2), "2024-03"), under);
        assert_eq!(credit(date(1979, 3, 2), "2024-04"), over);
        assert_eq!(age_on(date(1979, 3, 2), date(2024, 3, 1)), 44);
        assert_eq!(age_on(date(1979, 3, 2), date(2024, 3, 2)), 45);
    }
}
