//! Loss reporting, release, replacement cards and collection (R-LS-1..6, R-AC-3, R-ID-2,
//! R-ACT-6).

use crate::Service;
use crate::error::ServiceError;
use crate::input::{parse_card_no, parse_id_number, parse_region};
use crate::model::Actor;
use crate::model::AuditAction;
use crate::store::Lock;
use crate::support::{Audit, load_card, load_person, require_role, settle};
use crate::views::CardView;
use jiff::civil::Date;
use shebao_domain::card::{LossError, LossKind, Replacement, ReplacementReason};
use shebao_domain::time::business_date;
use shebao_domain::{AgentPolicy, Card, CardStatus, Evidence, Fen, Role};

/// What a replacement application answers (API.md).
#[derive(Debug, Clone)]
pub struct ReplacementIssued {
    pub old_card_no: String,
    pub new_card_no: String,
    pub ready_on: Date,
    pub fee: Fen,
}

/// Where each role may report a loss from (R-LS-1, R-LS-2); the first is the default.
fn channels_for(role: Role) -> &'static [&'static str] {
    match role {
        Role::Hotline => &["hotline"],
        Role::Clerk => &["window", "written"],
        Role::Hospital => &["medical_institution"],
        Role::Kiosk => &["self_service_terminal"],
        Role::Cardholder => &["online", "self_service_terminal"],
        _ => &[],
    }
}

/// The contract leaves channel names open: accept the common names for each place.
fn canonical_channel(name: &str) -> Option<&'static str> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "hotline" | "phone" | "telephone" => "hotline",
        "window" | "service_window" | "counter" | "outlet" | "service_center" => "window",
        "written" | "in_writing" | "writing" => "written",
        "medical_institution" | "hospital" => "medical_institution",
        "online" | "web" | "self_service" | "internet" => "online",
        "self_service_terminal" | "terminal" | "kiosk" => "self_service_terminal",
        _ => return None,
    })
}

/// Which roles may report which kind (R-LS-1..3, R-LS-4, D-17: the terminals of level-2+
/// hospitals and self-service terminals make a pre-loss, 001).
fn roles_for(kind: LossKind) -> &'static [Role] {
    match kind {
        LossKind::Pre => &[
            Role::Hotline,
            Role::Clerk,
            Role::Cardholder,
            Role::Hospital,
            Role::Kiosk,
        ],
        LossKind::Temporary => &[Role::Clerk, Role::Hospital, Role::Cardholder],
        LossKind::Formal => &[Role::Clerk],
    }
}

fn loss_error(e: LossError) -> ServiceError {
    match e {
        LossError::AlreadyReported(kind) => ServiceError::conflict(
            "already_reported",
            format!("a {} loss is already in force", kind.as_str()),
        ),
        LossError::Formal => ServiceError::conflict(
            "formal_loss",
            "a formal loss cannot be released: the way on is a replacement card",
        ),
        LossError::NotLost => ServiceError::conflict("not_lost", "the card is not reported lost"),
        LossError::Replaced => ServiceError::card_replaced(),
    }
}

/// A formal loss by an agent always needs both IDs and a power of attorney (R-LS-3), whatever
/// the region asks for password resets.
fn formal_loss_agents(policy: &AgentPolicy) -> AgentPolicy {
    AgentPolicy {
        allowed: true,
        power_of_attorney: true,
        ..*policy
    }
}

fn check_evidence(
    evidence: Option<&Evidence>,
    card: &Card,
    agents: &AgentPolicy,
) -> Result<Evidence, ServiceError> {
    let evidence = evidence.ok_or_else(ServiceError::no_evidence)?;
    evidence
        .check_holder_or_agent(&card.id_number, agents)
        .map_err(ServiceError::from)?;
    Ok(evidence.clone())
}

impl Service {
    /// R-LS-1..3: report a card lost. Pre-loss lapses by itself after the policy's days; a
    /// temporary loss stops the card until released; a formal loss is final.
    pub async fn report_loss(
        &self,
        actor: &Actor,
        card_no: &str,
        kind: &str,
        channel: Option<&str>,
        evidence: Option<Evidence>,
    ) -> Result<CardView, ServiceError> {
        let kind = LossKind::parse(kind).ok_or_else(|| {
            ServiceError::invalid("invalid_kind", "kind is one of pre, temporary, formal")
        })?;
        require_role(actor, roles_for(kind))?;
        let allowed = channels_for(actor.role);
        let channel = match channel {
            None => allowed.first().copied().unwrap_or("window"),
            Some(c) => canonical_channel(c)
                .filter(|c| allowed.contains(c))
                .ok_or_else(|| {
                    ServiceError::invalid(
                        "invalid_channel",
                        format!("a {} reports through {}", actor.role, allowed.join(" or ")),
                    )
                })?,
        };
        let card_no = parse_card_no(card_no)?;
        let now = self.clock.now();
        let (actor, policy) = (actor.clone(), self.policy.clone());
        self.db
            .write(move |tx| {
                let mut card = load_card(tx, &card_no, Lock::ForUpdate)?;
                if actor.role == Role::Cardholder
                    && actor.id_number.as_ref() != Some(&card.id_number)
                {
                    return Err(ServiceError::not_found(format!("no card {card_no}")));
                }
                settle(tx, &mut card, now, &policy)?;
                let evidence = match kind {
                    // R-LS-3: in person with ID, or an agent with both IDs and a power of attorney.
                    LossKind::Formal => Some(check_evidence(
                        evidence.as_ref(),
                        &card,
                        &formal_loss_agents(&policy.agent),
                    )?),
                    // R-LS-4: by phone the ID number suffices, never a password.
                    _ => evidence,
                };
                let lapses_at = now.checked_add(policy.pre_loss_duration).ok();
                card.report_loss(kind, channel, now, lapses_at)
                    .map_err(loss_error)?;
                tx.update_card(&card)?;
                let mut audit = Audit::new(AuditAction::CardLossReport)
                    .card(&card)
                    .channel(channel)
                    .detail(format!("{} loss", kind.as_str()));
                if let Some(e) = &evidence {
                    audit = audit.evidence(e);
                }
                audit.record(tx, &actor, now)?;
                let person = load_person(tx, &card.id_number, Lock::Read)?;
                crate::support::card_view(tx, card, &person, &policy, now)
            })
            .await
    }

    /// R-LS-1, R-LS-4: the hotline pre-reports with only the ID number (or social security
    /// number, the same 18 characters): never a password.
    pub async fn hotline_pre_loss(
        &self,
        actor: &Actor,
        id_number: &str,
    ) -> Result<CardView, ServiceError> {
        require_role(actor, &[Role::Hotline, Role::Clerk])?;
        let id = parse_id_number(id_number)?;
        let card_no = self
            .db
            .read(move |tx| {
                tx.cards_of(&id)?
                    .into_iter()
                    .find(Card::is_usable)
                    .map(|c| c.card_no)
                    .ok_or_else(|| ServiceError::not_found("this person holds no card"))
            })
            .await?;
        self.report_loss(actor, card_no.as_str(), "pre", None, None)
            .await
    }

    /// R-LS-2: a found card is released at a window, before a replacement is made.
    pub async fn release_loss(
        &self,
        actor: &Actor,
        card_no: &str,
        evidence: Option<Evidence>,
    ) -> Result<CardView, ServiceError> {
        require_role(actor, &[Role::Clerk])?;
        let card_no = parse_card_no(card_no)?;
        let now = self.clock.now();
        let (actor, policy) = (actor.clone(), self.policy.clone());
        self.db
            .write(move |tx| {
                let mut card = load_card(tx, &card_no, Lock::ForUpdate)?;
                settle(tx, &mut card, now, &policy)?;
                let evidence = check_evidence(evidence.as_ref(), &card, &policy.agent)?;
                let kind = card.release_loss(now).map_err(loss_error)?;
                tx.update_card(&card)?;
                Audit::new(AuditAction::CardLossRelease)
                    .card(&card)
                    .evidence(&evidence)
                    .detail(format!(
                        "{} loss released: the card was found",
                        kind.as_str()
                    ))
                    .record(tx, &actor, now)?;
                let person = load_person(tx, &card.id_number, Lock::Read)?;
                crate::support::card_view(tx, card, &person, &policy, now)
            })
            .await
    }

    /// R-LS-3, R-LS-5, R-AC-3, R-ID-2, D-10: apply for a replacement card. For a lost card the
    /// formal loss is recorded together with the application. The old card is dead at once;
    /// the new one carries balance and password state and is ready after the policy's working
    /// days.
    pub async fn apply_replacement(
        &self,
        actor: &Actor,
        card_no: &str,
        reason: &str,
        evidence: Option<Evidence>,
    ) -> Result<ReplacementIssued, ServiceError> {
        require_role(actor, &[Role::Clerk])?;
        let reason = ReplacementReason::parse(reason).ok_or_else(|| {
            ServiceError::invalid(
                "invalid_reason",
                "reason is one of lost, damaged, data_changed, data_error",
            )
        })?;
        let card_no = parse_card_no(card_no)?;
        let now = self.clock.now();
        let ready_on = self
            .add_working_days(business_date(now), self.policy.replacement_working_days)
            .await?;
        let serial = crate::support::new_serial()?;
        let (actor, policy) = (actor.clone(), self.policy.clone());
        self.db
            .write(move |tx| {
                let mut old = load_card(tx, &card_no, Lock::ForUpdate)?;
                settle(tx, &mut old, now, &policy)?;
                if old.status == CardStatus::Replaced {
                    return Err(loss_error(LossError::Replaced));
                }
                let evidence =
                    check_evidence(evidence.as_ref(), &old, &formal_loss_agents(&policy.agent))?;
                if reason == ReplacementReason::Lost
                    && old
                        .loss_in_force(now)
                        .is_none_or(|l| l.kind != LossKind::Formal)
                {
                    // R-LS-3: formal loss goes together with the replacement application.
                    old.report_loss(LossKind::Formal, "window", now, None)
                        .map_err(loss_error)?;
                }
                let seq = tx.next_sequence("card")?;
                let new_no = crate::support::new_card_no(tx)?;
                let fee = reason.fee(policy.replacement_fee);
                let replacement = Replacement {
                    replaces: old.card_no.clone(),
                    reason,
                    ready_on,
                    fee,
                    collected_at: None,
                };
                let new = Card::replacement_for(
                    &old,
                    new_no.clone(),
                    serial,
                    shebao_domain::bank::card_no(seq),
                    replacement,
                    now,
                );
                old.mark_replaced(new_no.clone());
                tx.update_card(&old)?;
                tx.insert_card(&new)?;
                Audit::new(AuditAction::CardReplacementApply)
                    .card(&old)
                    .evidence(&evidence)
                    .detail(format!(
                        "reason {}; new card {new_no}, ready on {ready_on}, fee {} fen",
                        reason.as_str(),
                        fee.0
                    ))
                    .record(tx, &actor, now)?;
                Audit::new(AuditAction::CardIssue)
                    .card(&new)
                    .detail(format!("replacement for {}", old.card_no))
                    .record(tx, &actor, now)?;
                Ok(ReplacementIssued {
                    old_card_no: old.card_no.to_string(),
                    new_card_no: new_no.to_string(),
                    ready_on,
                    fee,
                })
            })
            .await
    }

    /// R-LS-5: collection with ID (and the pickup certificate) once production is done. The
    /// card is then activated through the usual channels.
    pub async fn collect_card(
        &self,
        actor: &Actor,
        card_no: &str,
        evidence: Option<Evidence>,
    ) -> Result<CardView, ServiceError> {
        require_role(actor, &[Role::Clerk])?;
        let card_no = parse_card_no(card_no)?;
        let now = self.clock.now();
        let (actor, policy) = (actor.clone(), self.policy.clone());
        self.db
            .write(move |tx| {
                let mut card = load_card(tx, &card_no, Lock::ForUpdate)?;
                settle(tx, &mut card, now, &policy)?;
                // R-LS-5 (001): collected with ID and the pickup certificate (领卡证明).
                let evidence = evidence.ok_or_else(ServiceError::no_evidence)?;
                evidence
                    .check_collection(&card.id_number, &policy.agent)
                    .map_err(ServiceError::from)?;
                let today = business_date(now);
                let Some(replacement) = card.replacement.as_mut() else {
                    return Err(ServiceError::conflict(
                        "not_a_replacement",
                        "only replacement cards are collected",
                    ));
                };
                if replacement.collected_at.is_some() {
                    return Err(ServiceError::conflict(
                        "already_collected",
                        "the card was collected",
                    ));
                }
                if today < replacement.ready_on {
                    return Err(ServiceError::conflict(
                        "not_ready",
                        format!("the card is ready on {}", replacement.ready_on),
                    ));
                }
                replacement.collected_at = Some(now);
                tx.update_card(&card)?;
                Audit::new(AuditAction::CardCollect)
                    .card(&card)
                    .evidence(&evidence)
                    .record(tx, &actor, now)?;
                let person = load_person(tx, &card.id_number, Lock::Read)?;
                crate::support::card_view(tx, card, &person, &policy, now)
            })
            .await
    }

    /// R-LS-6: the bank records (or lifts) a loss of the financial account; the bureau's side
    /// is untouched.
    pub async fn set_fin_loss(
        &self,
        actor: &Actor,
        card_no: &str,
        lost: bool,
    ) -> Result<CardView, ServiceError> {
        require_role(actor, &[Role::Bank])?;
        let card_no = parse_card_no(card_no)?;
        let now = self.clock.now();
        let (actor, policy) = (actor.clone(), self.policy.clone());
        self.db
            .write(move |tx| {
                let mut card = load_card(tx, &card_no, Lock::ForUpdate)?;
                settle(tx, &mut card, now, &policy)?;
                if card.status == CardStatus::Replaced {
                    return Err(loss_error(LossError::Replaced));
                }
                if !card.fin.is_active() {
                    return Err(ServiceError::NotActivated(
                        "the financial account is not activated".into(),
                    ));
                }
                match (lost, card.fin_lost_at) {
                    (true, Some(_)) => {
                        return Err(ServiceError::conflict(
                            "already_reported",
                            "the financial account is already reported lost",
                        ));
                    }
                    (false, None) => return Err(loss_error(LossError::NotLost)),
                    (true, None) => card.fin_lost_at = Some(now),
                    (false, Some(_)) => card.fin_lost_at = None,
                }
                tx.update_card(&card)?;
                let action = if lost {
                    AuditAction::FinAccountLossReport
                } else {
                    AuditAction::FinAccountLossRelease
                };
                Audit::new(action).card(&card).record(tx, &actor, now)?;
                let person = load_person(tx, &card.id_number, Lock::Read)?;
                crate::support::card_view(tx, card, &person, &policy, now)
            })
            .await
    }

    /// R-ACT-6: insurance moves within the region: the insured region changes, the card stays.
    pub async fn transfer_person(
        &self,
        actor: &Actor,
        id_number: &str,
        region: &str,
    ) -> Result<crate::views::PersonView, ServiceError> {
        require_role(actor, &[Role::Clerk])?;
        let id = parse_id_number(id_number)?;
        let region = parse_region(Some(region), &self.policy.home_region)?;
        let now = self.clock.now();
        let actor = actor.clone();
        self.db
            .write(move |tx| {
                let mut person = load_person(tx, &id, Lock::ForUpdate)?;
                let from = person.region.clone();
                // R-ACT-6: the card moves with the holder within the region (the province);
                // beyond it the national rules apply there, and a new card.
                if !from.same_province(&region) {
                    return Err(ServiceError::invalid(
                        "invalid_region",
                        format!(
                            "{} is outside the province of {}: a move within the region keeps the card (R-ACT-6); beyond it the holder enrols there under the national rules, with a new card",
                            region.as_str(),
                            from.as_str()
                        ),
                    ));
                }
                person.region = region;
                tx.update_person(&person)?;
                Audit::new(AuditAction::PersonTransfer)
                    .person(&id)
                    .detail(format!(
                        "insured region {} → {}; the card stays",
                        from.as_str(),
                        person.region.as_str()
                    ))
                    .record(tx, &actor, now)?;
                crate::support::person_view(tx, person)
            })
            .await
    }
}
