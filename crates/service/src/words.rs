//! The words of a lock: why an account is locked and what its holder is told (R-LK-5,
//! R-LK-3, R-LS-6). Both the errors and the views speak them, so they live below both.

/// Why an account is locked, in the contract's words (R-LK-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockReason {
    Password,
    EmployerArrears,
    Loss,
}

impl LockReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LockReason::Password => "password",
            LockReason::EmployerArrears => "employer_arrears",
            LockReason::Loss => "loss",
        }
    }
}

/// A lock explained in words a holder understands, with what to do (R-LK-5), in Chinese and
/// English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockMessage {
    pub zh: &'static str,
    pub en: &'static str,
}

pub fn lock_message(reason: LockReason) -> LockMessage {
    match reason {
        LockReason::Password => LockMessage {
            zh: "社保账户因密码连续输错已被锁定，不会自动解锁。请本人持有效身份证原件和社保卡到社保服务窗口办理解锁并重置密码；本人不能前往的，可由代办人持双方身份证件（及本地区要求的委托书）代办。",
            en: "The social-security account is locked after too many wrong passwords and will not unlock by itself. Bring your original ID card and the card to a social security service window to unlock it and reset the password; an agent may go for you with both ID cards (and a power of attorney where your region requires one).",
        },
        LockReason::EmployerArrears => LockMessage {
            zh: "您的单位未按时足额缴纳医疗保险费，社保卡已被单位封锁，医疗费用暂由单位承担。请联系单位负责社保缴费的工作人员。",
            en: "Your employer has not paid its medical insurance contributions in full on time, so the card is under a unit lock and medical costs fall to the employer for now. Please contact your employer's payroll staff.",
        },
        LockReason::Loss => LockMessage {
            zh: "社保卡已挂失，社保功能已停止使用。找回卡片的，可持身份证和卡片到服务窗口解除挂失；否则请申请补卡。",
            en: "The card is reported lost and its social-security functions are stopped. If you found it, bring your ID card and the card to a service window to release the loss; otherwise apply for a replacement card.",
        },
    }
}

/// The financial lock's message (R-LK-3): it lifts by itself the next day.
pub const FIN_LOCK_MESSAGE: LockMessage = LockMessage {
    zh: "金融账户因密码连续输错已被锁定，将于次日0时自动解锁。如忘记密码，请本人持身份证和社保卡到合作银行网点重置。",
    en: "The financial account is locked after too many wrong passwords and unlocks by itself at 00:00 tomorrow. If you forgot the password, reset it at a partner bank branch with your ID card and the card.",
};

/// The bank's loss of the financial account (R-LS-6).
pub const FIN_LOSS_MESSAGE: LockMessage = LockMessage {
    zh: "金融账户已由银行办理挂失，银行功能暂停使用。解除挂失或补办请到合作银行网点办理。",
    en: "The bank has recorded the financial account as lost and its bank functions are stopped. Release the loss or replace the card at a partner bank branch.",
};
