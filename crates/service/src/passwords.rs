//! The two transaction passwords: verify, change, reset, cancel (R-PW-*, R-LK-*).
//!
//! Checks run in the contract's order (STYLE 10): input shape → card exists → card status →
//! account activated → lock → new-password rules → old password. A wrong password is the
//! one refusal that changes state: its count commits before the 422 is sent, so a crash
//! cannot give a guesser a free try, and the per-card serialisation of the store means
//! concurrent guesses never exceed N in total (R-LK-1).

use crate::Service;
use crate::chip::{CardAuth, CardUse, check_card_auth};
use crate::error::ServiceError;
use crate::input::{check_new_pin, parse_card_no, parse_pin};
use crate::model::Actor;
use crate::model::{AuditAction, Outcome};
use crate::request_key::{KeyedWrite, RequestKey};
use crate::store::Committed;
use crate::store::Lock;
use crate::support::{Account, Audit, count_lock, load_card, load_person, require_role, settle};
use shebao_domain::{Card, Evidence, PasswordAttempt, Role};
use shebao_keys::CardOperation;
use zeroize::Zeroizing;

/// The answer to a successful verification (API.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub password_enabled: bool,
}

/// The answer to a change: a weak password accepted under a `warn` policy says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordChanged {
    pub warning: Option<&'static str>,
}

impl Service {
    /// R-LK-1, D-2, R-PW-9: verify the social-security password at a pharmacy, hospital or
    /// window.
    pub async fn verify_ss_password(
        &self,
        actor: &Actor,
        card_no: &str,
        password: Zeroizing<String>,
    ) -> Result<Verified, ServiceError> {
        require_role(actor, &[Role::Pharmacy, Role::Hospital, Role::Clerk])?;
        self.verify(actor, card_no, password, Account::Social).await
    }

    /// R-LK-3, D-1: verify the financial password at a bank branch.
    pub async fn verify_fin_password(
        &self,
        actor: &Actor,
        card_no: &str,
        password: Zeroizing<String>,
    ) -> Result<Verified, ServiceError> {
        require_role(actor, &[Role::Bank])?;
        self.verify(actor, card_no, password, Account::Financial)
            .await
    }

    async fn verify(
        &self,
        actor: &Actor,
        card_no: &str,
        password: Zeroizing<String>,
        account: Account,
    ) -> Result<Verified, ServiceError> {
        let pin = parse_pin(Some(&password), "password")?;
        drop(password);
        let card_no = parse_card_no(card_no)?;
        let now = self.clock.now();
        let (actor, policy, keys) = (actor.clone(), self.policy.clone(), self.keys.clone());
        let result = self
            .db
            .write_committed(move |tx| {
                let mut card = load_card(tx, &card_no, Lock::ForUpdate)?;
                let loaded = card.clone();
                let settled = settle(tx, &mut card, now, &policy)?;
                account.require_usable(&card)?;
                if !account.is_active(&card) {
                    if settled {
                        tx.update_card(&card)?;
                    }
                    return Ok(Committed::Refusal(account.not_activated()));
                }
                let audit = Audit::new(account.actions()[0]).card(&card);
                let attempt = account.attempt(&mut card, now, &policy, &keys, &pin)?;
                let answer = match attempt {
                    PasswordAttempt::Locked => {
                        if settled {
                            tx.update_card(&card)?;
                        }
                        return Ok(Committed::Refusal(account.locked_error(&card)));
                    }
                    PasswordAttempt::NotEnabled => Ok(Verified {
                        password_enabled: false,
                    }),
                    PasswordAttempt::Verified => {
                        // Rotation: a verifier under an old key is rewritten under the current one.
                        if account.stale_verifier(&card, &keys) {
                            account.set_password(&mut card, &keys, &pin);
                        }
                        Ok(Verified {
                            password_enabled: true,
                        })
                    }
                    PasswordAttempt::Wrong { remaining } => Err(ServiceError::WrongPassword {
                        remaining_tries: Some(remaining),
                    }),
                };
                let (outcome, detail) = match attempt {
                    PasswordAttempt::NotEnabled => (
                        Outcome::Ok,
                        Some("password not enabled: nothing checked (D-2)".to_owned()),
                    ),
                    PasswordAttempt::Wrong { remaining: 0 } => (
                        Outcome::Locked,
                        Some("wrong password; the account is now locked".to_owned()),
                    ),
                    PasswordAttempt::Wrong { remaining } => (
                        Outcome::WrongPassword,
                        Some(format!("{remaining} tries left")),
                    ),
                    _ => (Outcome::Ok, None),
                };
                // Every attempt that got this far is stored with its audit record (R-PW-9); the
                // card's row only if the attempt changed it (a count, a lock, a rewritten
                // verifier, a settled state): a right password on an uncounted account
                // dirties no card page (issue 17).
                if card != loaded {
                    tx.update_card(&card)?;
                }
                let audit = audit.outcome(outcome);
                match detail {
                    Some(d) => audit.detail(d).record(tx, &actor, now)?,
                    None => audit.record(tx, &actor, now)?,
                }
                Ok(match answer {
                    Ok(verified) => Committed::Answer(verified),
                    Err(refusal) => Committed::Refusal(refusal),
                })
            })
            .await;
        count_lock(result, account, "verify")
    }

    /// R-PW-3, R-PW-6, R-ACT-5, D-7: the holder sets or changes the social-security password.
    pub async fn change_ss_password(
        &self,
        actor: &Actor,
        card_no: &str,
        old_password: Option<Zeroizing<String>>,
        new_password: Zeroizing<String>,
        card_auth: Option<CardAuth>,
        key: Option<RequestKey>,
    ) -> Result<PasswordChanged, ServiceError> {
        // R-PW-6, D-17: at a window, a designated pharmacy or hospital terminal, a partner bank
        // branch, a self-service terminal, or by phone (the 12333 voice menu changes only an
        // enabled password, with the old one).
        require_role(
            actor,
            &[
                Role::Pharmacy,
                Role::Hospital,
                Role::Kiosk,
                Role::Bank,
                Role::Clerk,
                Role::Hotline,
            ],
        )?;
        if actor.role == Role::Hotline && old_password.is_none() {
            return Err(ServiceError::invalid(
                "invalid_password",
                "by phone the old password is always entered (D-17)",
            ));
        }
        self.change(
            actor,
            card_no,
            (old_password, new_password),
            Account::Social,
            card_auth,
            key,
        )
        .await
    }

    /// R-LK-3: change the financial password at a bank branch with the old one.
    pub async fn change_fin_password(
        &self,
        actor: &Actor,
        card_no: &str,
        old_password: Option<Zeroizing<String>>,
        new_password: Zeroizing<String>,
        key: Option<RequestKey>,
    ) -> Result<PasswordChanged, ServiceError> {
        require_role(actor, &[Role::Bank])?;
        self.change(
            actor,
            card_no,
            (old_password, new_password),
            Account::Financial,
            None,
            key,
        )
        .await
    }

    async fn change(
        &self,
        actor: &Actor,
        card_no: &str,
        (old_password, new_password): (Option<Zeroizing<String>>, Zeroizing<String>),
        account: Account,
        card_auth: Option<CardAuth>,
        key: Option<RequestKey>,
    ) -> Result<PasswordChanged, ServiceError> {
        let new_pin = parse_pin(Some(&new_password), "new_password")?;
        let old_pin = match old_password.as_deref() {
            None => None,
            Some(p) => Some(parse_pin(Some(p), "old_password")?),
        };
        drop((new_password, old_password));
        let card_no = parse_card_no(card_no)?;
        let now = self.clock.now();
        let (actor, policy, keys) = (actor.clone(), self.policy.clone(), self.keys.clone());
        let city_keys = self.city_keys.clone();
        let result = self.db
            .write_committed(move |tx| {
                let mut card = load_card(tx, &card_no, Lock::ForUpdate)?;
                // Issue 16: a repeat of a change carried out under this key answers as the
                // first did (its warning is the new password's own) and changes nothing: the
                // old password, now replaced, is not tried again, nor the card's cryptogram.
                let operation = match account {
                    Account::Social => "PUT ss-password",
                    Account::Financial => "PUT fin-password",
                };
                let keyed = key
                    .as_ref()
                    .map(|k| KeyedWrite::new(&actor.id, k, &[operation, card_no.as_str()]));
                if let Some(k) = &keyed
                    && k.prior(tx)?.is_some()
                {
                    let person = load_person(tx, &card.id_number, Lock::Read)?;
                    let warning = check_new_pin(&policy, &person, &new_pin)?;
                    return Ok(Committed::Answer(PasswordChanged { warning }));
                }
                // R-KM-1: a PSAM terminal proves the card is present for a social-security
                // password change (the financial password is the bank's own).
                if matches!(account, Account::Social) {
                    let usage = CardUse::plain(CardOperation::SsPassword);
                    check_card_auth(&*city_keys, &actor, &mut card, card_auth.as_ref(), usage)?;
                }
                let settled = settle(tx, &mut card, now, &policy)?;
                account.require_usable(&card)?;
                let keep_settled =
                    |tx: &mut dyn crate::store::Tx, card: &Card| -> Result<(), ServiceError> {
                        if settled {
                            tx.update_card(card)?;
                        }
                        Ok(())
                    };
                // R-ACT-5: an account that is not activated cannot have its password changed.
                if !account.is_active(&card) {
                    keep_settled(tx, &card)?;
                    return Ok(Committed::Refusal(account.not_activated()));
                }
                if account.is_locked(&card, now) {
                    keep_settled(tx, &card)?;
                    return Ok(Committed::Refusal(account.locked_error(&card)));
                }
                // D-17: the first password is never set by phone: the voice menu changes an
                // enabled one.
                if actor.role == Role::Hotline && !card.ss.password_enabled() {
                    keep_settled(tx, &card)?;
                    return Ok(Committed::Refusal(ServiceError::conflict(
                        "not_enabled",
                        "the password is not enabled yet: the first password is set at a window, a pharmacy, a bank branch or a self-service terminal, not by phone",
                    )));
                }
                let person = load_person(tx, &card.id_number, Lock::Read)?;
                let warning = check_new_pin(&policy, &person, &new_pin)?;
                let audit = Audit::new(account.actions()[1]).card(&card);
                // D-7: while not enabled, the old password is not asked; once enabled it must match.
                let needs_old = match account {
                    Account::Social => card.ss.password_enabled(),
                    Account::Financial => true,
                };
                if needs_old {
                    let Some(old_pin) = old_pin.as_ref() else {
                        return Err(ServiceError::invalid(
                            "invalid_password",
                            "old_password is required to change an enabled password",
                        ));
                    };
                    match account.attempt(&mut card, now, &policy, &keys, old_pin)? {
                        PasswordAttempt::Verified | PasswordAttempt::NotEnabled => {}
                        PasswordAttempt::Locked => {
                            return Ok(Committed::Refusal(account.locked_error(&card)));
                        }
                        PasswordAttempt::Wrong { remaining } => {
                            tx.update_card(&card)?;
                            audit
                                .outcome(if remaining == 0 {
                                    Outcome::Locked
                                } else {
                                    Outcome::WrongPassword
                                })
                                .detail(format!("old password wrong, {remaining} tries left"))
                                .record(tx, &actor, now)?;
                            return Ok(Committed::Refusal(ServiceError::WrongPassword {
                                remaining_tries: Some(remaining),
                            }));
                        }
                    }
                }
                account.set_password(&mut card, &keys, &new_pin);
                tx.update_card(&card)?;
                let audit = match warning {
                    Some(w) => {
                        audit.detail(format!("password enabled; accepted with a warning: {w}"))
                    }
                    None => audit.detail("password set and enabled"),
                };
                audit.record(tx, &actor, now)?;
                if let Some(k) = &keyed {
                    k.record(tx, card_no.as_str(), now)?;
                }
                Ok(Committed::Answer(PasswordChanged { warning }))
            })
            .await;
        count_lock(result, account, "change")
    }

    /// R-LK-2, R-LK-4, R-PW-7, R-PW-10: a clerk unlocks and resets the social-security
    /// password with evidence. With `new_password` the holder's new one is set and enabled;
    /// without it the original, not-enabled state is restored and the holder sets one again.
    pub async fn reset_ss_password(
        &self,
        actor: &Actor,
        card_no: &str,
        new_password: Option<Zeroizing<String>>,
        evidence: Option<Evidence>,
    ) -> Result<PasswordChanged, ServiceError> {
        // R-LK-2: the window clerk everywhere; the partner bank where the policy says so
        // (Guangxi, 003 §5(一)2, 004).
        require_role(actor, &self.policy.ss_reset_roles)?;
        self.reset(actor, card_no, new_password, evidence, Account::Social)
            .await
    }

    /// R-LK-3: a bank branch resets a forgotten financial password, which also lifts its lock.
    pub async fn reset_fin_password(
        &self,
        actor: &Actor,
        card_no: &str,
        new_password: Option<Zeroizing<String>>,
        evidence: Option<Evidence>,
    ) -> Result<PasswordChanged, ServiceError> {
        require_role(actor, &[Role::Bank])?;
        if new_password.is_none() {
            return Err(ServiceError::invalid(
                "invalid_password",
                "new_password is required",
            ));
        }
        self.reset(actor, card_no, new_password, evidence, Account::Financial)
            .await
    }

    async fn reset(
        &self,
        actor: &Actor,
        card_no: &str,
        new_password: Option<Zeroizing<String>>,
        evidence: Option<Evidence>,
        account: Account,
    ) -> Result<PasswordChanged, ServiceError> {
        let evidence = evidence.ok_or_else(ServiceError::no_evidence)?;
        let new_pin = match new_password.as_deref() {
            None => None,
            Some(p) => Some(parse_pin(Some(p), "new_password")?),
        };
        drop(new_password);
        let card_no = parse_card_no(card_no)?;
        let now = self.clock.now();
        let (actor, policy, keys) = (actor.clone(), self.policy.clone(), self.keys.clone());
        self.db
            .write(move |tx| {
                let mut card = load_card(tx, &card_no, Lock::ForUpdate)?;
                settle(tx, &mut card, now, &policy)?;
                account.require_usable(&card)?;
                let person = load_person(tx, &card.id_number, Lock::Read)?;
                // R-LK-4: what the region asks of the holder or an agent (an employer's letter
                // only of someone with an employer).
                evidence
                    .check_holder_or_agent(&card.id_number, &policy.agent.for_kind(person.kind))
                    .map_err(ServiceError::from)?;
                let mut warning = None;
                if let Some(pin) = &new_pin {
                    // R-ACT-5: no password on an account that is not activated.
                    if !account.is_active(&card) {
                        return Err(account.not_activated());
                    }
                    warning = check_new_pin(&policy, &person, pin)?;
                }
                let was_locked = account.is_locked(&card, now);
                match (account, &new_pin) {
                    (Account::Social, Some(pin)) => {
                        card.ss.reset(Some(keys.seal(account.context(&card), pin)))
                    }
                    (Account::Social, None) => card.ss.reset(None),
                    (Account::Financial, Some(pin)) => account.set_password(&mut card, &keys, pin),
                    (Account::Financial, None) => {
                        return Err(ServiceError::invalid(
                            "invalid_password",
                            "new_password is required",
                        ));
                    }
                }
                tx.update_card(&card)?;

                let what = match (&new_pin, was_locked) {
                    (Some(_), true) => "unlocked; new password set and enabled",
                    (Some(_), false) => "new password set and enabled",
                    (None, true) => "unlocked; original password restored, not enabled",
                    (None, false) => "original password restored, not enabled",
                };
                Audit::new(account.actions()[2])
                    .card(&card)
                    .evidence(&evidence)
                    .detail(what)
                    .record(tx, &actor, now)?;
                Ok(PasswordChanged { warning })
            })
            .await
    }

    /// R-PW-4: the holder, in person with card and ID, cancels the social-security password.
    pub async fn disable_ss_password(
        &self,
        actor: &Actor,
        card_no: &str,
        evidence: Option<Evidence>,
    ) -> Result<(), ServiceError> {
        require_role(actor, &[Role::Clerk])?;
        let evidence = evidence.ok_or_else(ServiceError::no_evidence)?;
        let card_no = parse_card_no(card_no)?;
        let now = self.clock.now();
        let (actor, policy) = (actor.clone(), self.policy.clone());
        self.db
            .write(move |tx| {
                let mut card = load_card(tx, &card_no, Lock::ForUpdate)?;
                settle(tx, &mut card, now, &policy)?;
                Account::Social.require_usable(&card)?;
                evidence
                    .check_holder_in_person()
                    .map_err(ServiceError::from)?;
                if !card.ss.is_active() {
                    return Err(Account::Social.not_activated());
                }
                if card.ss.is_locked() {
                    return Err(ServiceError::password_locked());
                }
                if !card.ss.password_enabled() {
                    return Err(ServiceError::conflict(
                        "password_not_enabled",
                        "the password is not enabled; there is nothing to cancel",
                    ));
                }
                card.ss.disable_password();
                tx.update_card(&card)?;
                Audit::new(AuditAction::SsPasswordDisable)
                    .card(&card)
                    .evidence(&evidence)
                    .detail("password cancelled: transactions need no password")
                    .record(tx, &actor, now)?;
                Ok(())
            })
            .await
    }
}
