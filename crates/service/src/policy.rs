//! Region policies as TOML (RULES.md "Region profiles"). Shipped policies are built into the
//! binary; `--policy FILE` loads another. Loading validates every value and names the field
//! that is wrong.

use jiff::SignedDuration;
use serde::Deserialize;
use shebao_domain::{
    AgentPolicy, ContributionPolicy, CreditRules, Fen, InitialPassword, MoneyLimits, Month, Policy,
    RegionCode, Role, RuleSet, SettlementPolicy, WeakPasswordRule, WebLoginPolicy,
};

/// The policies shipped in the binary, by name.
pub const SHIPPED: [(&str, &str); 4] = [
    ("national", include_str!("../../../policies/national.toml")),
    ("guangxi", include_str!("../../../policies/guangxi.toml")),
    ("shenyang", include_str!("../../../policies/shenyang.toml")),
    ("xian", include_str!("../../../policies/xian.toml")),
];

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "unknown policy {0:?}: shipped policies are national, guangxi, shenyang, xian, or give a path to a .toml file"
    )]
    Unknown(String),
    #[error("policy file {path}: {message}")]
    Read { path: String, message: String },
    #[error("policy {name}: {message}")]
    Invalid { name: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    name: String,
    home_region: String,
    ss_password: SsPasswordSection,
    fin_password: FinPasswordSection,
    agent: AgentSection,
    activation: ActivationSection,
    web_login: WebLoginSection,
    loss: LossSection,
    replacement: ReplacementSection,
    contribution: ContributionSection,
    crediting: Vec<CreditingSection>,
    settlement: SettlementSection,
    limits: LimitsSection,
    /// Absent in a region file written before the electronic card: the default of D-16.
    #[serde(default)]
    ecard: Option<EcardSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EcardSection {
    code_seconds: u32,
}

/// D-16: how long an electronic-card payment code is valid where the policy does not say.
pub const ECARD_CODE_SECONDS_DEFAULT: u32 = 60;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    legacy_balance_fen_max: i64,
    balance_fen_max: i64,
    contribution_base_fen_max: i64,
}

/// Ten billion yuan: no ceiling of D-14 may be set above it, so that sums of a few amounts
/// (a balance plus a credit) stay far inside 64 bits.
const CEILING_FEN_MAX: i64 = 1_000_000_000_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContributionSection {
    due_day: i8,
    tax_data_working_days: u32,
    employer_rate_bp: u32,
    unlock_receipt_months: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditingSection {
    from: String,
    rules: String,
    employee_bp: u32,
    employer_under_45_bp: Option<u32>,
    employer_45_plus_bp: Option<u32>,
    retiree_bp: Option<u32>,
    retiree_fixed_fen: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettlementSection {
    outpatient_fixed_fee_fen: i64,
    inpatient_ratio_bp: u32,
    chronic_outpatient_ratio_bp: u32,
    emergency_filing_working_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LossSection {
    pre_loss_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplacementSection {
    production_working_days: u32,
    fee_fen: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SsPasswordSection {
    tries_max: u32,
    initial: String,
    weak: String,
    reset_roles: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FinPasswordSection {
    tries_max: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentSection {
    allowed: bool,
    power_of_attorney: bool,
    employer_letter: bool,
    employer_letter_for_holder: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivationSection {
    bank_delay_hours: u32,
    resident_channels: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebLoginSection {
    free_failures: u32,
    first_wait_s: u32,
    max_wait_s: u32,
}

/// A shipped policy name, or a path to a TOML file.
pub fn load(name_or_path: &str) -> Result<Policy, PolicyError> {
    if let Some((_, text)) = SHIPPED.iter().find(|(name, _)| *name == name_or_path) {
        return parse(text);
    }
    if name_or_path.ends_with(".toml") || name_or_path.contains('/') {
        let text = std::fs::read_to_string(name_or_path).map_err(|e| PolicyError::Read {
            path: name_or_path.to_owned(),
            message: e.to_string(),
        })?;
        return parse(&text);
    }
    Err(PolicyError::Unknown(name_or_path.to_owned()))
}

pub fn parse(text: &str) -> Result<Policy, PolicyError> {
    let file: PolicyFile = toml::from_str(text).map_err(|e| PolicyError::Invalid {
        name: "(unnamed)".into(),
        message: e.to_string(),
    })?;
    let invalid = |message: &str| PolicyError::Invalid {
        name: file.name.clone(),
        message: message.to_owned(),
    };
    let home_region = RegionCode::parse(&file.home_region)
        .ok_or_else(|| invalid("home_region is a 6-digit division code"))?;
    // R-LK-1: the sources name 3, 5 and 6; anything from 1 to 10 is a plausible region rule.
    if !(1..=10).contains(&file.ss_password.tries_max) {
        return Err(invalid(
            "ss_password.tries_max must be between 1 and 10 (R-LK-1)",
        ));
    }
    if !(1..=10).contains(&file.fin_password.tries_max) {
        return Err(invalid(
            "fin_password.tries_max must be between 1 and 10 (D-1)",
        ));
    }
    let initial_password = match file.ss_password.initial.as_str() {
        "123456" => InitialPassword::Fixed123456,
        "id_last_six" => InitialPassword::IdLastSix,
        "card_last_six" => InitialPassword::CardLastSix,
        "none" => InitialPassword::None,
        _ => {
            return Err(invalid(
                "ss_password.initial is one of 123456, id_last_six, card_last_six, none (R-PW-3)",
            ));
        }
    };
    let weak_passwords = match file.ss_password.weak.as_str() {
        "refuse" => WeakPasswordRule::Refuse,
        "warn" => WeakPasswordRule::Warn,
        _ => return Err(invalid("ss_password.weak is refuse or warn (R-PW-2)")),
    };
    if file.activation.bank_delay_hours > 168 {
        return Err(invalid(
            "activation.bank_delay_hours must be between 0 (at the same moment) and 168 (R-ACT-2)",
        ));
    }
    // R-ACT-3 (000 I): the channels residents may activate through, each a known channel.
    let ecard_code_seconds = file
        .ecard
        .as_ref()
        .map_or(ECARD_CODE_SECONDS_DEFAULT, |e| e.code_seconds);
    if !(10..=600).contains(&ecard_code_seconds) {
        return Err(invalid(
            "ecard.code_seconds is 10 to 600 (D-16: a payment code lives about a minute)",
        ));
    }
    let mut resident_channels = Vec::new();
    for name in &file.activation.resident_channels {
        if crate::model::ActivationChannel::parse(name).is_none() {
            return Err(invalid(&format!(
                "activation.resident_channels: {name:?} is not an activation channel (bank, hospital, sms, service_center, pharmacy_old_card, pharmacy_old_password)"
            )));
        }
        if !resident_channels.contains(name) {
            resident_channels.push(name.clone());
        }
    }
    if resident_channels.is_empty() {
        return Err(invalid(
            "activation.resident_channels names at least one channel (R-ACT-3)",
        ));
    }
    // R-LK-2: who may unlock and reset the social-security password: the window clerk, and
    // where the region says so the partner bank (Guangxi, 003 §5).
    let mut ss_reset_roles = Vec::new();
    for name in &file.ss_password.reset_roles {
        match name.parse::<Role>() {
            Ok(role @ (Role::Clerk | Role::Bank)) => ss_reset_roles.push(role),
            _ => {
                return Err(invalid(&format!(
                    "ss_password.reset_roles: {name:?} is not clerk or bank (R-LK-2)"
                )));
            }
        }
    }
    if !ss_reset_roles.contains(&Role::Clerk) {
        return Err(invalid(
            "ss_password.reset_roles must include clerk: the holder can always unlock at a window (R-LK-2)",
        ));
    }
    let w = &file.web_login;
    if w.first_wait_s == 0 || w.max_wait_s < w.first_wait_s || w.max_wait_s > 86_400 {
        return Err(invalid(
            "web_login needs 0 < first_wait_s <= max_wait_s <= 86400 (D-4)",
        ));
    }
    if !(1..=90).contains(&file.loss.pre_loss_days) {
        return Err(invalid(
            "loss.pre_loss_days must be between 1 and 90 (R-LS-1)",
        ));
    }
    if !(1..=120).contains(&file.replacement.production_working_days) {
        return Err(invalid(
            "replacement.production_working_days must be between 1 and 120 (R-LS-5)",
        ));
    }
    if !(0..=100_000).contains(&file.replacement.fee_fen) {
        return Err(invalid(
            "replacement.fee_fen must be between 0 and 100000 (R-AC-3)",
        ));
    }
    let contribution = contribution_policy(&file, &invalid)?;
    let st = &file.settlement;
    if !(0..=10_000_000).contains(&st.outpatient_fixed_fee_fen) {
        return Err(invalid(
            "settlement.outpatient_fixed_fee_fen must be between 0 and 10000000 (R-MS-2)",
        ));
    }
    if st.chronic_outpatient_ratio_bp > 10_000 {
        return Err(invalid(
            "settlement.chronic_outpatient_ratio_bp is at most 10000 (100 %) (D-18)",
        ));
    }
    if st.inpatient_ratio_bp > 10_000 {
        return Err(invalid(
            "settlement.inpatient_ratio_bp is at most 10000 (100 %) (R-MS-2)",
        ));
    }
    if !(1..=30).contains(&st.emergency_filing_working_days) {
        return Err(invalid(
            "settlement.emergency_filing_working_days must be between 1 and 30 (R-MS-3)",
        ));
    }
    let limits = money_limits(&file.limits, &invalid)?;
    let settlement = SettlementPolicy {
        outpatient_fixed_fee: Fen(st.outpatient_fixed_fee_fen),
        inpatient_ratio_bp: st.inpatient_ratio_bp,
        chronic_outpatient_ratio_bp: st.chronic_outpatient_ratio_bp,
        emergency_filing_working_days: st.emergency_filing_working_days,
    };
    Ok(Policy {
        name: file.name.clone(),
        home_region,
        ss_password_tries_max: file.ss_password.tries_max,
        fin_password_tries_max: file.fin_password.tries_max,
        initial_password,
        weak_passwords,
        agent: AgentPolicy {
            allowed: file.agent.allowed,
            power_of_attorney: file.agent.power_of_attorney,
            employer_letter: file.agent.employer_letter,
            employer_letter_for_holder: file.agent.employer_letter_for_holder,
        },
        bank_activation_delay: SignedDuration::from_hours(i64::from(
            file.activation.bank_delay_hours,
        )),
        resident_channels,
        ss_reset_roles,
        ecard_code_validity: SignedDuration::from_secs(i64::from(ecard_code_seconds)),
        web_login: WebLoginPolicy {
            free_failures: w.free_failures,
            first_wait: SignedDuration::from_secs(i64::from(w.first_wait_s)),
            max_wait: SignedDuration::from_secs(i64::from(w.max_wait_s)),
        },
        pre_loss_duration: SignedDuration::from_hours(24 * i64::from(file.loss.pre_loss_days)),
        replacement_working_days: file.replacement.production_working_days,
        replacement_fee: shebao_domain::Fen(file.replacement.fee_fen),
        contribution,
        settlement,
        limits,
    })
}

/// D-14: each ceiling is positive and at most [`CEILING_FEN_MAX`]; a legacy balance fits in an
/// account.
fn money_limits(
    l: &LimitsSection,
    invalid: &dyn Fn(&str) -> PolicyError,
) -> Result<MoneyLimits, PolicyError> {
    for (field, value) in [
        ("legacy_balance_fen_max", l.legacy_balance_fen_max),
        ("balance_fen_max", l.balance_fen_max),
        ("contribution_base_fen_max", l.contribution_base_fen_max),
    ] {
        if !(1..=CEILING_FEN_MAX).contains(&value) {
            return Err(invalid(&format!(
                "limits.{field} must be between 1 and {CEILING_FEN_MAX} (D-14)"
            )));
        }
    }
    if l.legacy_balance_fen_max > l.balance_fen_max {
        return Err(invalid(
            "limits.legacy_balance_fen_max must not exceed limits.balance_fen_max (D-14)",
        ));
    }
    Ok(MoneyLimits {
        legacy_balance_max: Fen(l.legacy_balance_fen_max),
        balance_max: Fen(l.balance_fen_max),
        contribution_base_max: Fen(l.contribution_base_fen_max),
    })
}

/// Rates are capped at 20 % (2000 bp): the sources' largest is 4 %; anything beyond a fifth of
/// a wage is a typo.
const RATE_BP_MAX: u32 = 2_000;

fn contribution_policy(
    file: &PolicyFile,
    invalid: &dyn Fn(&str) -> PolicyError,
) -> Result<ContributionPolicy, PolicyError> {
    let c = &file.contribution;
    if !(1..=28).contains(&c.due_day) {
        return Err(invalid(
            "contribution.due_day must be between 1 and 28 (R-EM-1)",
        ));
    }
    if !(1..=250).contains(&c.tax_data_working_days) {
        return Err(invalid(
            "contribution.tax_data_working_days must be between 1 and 250 (R-EM-4)",
        ));
    }
    if c.employer_rate_bp > RATE_BP_MAX {
        return Err(invalid("contribution.employer_rate_bp is at most 2000"));
    }
    if !(1..=12).contains(&c.unlock_receipt_months) {
        return Err(invalid(
            "contribution.unlock_receipt_months must be between 1 and 12 (R-EM-3)",
        ));
    }
    if file.crediting.is_empty() {
        return Err(invalid(
            "at least one [[crediting]] rule set is needed (R-CR-1)",
        ));
    }
    let mut rule_sets = Vec::new();
    for (i, r) in file.crediting.iter().enumerate() {
        let field = |name: &str| format!("crediting[{i}].{name}");
        let from = Month::parse(&r.from)
            .ok_or_else(|| invalid(&format!("{} is a month, YYYY-MM", field("from"))))?;
        let rate = |name: &str, v: Option<u32>| -> Result<u32, PolicyError> {
            match v {
                Some(v) if v <= RATE_BP_MAX => Ok(v),
                Some(_) => Err(invalid(&format!("{} is at most 2000", field(name)))),
                None => Err(invalid(&format!(
                    "{} is required for rules {:?}",
                    field(name),
                    r.rules
                ))),
            }
        };
        let employee_bp = rate("employee_bp", Some(r.employee_bp))?;
        let rules = match r.rules.as_str() {
            "seeds" => {
                if r.retiree_fixed_fen.is_some() {
                    return Err(invalid(&format!(
                        "{} belongs to reform_2021",
                        field("retiree_fixed_fen")
                    )));
                }
                CreditRules::Seeds {
                    employee_bp,
                    employer_under_45_bp: rate("employer_under_45_bp", r.employer_under_45_bp)?,
                    employer_45_plus_bp: rate("employer_45_plus_bp", r.employer_45_plus_bp)?,
                    retiree_bp: rate("retiree_bp", r.retiree_bp)?,
                }
            }
            "reform_2021" => {
                if r.employer_under_45_bp.is_some()
                    || r.employer_45_plus_bp.is_some()
                    || r.retiree_bp.is_some()
                {
                    return Err(invalid(&format!(
                        "{}: under reform_2021 the employer's share goes to the pool and retirees get retiree_fixed_fen",
                        field("rules")
                    )));
                }
                let fixed = r.retiree_fixed_fen.ok_or_else(|| {
                    invalid(&format!(
                        "{} is required for rules \"reform_2021\"",
                        field("retiree_fixed_fen")
                    ))
                })?;
                if !(0..=1_000_000).contains(&fixed) {
                    return Err(invalid(&format!(
                        "{} must be between 0 and 1000000",
                        field("retiree_fixed_fen")
                    )));
                }
                CreditRules::Reform2021 {
                    employee_bp,
                    retiree_fixed: Fen(fixed),
                }
            }
            _ => {
                return Err(invalid(&format!(
                    "{} is seeds or reform_2021",
                    field("rules")
                )));
            }
        };
        if let Some(last) = rule_sets.last().map(|r: &RuleSet| r.from)
            && from <= last
        {
            return Err(invalid(&format!(
                "{} must come after the previous rule set's",
                field("from")
            )));
        }
        rule_sets.push(RuleSet { from, rules });
    }
    Ok(ContributionPolicy {
        due_day: c.due_day,
        tax_data_working_days: c.tax_data_working_days,
        employer_rate_bp: c.employer_rate_bp,
        unlock_receipt_months: c.unlock_receipt_months,
        rule_sets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // R-LK-1, R-LK-4, R-PW-3: the shipped profiles carry the sources' numbers.
    #[test]
    fn shipped_policies_load_with_their_numbers() {
        let national = load("national").unwrap();
        assert_eq!(national.ss_password_tries_max, 3);
        assert!(!national.agent.power_of_attorney);
        let guangxi = load("guangxi").unwrap();
        assert_eq!(guangxi.ss_password_tries_max, 6);
        assert!(guangxi.agent.power_of_attorney);
        let shenyang = load("shenyang").unwrap();
        assert_eq!(shenyang.ss_password_tries_max, 5);
        assert_eq!(shenyang.initial_password, InitialPassword::None);
        assert_eq!(national.fin_password_tries_max, 3);
        assert_eq!(
            national.bank_activation_delay,
            SignedDuration::from_hours(24)
        );
        // R-EM-1, R-EM-4, R-CR-1, R-MS-3.
        assert_eq!(national.contribution.due_day, 15);
        assert_eq!(national.contribution.tax_data_working_days, 45);
        assert_eq!(national.contribution.unlock_receipt_months, 3);
        assert_eq!(
            national.contribution.rule_sets[0].rules,
            CreditRules::Seeds {
                employee_bp: 200,
                employer_under_45_bp: 110,
                employer_45_plus_bp: 150,
                retiree_bp: 400
            }
        );
        assert_eq!(national.settlement.emergency_filing_working_days, 3);
        // R-LK-2: Guangxi's bank branches reset too (003 §5, 004); elsewhere only the window.
        assert_eq!(national.ss_reset_roles, [Role::Clerk]);
        assert_eq!(guangxi.ss_reset_roles, [Role::Clerk, Role::Bank]);
        assert_eq!(shenyang.ss_reset_roles, [Role::Clerk]);
        // R-ACT-2: Shenyang enables the social-security function at the same moment (000 G).
        assert_eq!(shenyang.bank_activation_delay, SignedDuration::ZERO);
        assert_eq!(
            guangxi.bank_activation_delay,
            SignedDuration::from_hours(24)
        );
        // R-ACT-3 (000 I): every shipped profile lets residents use every channel.
        for policy in [&national, &guangxi, &shenyang] {
            assert_eq!(policy.resident_channels.len(), 6, "{}", policy.name);
        }
        // D-18: chronic outpatient care's placeholder ratio.
        assert_eq!(national.settlement.chronic_outpatient_ratio_bp, 7_000);
        // R-LK-4 (001): Xi'an asks the employer's letter of the holder and of an agent.
        let xian = load("xian").unwrap();
        assert!(xian.agent.employer_letter && xian.agent.employer_letter_for_holder);
        assert!(!national.agent.employer_letter_for_holder);
        // D-14: the national ceilings, the same in every shipped profile.
        for policy in [&national, &guangxi, &shenyang, &xian] {
            assert_eq!(policy.limits, MoneyLimits::NATIONAL, "{}", policy.name);
        }
    }

    // R-ACT-3 (000 I): the example region file limits residents to the bureau's hall; unknown
    // channels and a reset without the window are refused at load.
    #[test]
    fn resident_channels_and_reset_roles_are_validated() {
        let example = load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../policies/examples/residents-hall-only.toml"
        ))
        .unwrap();
        assert_eq!(example.resident_channels, ["service_center"]);
        let base = SHIPPED[0].1;
        let unknown = base.replace("\"pharmacy_old_password\"]", "\"telepathy\"]");
        assert_ne!(unknown, base);
        assert!(
            parse(&unknown)
                .unwrap_err()
                .to_string()
                .contains("telepathy")
        );
        let bank_only = base.replace("reset_roles = [\"clerk\"]", "reset_roles = [\"bank\"]");
        assert_ne!(bank_only, base);
        assert!(
            parse(&bank_only)
                .unwrap_err()
                .to_string()
                .contains("must include clerk")
        );
        let pharmacy = base.replace(
            "reset_roles = [\"clerk\"]",
            "reset_roles = [\"clerk\", \"pharmacy\"]",
        );
        assert!(
            parse(&pharmacy)
                .unwrap_err()
                .to_string()
                .contains("pharmacy")
        );
    }

    // D-14: ceilings are validated at load.
    #[test]
    fn ceilings_are_validated() {
        let base = SHIPPED[0].1;
        let zero = base.replace("balance_fen_max = 50000000 ", "balance_fen_max = 0 ");
        assert_ne!(zero, base);
        let err = parse(&zero).unwrap_err().to_string();
        assert!(err.contains("limits.balance_fen_max"), "{err}");
        let huge = base.replace(
            "contribution_base_fen_max = 5000000 ",
            "contribution_base_fen_max = 9223372036854775807 ",
        );
        assert_ne!(huge, base);
        assert!(
            parse(&huge)
                .unwrap_err()
                .to_string()
                .contains("contribution_base_fen_max")
        );
        let legacy_above = base.replace(
            "legacy_balance_fen_max = 5000000 ",
            "legacy_balance_fen_max = 60000000 ",
        );
        assert_ne!(legacy_above, base);
        assert!(
            parse(&legacy_above)
                .unwrap_err()
                .to_string()
                .contains("must not exceed")
        );
    }

    // A region switches to the 2021 reform on a date by adding a rule set.
    #[test]
    fn reform_rule_set_switches_on_its_month() {
        let text = format!(
            "{}\n[[crediting]]\nfrom = \"2027-01\"\nrules = \"reform_2021\"\nemployee_bp = 200\nretiree_fixed_fen = 8000\n",
            SHIPPED[0].1
        );
        let policy = parse(&text).unwrap();
        let c = &policy.contribution;
        assert_eq!(
            c.rules_for(Month::parse("2026-12").unwrap())
                .unwrap()
                .name(),
            "seeds"
        );
        assert_eq!(
            c.rules_for(Month::parse("2027-01").unwrap())
                .unwrap()
                .name(),
            "reform_2021"
        );
        let backwards = text.replace("from = \"2027-01\"", "from = \"1999-01\"");
        assert!(
            parse(&backwards)
                .unwrap_err()
                .to_string()
                .contains("crediting[1].from")
        );
        let mixed = text.replace("retiree_fixed_fen = 8000", "retiree_bp = 400");
        assert!(parse(&mixed).is_err());
    }

    #[test]
    fn bad_values_name_the_field() {
        let text = SHIPPED[0].1.replace(
            "tries_max = 3                 # R-LK-1",
            "tries_max = 0 # R-LK-1",
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("ss_password.tries_max"), "{err}");
        let unknown = format!("{}\nsurprise = 1\n", SHIPPED[0].1);
        assert!(parse(&unknown).is_err());
        assert!(matches!(load("atlantis"), Err(PolicyError::Unknown(_))));
    }
}
