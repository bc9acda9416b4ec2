//! The one message catalogue: every word the console and the portal show, in Chinese
//! (the default, zh-CN) and English. Templates ask `t.get("key")`; a unit test checks that
//! every key a template uses is here, so a missing translation fails the build's tests.

/// The interface language. Chinese unless the user switched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

/// The catalogue in one language, handed to every template.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    /// The text for `key`; the key itself if it is missing (a test keeps that from happening).
    pub fn get<'k>(&self, key: &'k str) -> &'k str {
        match CATALOGUE.iter().find(|(k, _, _)| *k == key) {
            Some((_, zh, en)) => match self.lang {
                Lang::Zh => zh,
                Lang::En => en,
            },
            None => key,
        }
    }

    /// The text for `key`, or `fallback` when the catalogue has no such key (for keys made
    /// from data, such as a ledger entry's kind that a later issue adds).
    pub fn get_or<'a>(&self, key: &str, fallback: &'a str) -> &'a str {
        match CATALOGUE.iter().find(|(k, _, _)| *k == key) {
            Some((_, zh, en)) => match self.lang {
                Lang::Zh => zh,
                Lang::En => en,
            },
            None => fallback,
        }
    }

    /// Picks one of two texts that come from elsewhere in one language each (the service's
    /// lock messages, R-LK-5).
    pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// `(key, zh-CN, en)`.
/// The catalogue's own copy of `key`: a flash read back from the database names its key as
/// text.
pub fn known_key(key: &str) -> Option<&'static str> {
    CATALOGUE
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(k, _, _)| *k)
}

pub const CATALOGUE: &[(&str, &str, &str)] = &[
    // Frame
    ("app.console", "社保服务窗口", "Service window"),
    (
        "app.portal",
        "社保卡个人服务",
        "Social security card self-service",
    ),
    ("nav.search", "查询", "Find"),
    ("nav.dashboard", "统计看板", "Dashboard"),
    ("nav.employers", "单位缴费与封锁", "Employers"),
    ("nav.terminals", "终端与PSAM", "Terminals"),
    ("nav.logout", "退出", "Log out"),
    ("nav.skip", "跳到正文", "Skip to content"),
    ("lang.switch", "English", "中文"),
    ("common.yes", "是", "Yes"),
    ("common.no", "否", "No"),
    ("common.none", "无", "None"),
    ("common.submit", "提交", "Submit"),
    ("common.back", "返回", "Back"),
    ("common.yuan", "元", "CNY"),
    ("flash.ok", "已完成", "Done"),
    ("flash.error", "未能办理", "Not done"),
    // Errors (by contract code)
    (
        "err.not_found",
        "未找到：请核对身份证号或卡号。",
        "Not found: check the ID number or card number.",
    ),
    (
        "err.evidence_required",
        "证件核验不全，请按清单补齐后再办理。",
        "The evidence is incomplete: complete the checklist and try again.",
    ),
    ("err.invalid", "输入有误。", "The input is not valid."),
    (
        "err.conflict",
        "当前状态下不能办理此业务。",
        "This cannot be done in the card's current state.",
    ),
    (
        "err.forbidden",
        "您没有办理此业务的权限。",
        "You may not do this.",
    ),
    ("err.locked", "账户已锁定。", "The account is locked."),
    ("err.wrong_password", "密码错误。", "The password is wrong."),
    (
        "err.internal",
        "系统暂时无法办理，请稍后再试。",
        "The system cannot do this right now; try again later.",
    ),
    (
        "err.csrf",
        "页面已过期，请刷新后重试。",
        "The page has expired: reload it and try again.",
    ),
    ("page.unavailable", "暂时无法显示", "Not available now"),
    ("page.unavailable.again", "重新打开", "Open it again"),
    (
        "err.too_many",
        "尝试次数过多，请稍后再试（秒）：",
        "Too many attempts; try again in (seconds):",
    ),
    ("err.details", "详情", "Details"),
    // The service's refusals by contract code (the page shows these instead of the
    // service's English message when there is one).
    (
        "code.already_reported",
        "该卡已挂失，无需重复办理。",
        "A loss is already in force.",
    ),
    (
        "code.formal_loss",
        "正式挂失不能解除，请办理补卡。",
        "A formal loss cannot be released: apply for a replacement.",
    ),
    (
        "code.not_lost",
        "该卡未挂失。",
        "The card is not reported lost.",
    ),
    (
        "code.card_replaced",
        "该卡已补换作废，请使用新卡。",
        "This card was replaced: use the new card.",
    ),
    (
        "code.already_active",
        "社保账户已启用。",
        "The social-security account is already active.",
    ),
    (
        "code.not_collected",
        "新卡尚未领取，领取后才能启用。",
        "The new card must be collected before it is activated.",
    ),
    (
        "code.not_ready",
        "新卡尚未到可领取日期。",
        "The new card is not ready yet.",
    ),
    (
        "code.already_collected",
        "新卡已领取。",
        "The new card was already collected.",
    ),
    (
        "code.invalid_month",
        "月份格式有误，应为 YYYY-MM（例如 2026-03）。",
        "The month is not valid: write YYYY-MM (e.g. 2026-03).",
    ),
    (
        "code.invalid_amount",
        "金额须大于0且不超过1000万元。",
        "The amount must be above zero and at most 10 million yuan.",
    ),
    (
        "code.invalid_date",
        "日期有误：请填写 YYYY-MM-DD 格式的日期，且不能晚于今天（急诊须填入院日期）。",
        "The date is not valid: write YYYY-MM-DD, not later than today (an emergency needs the admission day).",
    ),
    (
        "code.invalid_receipt_no",
        "凭证号须为1至64个字符，不含空格，每张凭证都要填写。",
        "Each receipt needs a number of 1-64 characters without spaces.",
    ),
    (
        "code.invalid_receipts",
        "一次最多录入120张凭证。",
        "At most 120 receipts at a time.",
    ),
    (
        "code.receipt_conflict",
        "该凭证号已录入过，但月份、金额或日期不同：请核对凭证。本次提交未录入任何凭证。",
        "This receipt number is already on file with other details: check the receipt. Nothing of this submission was recorded.",
    ),
    (
        "code.invalid_kind",
        "请选择备案类型。",
        "Choose the kind of filing.",
    ),
    (
        "code.invalid_region",
        "地区代码须为6位行政区划代码，且须是参保地以外的地区。",
        "The region must be a 6-digit division code outside your insured region.",
    ),
    (
        "code.calendar_missing",
        "缺少工作日历数据，无法计算领卡日期，请联系系统管理员。",
        "The working-day calendar lacks a year: ask the operator to load it.",
    ),
    (
        "code.invalid_id_numbers",
        "一次须填写1至500个身份证号。",
        "Send 1 to 500 ID numbers at a time.",
    ),
    (
        "code.invalid_id_number",
        "身份证号格式或校验位有误。",
        "The ID number is not valid.",
    ),
    (
        "code.invalid_password",
        "新密码不符合要求。",
        "The new password does not meet the rules.",
    ),
    (
        "code.weak_password",
        "新密码过于简单。",
        "The new password is too weak.",
    ),
    (
        "code.not_a_terminal",
        "该账号不是终端（药店、医疗机构、银行或自助终端），不能在此吊销。",
        "This actor is not a terminal (pharmacy, hospital, bank or kiosk): it is not revoked here.",
    ),
    // The evidence the service found missing (domain/src/evidence.rs), phrase by phrase.
    (
        "ev.missing.evidence",
        "须填写证件核验清单",
        "evidence is required",
    ),
    (
        "ev.missing.holder_id_checked",
        "须核验持卡人身份证原件",
        "the holder's original ID card must be checked",
    ),
    (
        "ev.missing.holder_in_person",
        "须持卡人本人到场",
        "the holder must come in person",
    ),
    (
        "ev.missing.agent_id_number",
        "持卡人未到场：须登记代办人身份证号",
        "the holder is absent: the agent's ID number is required",
    ),
    (
        "ev.missing.agent_is_holder",
        "代办人身份证号不能是持卡人本人的",
        "the agent's ID number must not be the holder's own",
    ),
    (
        "ev.missing.power_of_attorney",
        "本地区代办须提供委托书",
        "this region requires a power of attorney (委托书) for an agent",
    ),
    (
        "ev.missing.employer_letter",
        "本地区须提供单位证明（单位介绍信）",
        "this region requires a letter from the employer",
    ),
    (
        "ev.missing.pickup_certificate",
        "领取补卡须出示领卡证明",
        "a replacement card is collected with the pickup certificate",
    ),
    // Clerk login
    ("login.clerk.title", "窗口人员登录", "Window staff log in"),
    ("login.clerk.token", "操作员令牌", "Operator token"),
    (
        "login.clerk.token_help",
        "管理员为您创建的窗口操作员令牌（clerk）。",
        "The clerk token an administrator created for you.",
    ),
    (
        "login.clerk.bad",
        "令牌无效，或不是窗口操作员。",
        "The token is not valid or is not a window clerk's.",
    ),
    ("login.submit", "登录", "Log in"),
    // Search
    (
        "search.title",
        "查找参保人或社保卡",
        "Find a person or a card",
    ),
    (
        "search.query",
        "身份证号或社保卡号",
        "ID number or card number",
    ),
    (
        "search.help",
        "18位公民身份号码，或卡号（如 S00000001）。",
        "The 18-character citizen ID number, or the card number (e.g. S00000001).",
    ),
    ("search.submit", "查找", "Find"),
    // Card page
    ("card.title", "社保卡", "Card"),
    ("card.holder", "持卡人", "Holder"),
    ("card.id_number", "身份证号", "ID number"),
    ("card.card_no", "卡号", "Card number"),
    ("card.bank_card_no", "银行卡号", "Bank card number"),
    ("card.status", "卡状态", "Card status"),
    ("card.issued_at", "发卡时间", "Issued"),
    ("card.balance", "个人账户余额", "Personal account balance"),
    (
        "card.other_cards",
        "该参保人的全部卡片",
        "All of this person's cards",
    ),
    ("status.issued", "已制卡未启用", "Issued, not activated"),
    ("status.active", "正常", "Active"),
    ("status.lost", "已挂失", "Reported lost"),
    ("status.replaced", "已补换（作废）", "Replaced (void)"),
    ("ss.title", "社保账户", "Social-security account"),
    ("fin.title", "金融账户", "Financial account"),
    ("acct.state", "状态", "State"),
    ("acct.active", "已启用", "Active"),
    ("acct.inactive", "未启用", "Not activated"),
    (
        "acct.activates_at",
        "将自动启用于",
        "Activates by itself at",
    ),
    ("acct.locked", "已锁定", "Locked"),
    ("acct.unlocked", "未锁定", "Not locked"),
    ("acct.password_enabled", "密码已启用", "Password enabled"),
    (
        "acct.password_not_enabled",
        "初始密码（未启用）",
        "Initial password (not enabled)",
    ),
    ("acct.remaining_tries", "剩余可试次数", "Tries left"),
    ("acct.locked_until", "自动解锁时间", "Unlocks by itself at"),
    (
        "acct.why",
        "锁定原因与办理方法",
        "Why it is locked and what to do",
    ),
    (
        "reason.password",
        "密码连续输错",
        "Too many wrong passwords",
    ),
    ("reason.loss", "挂失", "Loss reported"),
    (
        "reason.employer_arrears",
        "单位欠费封锁",
        "Employer arrears (unit lock)",
    ),
    ("loss.title", "挂失情况", "Loss"),
    ("loss.kind.pre", "预挂失", "Pre-loss"),
    ("loss.kind.temporary", "临时挂失", "Temporary loss"),
    ("loss.kind.formal", "正式挂失", "Formal loss"),
    ("loss.reported_at", "挂失时间", "Reported"),
    ("loss.lapses_at", "自动失效时间", "Lapses by itself at"),
    ("loss.channel", "挂失渠道", "Channel"),
    ("repl.title", "补换卡", "Replacement card"),
    ("repl.replaces", "替换旧卡", "Replaces"),
    ("repl.ready_on", "可领取日期", "Ready to collect on"),
    ("repl.fee", "工本费", "Card fee"),
    ("repl.collected_at", "领取时间", "Collected"),
    ("repl.not_collected", "未领取", "Not collected"),
    ("repl.replaced_by", "新卡号", "New card"),
    // Actions
    ("act.title", "办理业务", "Services"),
    (
        "act.pinpad",
        "密码由持卡人本人在密码键盘上输入，窗口人员不查看、不代输任何密码。",
        "A password is typed by the holder on the PIN pad; the clerk never sees or types one.",
    ),
    (
        "act.reset.title",
        "解锁 / 恢复初始社保密码",
        "Unlock / restore the initial social-security password",
    ),
    (
        "act.reset.help",
        "恢复为初始密码（未启用），持卡人随后在密码键盘或药店自行设置新密码。",
        "Restores the initial password (not enabled); the holder then sets a new one on the PIN pad or at a pharmacy.",
    ),
    (
        "act.reset.submit",
        "解锁并恢复初始密码",
        "Unlock and restore the initial password",
    ),
    (
        "act.disable.title",
        "取消社保密码",
        "Cancel the social-security password",
    ),
    (
        "act.disable.help",
        "须本人持卡和身份证到场。",
        "The holder in person with card and ID only.",
    ),
    ("act.disable.submit", "取消密码", "Cancel the password"),
    (
        "act.activate.title",
        "启用社保账户",
        "Activate the social-security account",
    ),
    (
        "act.activate.help",
        "在社保卡服务中心直接启用；旧医保卡余额自动转入。",
        "Activate at the card service centre; an old medical card's balance moves over.",
    ),
    ("act.activate.submit", "启用", "Activate"),
    ("act.loss.title", "挂失", "Report a loss"),
    ("act.loss.kind", "挂失类型", "Kind of loss"),
    ("act.loss.submit", "办理挂失", "Report the loss"),
    (
        "act.loss.formal_help",
        "正式挂失须核验证件，并应同时申请补卡。",
        "A formal loss needs the evidence and goes with a replacement application.",
    ),
    ("act.release.title", "解除挂失", "Release the loss"),
    ("act.release.submit", "解除挂失", "Release"),
    (
        "act.repl.title",
        "申请补换卡",
        "Apply for a replacement card",
    ),
    ("act.repl.reason", "补换原因", "Reason"),
    ("act.repl.submit", "申请补卡", "Apply"),
    ("act.collect.title", "领取新卡", "Hand over the new card"),
    ("act.collect.submit", "确认领取", "Confirm collection"),
    ("repl.reason.lost", "遗失", "Lost"),
    ("repl.reason.damaged", "损坏", "Damaged"),
    (
        "repl.reason.data_changed",
        "信息变更",
        "Holder's data changed",
    ),
    (
        "repl.reason.data_error",
        "卡面信息错误（免费）",
        "Card face wrong (free)",
    ),
    // Evidence
    ("ev.title", "证件核验清单", "Evidence checklist"),
    ("ev.region", "本地区政策", "Region policy"),
    (
        "ev.holder_present",
        "持卡人本人到场",
        "The holder is here in person",
    ),
    (
        "ev.holder_id_checked",
        "已核验持卡人身份证原件",
        "The holder's original ID card was checked",
    ),
    (
        "ev.agent",
        "本人不能到场时由代办人办理",
        "If the holder cannot come: an agent",
    ),
    ("ev.agent_id", "代办人身份证号", "Agent's ID number"),
    ("ev.poa", "已收委托书", "Power of attorney received"),
    ("ev.letter", "已收单位证明", "Employer's letter received"),
    ("ev.required", "（本地区要求）", "(required in this region)"),
    (
        "ev.required_holder",
        "（本地区要求：本人办理也须提供）",
        "(required in this region, from the holder in person too)",
    ),
    ("ev.pickup", "已收领卡证明", "Pickup certificate received"),
    ("ev.required_always", "（必须）", "(required)"),
    (
        "ev.pickup_help",
        "领取补换的新卡须核验身份证并收回领卡证明。",
        "A replacement card is handed over on the ID card and the pickup certificate.",
    ),
    (
        "ev.no_agents",
        "本地区不允许代办：须本人到场。",
        "This region does not allow agents: the holder must come.",
    ),
    // Ledger and audit
    ("ledger.title", "个人账户明细", "Personal account ledger"),
    ("ledger.at", "时间", "Time"),
    ("ledger.kind", "类型", "Kind"),
    ("ledger.amount", "金额（元）", "Amount (CNY)"),
    ("ledger.balance_after", "余额（元）", "Balance (CNY)"),
    ("ledger.card", "卡号", "Card"),
    ("ledger.empty", "暂无记录。", "No entries yet."),
    (
        "ledger.kind.legacy_transfer",
        "旧医保卡余额转入",
        "Old medical card balance moved over",
    ),
    ("audit.title", "操作记录", "Audit trail"),
    ("audit.at", "时间", "Time"),
    ("audit.who", "操作人", "Who"),
    ("audit.channel", "渠道", "Channel"),
    ("audit.action", "业务", "Action"),
    ("audit.outcome", "结果", "Outcome"),
    ("audit.evidence", "证件", "Evidence"),
    ("audit.detail", "说明", "Detail"),
    // Audit trail words (actions, outcomes, channels as the service records them).
    ("audit.action.actor.create", "新建操作员", "Actor created"),
    (
        "audit.action.actor.revoke",
        "停用操作员令牌",
        "Actor revoked",
    ),
    (
        "audit.action.actor.restore",
        "恢复操作员令牌",
        "Actor restored",
    ),
    (
        "audit.action.calendar.load",
        "载入工作日历",
        "Calendar loaded",
    ),
    ("audit.action.self.logout", "退出网上服务", "Logged out"),
    (
        "audit.action.self.query_password.reset",
        "重置查询密码",
        "Query password reset",
    ),
    (
        "audit.action.employer.create",
        "登记单位",
        "Employer registered",
    ),
    (
        "audit.action.employer.payment",
        "税务缴费记录",
        "Tax bureau payment record",
    ),
    (
        "audit.action.employer.tax_receipts",
        "单位出示完税凭证",
        "Tax receipts shown",
    ),
    (
        "audit.action.employer.card_applications",
        "单位批量申领社保卡",
        "Cards applied for in bulk",
    ),
    ("audit.action.employer.unit_lock", "单位封锁", "Unit lock"),
    (
        "audit.action.employer.unit_lock.lift",
        "解除单位封锁",
        "Unit lock lifted",
    ),
    ("audit.action.job.run", "批处理", "Batch job"),
    ("audit.action.purchase", "药店购药", "Pharmacy purchase"),
    ("audit.action.visit", "医院就诊", "Hospital visit"),
    ("audit.action.filing", "异地就医备案", "Out-of-area filing"),
    (
        "audit.outcome.ok_activated",
        "成功（首次就诊启用）",
        "OK (first visit activated the card)",
    ),
    ("audit.outcome.failed", "失败", "Failed"),
    (
        "ledger.kind.contribution_credit",
        "个人账户划入",
        "Contribution credit",
    ),
    ("ledger.kind.purchase", "药店购药", "Pharmacy purchase"),
    ("audit.action.card.issue", "发卡", "Card issued"),
    ("audit.action.card.activate", "启用", "Activation"),
    (
        "audit.action.card.collect",
        "领取新卡",
        "New card collected",
    ),
    ("audit.action.card.loss.report", "挂失", "Loss reported"),
    (
        "audit.action.card.loss.release",
        "解除挂失",
        "Loss released",
    ),
    (
        "audit.action.card.replacement.apply",
        "申请补换卡",
        "Replacement applied for",
    ),
    (
        "audit.action.ecard.activate",
        "开通电子社保卡",
        "Electronic card activated",
    ),
    (
        "audit.action.ecard.deactivate",
        "停用电子社保卡",
        "Electronic card deactivated",
    ),
    (
        "audit.action.fin_account.loss.report",
        "银行挂失金融账户",
        "Bank recorded financial loss",
    ),
    (
        "audit.action.fin_account.loss.release",
        "银行解除金融账户挂失",
        "Bank released financial loss",
    ),
    (
        "audit.action.ss_password.verify",
        "校验社保密码",
        "Social-security password checked",
    ),
    (
        "audit.action.ss_password.change",
        "修改社保密码",
        "Social-security password changed",
    ),
    (
        "audit.action.ss_password.reset",
        "解锁 / 重置社保密码",
        "Social-security password unlocked / reset",
    ),
    (
        "audit.action.ss_password.disable",
        "取消社保密码",
        "Social-security password cancelled",
    ),
    (
        "audit.action.fin_password.verify",
        "校验金融密码",
        "Financial password checked",
    ),
    (
        "audit.action.fin_password.change",
        "修改金融密码",
        "Financial password changed",
    ),
    (
        "audit.action.fin_password.reset",
        "重置金融密码",
        "Financial password reset",
    ),
    (
        "audit.action.person.register",
        "参保登记",
        "Person registered",
    ),
    (
        "audit.action.person.transfer",
        "参保关系转移",
        "Insurance moved",
    ),
    ("audit.action.self.login", "网上登录", "Online log-in"),
    (
        "audit.action.self.query_password.change",
        "修改查询密码",
        "Query password changed",
    ),
    ("audit.outcome.ok", "成功", "OK"),
    ("audit.outcome.wrong_password", "密码错误", "Wrong password"),
    (
        "audit.outcome.locked",
        "密码错误，已锁定",
        "Wrong password, now locked",
    ),
    ("audit.channel.service_window", "服务窗口", "Service window"),
    ("audit.channel.window", "服务窗口", "Service window"),
    ("audit.channel.written", "书面", "In writing"),
    (
        "audit.channel.service_center",
        "社保卡服务中心",
        "Card service centre",
    ),
    ("audit.channel.bank_branch", "银行网点", "Bank branch"),
    ("audit.channel.bank", "银行网点", "Bank branch"),
    ("audit.channel.pharmacy", "定点药店", "Pharmacy"),
    ("audit.channel.hospital", "定点医院", "Hospital"),
    (
        "audit.channel.medical_institution",
        "定点医疗机构",
        "Medical institution",
    ),
    ("audit.channel.hotline", "服务热线", "Hotline"),
    ("audit.channel.online", "网上", "Online"),
    ("audit.channel.self_service", "网上", "Online"),
    (
        "audit.channel.self_service_terminal",
        "自助终端",
        "Self-service terminal",
    ),
    ("audit.channel.sms", "短信", "SMS"),
    (
        "audit.channel.pharmacy_old_card",
        "药店（插旧医保卡）",
        "Pharmacy (old medical card)",
    ),
    (
        "audit.channel.pharmacy_old_password",
        "药店（旧卡密码）",
        "Pharmacy (old card password)",
    ),
    ("audit.channel.admin", "系统管理", "Administration"),
    ("audit.channel.employer", "参保单位", "Employer"),
    // How the holder was identified for a purchase or a visit (R-PW-9).
    ("audit.authorised_by", "身份验证方式", "Identified by"),
    (
        "audit.authorised_by.password",
        "凭社保密码",
        "The social-security password",
    ),
    (
        "audit.authorised_by.not_enabled",
        "密码未启用，无需密码",
        "No password (not enabled)",
    ),
    (
        "audit.authorised_by.card",
        "凭卡（就诊无需密码）",
        "The card (a visit needs no password)",
    ),
    (
        "audit.authorised_by.ecard",
        "电子社保卡付款码",
        "Electronic card payment code",
    ),
    // Who acted, by role (the holder's own trail).
    ("role.admin", "系统管理员", "Administrator"),
    ("role.clerk", "服务窗口工作人员", "Service window clerk"),
    ("role.bank", "合作银行网点", "Partner bank branch"),
    ("role.pharmacy", "定点药店", "Designated pharmacy"),
    ("role.hospital", "定点医疗机构", "Designated hospital"),
    ("role.hotline", "服务热线", "Hotline"),
    ("role.employer", "参保单位", "Employer"),
    ("role.cardholder", "本人", "You"),
    ("role.sms", "短信平台", "SMS platform"),
    ("role.kiosk", "自助终端", "Self-service terminal"),
    // The contribution record (R-CR-2), on the portal and on the clerk's card page.
    ("contrib.title", "缴费记录", "Contribution record"),
    ("contrib.month", "月份", "Month"),
    ("contrib.employer", "缴费单位", "Employer"),
    ("contrib.base", "缴费基数（元）", "Base (CNY)"),
    ("contrib.assessed", "核定应缴（元）", "Assessed (CNY)"),
    (
        "contrib.employee_part",
        "个人缴纳部分（元）",
        "Employee's part (CNY)",
    ),
    ("contrib.paid", "单位缴纳", "Employer paid"),
    ("contrib.paid.yes", "已足额缴纳", "In full"),
    ("contrib.paid.no", "未缴清", "Not in full"),
    ("contrib.credit", "划入个人账户（元）", "Credited (CNY)"),
    ("contrib.credited_on", "划入日期", "Credited on"),
    ("contrib.not_credited", "尚未划入", "Not yet"),
    (
        "contrib.empty",
        "暂无缴费记录。",
        "No contribution months yet.",
    ),
    (
        "contrib.note",
        "单位核定应缴含单位和个人两部分。个人账户在税务部门的缴费数据回传后才划入，此前显示“尚未划入”。",
        "The assessment holds both the employer's and the employee's part. The personal account is credited once the tax bureau's payment data arrives; until then the month shows \"Not yet\".",
    ),
    // Terminals (R-KM-1)
    ("term.title", "终端与PSAM", "Terminals and their PSAMs"),
    (
        "term.help",
        "药店、医疗机构、银行网点和自助终端：是否持有PSAM安全模块，其最后一次被接受的请求计数器及时间。",
        "Pharmacies, hospitals, bank branches and kiosks: whether each holds a PSAM, and the counter and time of its last accepted request.",
    ),
    ("term.empty", "暂无终端。", "No terminals yet."),
    ("term.id", "终端编号", "Terminal"),
    ("term.role", "类型", "Kind"),
    ("term.name", "名称", "Name"),
    ("term.region", "地区代码", "Region"),
    ("term.psam_no", "PSAM卡号", "PSAM number"),
    ("term.no_psam", "无（仅凭令牌）", "None — bearer token"),
    ("term.counter", "最后计数器", "Last counter"),
    ("term.used_at", "最后使用时间", "Last used"),
    ("term.never_used", "从未使用", "Never used"),
    ("term.revoked_at", "吊销时间", "Revoked at"),
    ("term.revoke", "吊销", "Revoke"),
    (
        "term.revoke_help",
        "吊销后该终端的令牌立即失效，不能恢复；需要时请系统管理员重新开立终端。",
        "Once revoked, the terminal's token stops working at once and cannot be restored; an administrator creates a new terminal if needed.",
    ),
    (
        "term.revoked",
        "终端已吊销，其令牌已失效：",
        "The terminal is revoked; its token no longer works:",
    ),
    ("term.not_found", "未找到该终端。", "No such terminal."),
    ("term.more", "下一页", "More terminals"),
    ("term.first", "回到第一页", "Back to the first page"),
    // Dashboard
    ("dash.title", "统计看板", "Supervisor dashboard"),
    ("dash.now", "统计时点", "As of"),
    (
        "dash.ss_locked",
        "社保账户密码锁定",
        "Social-security accounts locked (password)",
    ),
    (
        "dash.fin_locked",
        "金融账户今日锁定",
        "Financial accounts locked today",
    ),
    ("dash.pre_loss", "预挂失中", "Pre-losses in force"),
    (
        "dash.temporary_loss",
        "临时挂失中",
        "Temporary losses in force",
    ),
    ("dash.formal_loss", "正式挂失中", "Formal losses in force"),
    (
        "dash.replacements",
        "待领取新卡",
        "Replacement cards waiting",
    ),
    (
        "dash.chart",
        "每日新增锁定（按原因）",
        "New locks per day, by reason",
    ),
    ("dash.days", "统计天数", "Days"),
    (
        "dash.lapsing",
        "3天内自动失效的预挂失",
        "Pre-losses lapsing within 3 days",
    ),
    ("dash.due", "待领取的补换卡", "Replacement cards to collect"),
    (
        "dash.unit_locked",
        "被单位封锁的单位",
        "Employers under a unit lock",
    ),
    (
        "dash.unit_locked_list",
        "单位封锁中的单位（按封锁起始日）",
        "Employers under a unit lock (longest first)",
    ),
    (
        "dash.more",
        "仅列出最早封锁的部分单位。",
        "Only the longest-locked employers are listed.",
    ),
    (
        "dash.legend.ss",
        "社保密码锁定",
        "Social-security password lock",
    ),
    ("dash.legend.fin", "金融密码锁定", "Financial password lock"),
    ("dash.legend.loss", "挂失", "Loss reported"),
    ("dash.day", "日期", "Day"),
    ("dash.total", "合计", "Total"),
    ("dash.ready_today", "已可领取", "Ready"),
    // Portal
    (
        "portal.login.title",
        "个人网上服务登录",
        "Cardholder log in",
    ),
    ("portal.login.id_number", "身份证号", "ID number"),
    ("portal.login.password", "查询密码", "Query password"),
    (
        "portal.login.help",
        "首次登录的初始查询密码为身份证号后8位（末位X按0）。查询密码与社保卡交易密码无关。",
        "The first time, the query password is the last 8 characters of your ID number (a final X is 0). It is not the card's transaction password.",
    ),
    (
        "portal.login.bad",
        "身份证号或查询密码错误。多次输错后需等待一段时间再试，社保卡本身不会被锁定。",
        "ID number or query password wrong. After several wrong tries you must wait before trying again; the card itself is never locked by this.",
    ),
    (
        "portal.pw.title",
        "修改查询密码",
        "Change the query password",
    ),
    (
        "portal.pw.forced",
        "首次登录须先修改初始查询密码。",
        "Change the initial query password before you go on.",
    ),
    ("portal.pw.old", "当前查询密码", "Current query password"),
    ("portal.pw.new", "新查询密码", "New query password"),
    ("portal.pw.confirm", "再次输入新密码", "New password again"),
    (
        "portal.pw.help",
        "8至64位，须同时包含字母和数字。",
        "8 to 64 characters with at least one letter and one digit.",
    ),
    (
        "portal.pw.mismatch",
        "两次输入的新密码不一致。",
        "The two new passwords differ.",
    ),
    ("portal.pw.submit", "修改密码", "Change password"),
    (
        "portal.pw.done",
        "查询密码已修改。",
        "The query password was changed.",
    ),
    ("portal.home.title", "我的社保卡", "My card"),
    (
        "portal.home.no_card",
        "您还没有社保卡。",
        "You have no card yet.",
    ),
    ("portal.loss.title", "临时挂失", "Report a temporary loss"),
    (
        "portal.loss.help",
        "挂失后社保功能立即停止。找回卡片可持身份证和卡到服务窗口解除挂失。",
        "The social-security functions stop at once. If you find the card, bring it and your ID card to a service window to release the loss.",
    ),
    (
        "portal.loss.confirm",
        "我确认卡片已丢失，申请临时挂失",
        "I confirm the card is lost: report a temporary loss",
    ),
    ("portal.loss.submit", "立即挂失", "Report now"),
    (
        "portal.loss.done",
        "已办理临时挂失。",
        "The temporary loss is recorded.",
    ),
    (
        "portal.loss.in_force",
        "您的卡已挂失。",
        "Your card is reported lost.",
    ),
    (
        "portal.nav.contributions",
        "我的缴费记录",
        "My contribution record",
    ),
    ("portal.nav.trail", "我的操作记录", "My trail"),
    ("portal.nav.home", "返回我的社保卡", "Back to my card"),
    (
        "portal.contrib.help",
        "按月列出单位为您申报的基本医疗保险缴费：缴费基数、核定应缴、个人缴纳部分、单位是否足额缴纳，以及划入您个人账户的金额和日期。",
        "Month by month, the basic medical insurance contributions declared for you: the base, the assessment, your own part, whether the employer paid the month in full, and what reached your personal account and when.",
    ),
    (
        "portal.contrib.ask",
        "对缴费记录有疑问，请联系单位负责社保缴费的工作人员或服务窗口。",
        "Questions about the record: ask your employer's payroll staff or a service window.",
    ),
    ("portal.trail.title", "我的操作记录", "My trail"),
    (
        "portal.trail.help",
        "使用您的社保卡、身份证号或密码办理的每笔业务都有记录：谁、在哪里、通过什么渠道、如何核验您的身份。最新的在最前。",
        "Everything done with your card, your ID number or your passwords is recorded: who, where, through which channel, and how you were identified. Newest first.",
    ),
    (
        "portal.trail.not_you",
        "如有不是您本人办理的业务，请立即挂失，并到服务窗口咨询。",
        "If something here was not you, report the card lost at once and ask at a service window.",
    ),
    ("portal.trail.empty", "暂无记录。", "Nothing recorded yet."),
    ("portal.trail.earlier", "更早的记录", "Earlier records"),
    ("portal.trail.latest", "最新的记录", "The latest records"),
    // Unit lock (R-EM-2, R-EM-5)
    ("unitlock.title", "单位封锁", "Unit lock"),
    ("unitlock.since", "封锁起始日", "Locked since"),
    ("unitlock.months", "欠费月份", "Months unpaid"),
    (
        "unitlock.none",
        "该单位当前未被封锁。",
        "This employer is not under a unit lock.",
    ),
    (
        "unitlock.effect",
        "封锁期间，该单位全部参保职工和退休人员的医疗费用（含门诊慢特病和住院报销）统筹基金不予支付，由单位承担。",
        "While the lock stands, the fund pays no medical costs (chronic outpatient care and inpatient reimbursement included) for any of the employer's insured employees and retirees: they fall to the employer.",
    ),
    (
        "unitlock.holders_told",
        "持卡人用卡时看到的提示",
        "What the cardholders are told",
    ),
    (
        "unitlock.how_to_lift",
        "解除封锁：单位补缴全部欠费后，出示欠费月份及最近3个月的完税凭证（在下方录入）。",
        "To lift the lock the employer pays all arrears, then shows the tax receipts for them and for the last 3 months (enter them below).",
    ),
    (
        "unitlock.clerk_help",
        "持卡人本人无法解除单位封锁，请其联系单位负责社保缴费的工作人员。",
        "The holder cannot lift a unit lock: ask them to contact the employer's payroll staff.",
    ),
    ("unitlock.open_employer", "查看单位", "Open the employer"),
    // Employers (R-EM-1..4, D-9)
    (
        "emp.title",
        "单位欠费与完税凭证",
        "Employer arrears and tax receipts",
    ),
    ("emp.find", "单位编号", "Employer number"),
    ("emp.find_help", "例如 E000001。", "For example E000001."),
    ("emp.id", "单位编号", "Employer"),
    (
        "emp.not_found",
        "未找到该单位：请核对单位编号（例如 E000001）。",
        "No such employer: check the employer number (e.g. E000001).",
    ),
    ("emp.name", "单位名称", "Name"),
    ("emp.region", "参保地区", "Region"),
    ("emp.today", "今天", "Today"),
    ("emp.arrears", "欠费月份", "Months in arrears"),
    ("emp.months", "各月核定与缴费", "Months: assessed and paid"),
    ("emp.month", "月份", "Month"),
    ("emp.assessed", "核定应缴", "Assessed"),
    ("emp.paid", "已缴", "Paid"),
    ("emp.paid_on_time", "按时缴纳", "Paid on time"),
    ("emp.tax_paid", "税务已到账", "Tax bureau data"),
    ("emp.due_on", "缴费截止日", "Due day"),
    (
        "emp.data_arrived_on",
        "缴费数据回传日",
        "Payment data arrives",
    ),
    ("emp.credited", "已划入个人账户", "Credited"),
    ("emp.state", "状态", "State"),
    ("emp.state.locking", "封锁中", "Locking"),
    ("emp.state.arrears", "欠费", "In arrears"),
    ("emp.state.cleared", "已解除封锁", "Lock cleared"),
    ("emp.state.ok", "正常", "In order"),
    (
        "emp.amounts_in_yuan",
        "金额单位：元。",
        "Amounts in yuan (CNY).",
    ),
    ("emp.receipts.title", "录入完税凭证", "Accept tax receipts"),
    (
        "emp.receipts.help",
        "按单位出示的完税凭证逐张录入：所属月份、金额、缴款日期和凭证号。未填写金额的行不提交。",
        "Enter each tax receipt the employer shows: the month it pays for, the amount, the day paid and the receipt number. Rows without an amount are not sent.",
    ),
    ("emp.amount_yuan", "金额（元）", "Amount (yuan)"),
    ("emp.paid_on", "缴款日期", "Paid on"),
    ("emp.receipt_no", "凭证号", "Receipt number"),
    (
        "emp.record_no",
        "税务记录号（可不填）",
        "Record number (optional)",
    ),
    (
        "emp.amount_help",
        "金额按元填写，最多两位小数，例如 880 或 880.50；不要加逗号或货币符号。",
        "Amounts in yuan with at most two decimals, e.g. 880 or 880.50; no commas or currency signs.",
    ),
    ("emp.receipts.submit", "提交完税凭证", "Submit the receipts"),
    (
        "emp.receipts.lifted",
        "完税凭证已录入，单位封锁已解除。",
        "The receipts are recorded and the unit lock is lifted.",
    ),
    (
        "emp.receipts.recorded",
        "新录入凭证张数：",
        "Receipts newly recorded:",
    ),
    (
        "emp.receipts.still_locked",
        "凭证已录入，但封锁尚未解除。仍须补齐以下月份的缴费或完税凭证：",
        "The receipts are recorded, but the lock stands. Payments or receipts are still needed for:",
    ),
    (
        "emp.bad_amount",
        "金额格式有误：请按元填写正数，最多两位小数（例如 880.50），不要加逗号或货币符号。",
        "The amount is not valid: type yuan as a positive number with at most two decimals (e.g. 880.50), without commas or currency signs.",
    ),
    ("emp.row", "（第{n}行）", "(row {n})"),
    (
        "emp.no_rows",
        "没有可提交的内容：请至少填写一行的金额、日期和凭证号。",
        "Nothing to send: fill in the amount, date and number of at least one row.",
    ),
    (
        "emp.payment.title",
        "录入税务部门的缴费记录",
        "Record the tax bureau's payment record",
    ),
    (
        "emp.payment.help",
        "税务部门回传的缴费记录：缴款日期在截止日（含）之前的，视为按时缴纳；个人账户在缴费数据回传后才划入。",
        "A payment record sent back by the tax bureau: paid on or before the due day counts as on time; personal accounts are credited once the payment data arrives.",
    ),
    ("emp.payment.submit", "录入缴费记录", "Record the payment"),
    (
        "emp.payment.done",
        "缴费记录已录入。",
        "The payment record is recorded.",
    ),
    (
        "emp.apply.title",
        "为参保职工批量申领社保卡",
        "Apply for the insured people's cards in bulk",
    ),
    (
        "emp.apply.help",
        "每行填写一个身份证号，一次最多500个。在本单位参保且尚无社保卡的人员制发新卡；其他人员列出未制卡的原因。重复提交不会重复制卡。",
        "One ID number per line, at most 500 at a time. Everyone insured through this employer without a card gets one; the others are listed with the reason. Sending a list again issues nothing twice.",
    ),
    (
        "emp.apply.ids",
        "身份证号（每行一个）",
        "ID numbers (one per line)",
    ),
    ("emp.apply.submit", "提交申领", "Apply for the cards"),
    (
        "emp.apply.empty",
        "请至少填写一个身份证号。",
        "Type at least one ID number.",
    ),
    (
        "emp.apply.done",
        "批量申领已办理：",
        "The application is done:",
    ),
    (
        "emp.apply.none",
        "本次没有制发新卡：",
        "No card was issued this time:",
    ),
    (
        "emp.apply.counts",
        "新制卡 {issued} 张，未制卡 {skipped} 人。",
        "{issued} cards issued, {skipped} people skipped.",
    ),
    ("emp.apply.issued", "已制发的新卡", "Cards issued"),
    ("emp.apply.skipped", "未制卡的人员", "Not issued"),
    ("emp.apply.reason", "原因", "Reason"),
    (
        "emp.apply.next",
        "新卡为“已制卡未启用”状态，持卡人启用后即可使用。",
        "The new cards are issued, not yet activated: each holder activates theirs.",
    ),
    (
        "emp.apply.reason.invalid_id_number",
        "身份证号格式或校验位有误",
        "Not a valid ID number",
    ),
    (
        "emp.apply.reason.listed_twice",
        "名单中重复填写",
        "Listed twice",
    ),
    (
        "emp.apply.reason.not_registered",
        "尚未办理参保登记",
        "Not registered",
    ),
    (
        "emp.apply.reason.not_insured_here",
        "不在本单位参保",
        "Not insured through this employer",
    ),
    (
        "emp.apply.reason.has_card",
        "已有社保卡",
        "Already holds a card",
    ),
    (
        "emp.apply.reason.card_lost",
        "社保卡已挂失，须办理补卡",
        "The card is reported lost: a replacement is the way",
    ),
    // Out-of-area filings (R-MS-3)
    (
        "portal.filing.title",
        "异地就医备案",
        "Out-of-area care filing",
    ),
    (
        "portal.filing.help",
        "在参保地以外门诊和药店购药可直接刷卡结算；异地住院须先备案：长期异地居住的提前备案，转诊的办理转诊备案。",
        "Outpatient care and pharmacy purchases out of area settle directly by card. An inpatient stay out of area needs a filing: long-term residents file in advance, referrals file the transfer.",
    ),
    (
        "portal.filing.emergency_rule",
        "急诊住院（旅游、出差、探亲期间）须在入院后 {days} 个工作日内申请备案（节假日不计），逾期不予受理。",
        "An emergency admission (while travelling, on business or visiting family) must be filed within {days} working days of admission (days off do not count); later filings are refused.",
    ),
    ("portal.filing.kind", "备案类型", "Kind"),
    ("filing.kind.emergency", "急诊住院", "Emergency admission"),
    (
        "filing.kind.long_term_residence",
        "长期异地居住",
        "Long-term residence elsewhere",
    ),
    ("filing.kind.referral", "转诊转院", "Referral"),
    (
        "portal.filing.region",
        "就医地区代码",
        "Region of care (code)",
    ),
    (
        "portal.filing.region_help",
        "就医地的6位行政区划代码，例如上海市 310000。",
        "The 6-digit division code of the place of care, e.g. 310000 for Shanghai.",
    ),
    ("portal.filing.admitted_on", "入院日期", "Admitted on"),
    (
        "portal.filing.admitted_help",
        "急诊住院必填。",
        "Required for an emergency admission.",
    ),
    ("portal.filing.submit", "提交备案", "File"),
    (
        "portal.filing.done",
        "备案已受理。",
        "The filing is accepted.",
    ),
    ("portal.filing.number", "备案编号", "Filing number"),
    (
        "portal.filing.deadline",
        "急诊备案截止日",
        "Emergency filing deadline",
    ),
    (
        "portal.filing.too_late",
        "已超过急诊备案期限，不能在网上备案。最后备案日为：",
        "Too late: the emergency filing period has passed. The last day was:",
    ),
    (
        "portal.filing.too_late_help",
        "如有特殊情况，请到参保地社保服务窗口咨询。",
        "For special circumstances, ask at a social security service window of your insured region.",
    ),
    (
        "act.filing.title",
        "异地就医备案（持卡人或代办人在窗口申请）",
        "Out-of-area care filing (the holder or an agent at the window)",
    ),
    // Clerk results
    (
        "done.reset",
        "已解锁，并恢复初始密码（未启用）。请持卡人在密码键盘上设置新密码。",
        "Unlocked; the initial password (not enabled) is restored. Ask the holder to set a new one on the PIN pad.",
    ),
    (
        "done.disable",
        "社保密码已取消。",
        "The social-security password is cancelled.",
    ),
    (
        "done.activate",
        "社保账户已启用。",
        "The social-security account is active.",
    ),
    ("done.loss", "已办理挂失。", "The loss is recorded."),
    ("done.release", "已解除挂失。", "The loss is released."),
    (
        "done.replacement",
        "已受理补卡，新卡号及可领取日期：",
        "Replacement accepted; new card and ready date:",
    ),
    (
        "done.collect",
        "新卡已领取，请持卡人启用。",
        "The new card is handed over; the holder activates it next.",
    ),
    // The electronic social security card (R-KM-2, D-16): the card page and the portal.
    (
        "ecard.title",
        "电子社保卡",
        "Electronic social security card",
    ),
    ("ecard.active", "已激活", "Active"),
    ("ecard.inactive", "未激活", "Not activated"),
    ("ecard.active_since", "激活时间", "Activated"),
    (
        "ecard.needs_ss",
        "社保账户启用后才能激活电子社保卡。",
        "The electronic card can be activated once the social-security account is active.",
    ),
    (
        "ecard.not_usable",
        "卡片已挂失或已补换：电子社保卡随实体卡暂停使用。",
        "The card is reported lost or replaced: its electronic form cannot be used either.",
    ),
    ("common.seconds", "秒", "s"),
    (
        "act.ecard_on.title",
        "激活电子社保卡",
        "Activate the electronic card",
    ),
    (
        "act.ecard_on.help",
        "持卡人申请即可激活；电子社保卡与实体卡是同一张卡，挂失、补卡同时作用于两者。",
        "At the holder's request. It is the same card in electronic form: a loss or a replacement reaches both.",
    ),
    ("act.ecard_on.submit", "激活电子社保卡", "Activate"),
    (
        "act.ecard_off.title",
        "停用电子社保卡",
        "Deactivate the electronic card",
    ),
    (
        "act.ecard_off.help",
        "例如持卡人手机丢失：停用后未使用的付款码立即作废，实体卡不受影响。",
        "For instance a lost phone: the unused payment codes stop working at once; the physical card is not touched.",
    ),
    ("act.ecard_off.submit", "停用电子社保卡", "Deactivate"),
    (
        "done.ecard_activate",
        "电子社保卡已激活。",
        "The electronic card is activated.",
    ),
    (
        "done.ecard_deactivate",
        "电子社保卡已停用，未使用的付款码已作废。",
        "The electronic card is deactivated; its unused payment codes are withdrawn.",
    ),
    (
        "portal.ecard.help",
        "激活后，在定点药店出示付款码即可用个人账户支付。",
        "Once it is activated, you pay from your personal account at designated pharmacies by showing a payment code.",
    ),
    (
        "portal.ecard.show_code",
        "出示付款码",
        "Show the payment code",
    ),
    (
        "portal.ecard.deactivate_help",
        "手机丢失或更换时请停用：未使用的付款码随即作废，之后可随时重新激活。",
        "If your phone is lost or changed, deactivate it: unused payment codes stop working at once, and you can activate it again at any time.",
    ),
    ("portal.ecard.code_title", "付款码", "Payment code"),
    (
        "portal.ecard.qr_label",
        "付款码二维码",
        "The payment code as a QR code",
    ),
    (
        "portal.ecard.code_help",
        "请向收银员出示此码。每个付款码只能使用一次，请勿截图或发送给他人。",
        "Show this code at the till. Each code pays once: do not screenshot it or send it to anyone.",
    ),
    ("portal.ecard.expires_at", "有效期至", "Valid until"),
    ("portal.ecard.remaining", "剩余", "Time left"),
    (
        "portal.ecard.refresh_help",
        "付款码过期或已使用后，请换一个新的付款码。",
        "Once the code has expired or been used, get a new one.",
    ),
    ("portal.ecard.new_code", "换一个付款码", "New code"),
    (
        "portal.ecard.not_active",
        "电子社保卡未激活：请先激活，再出示付款码。",
        "The electronic card is not active: activate it first, then show a code.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    // Every `t.get("…")` in a template has both languages in the catalogue.
    #[test]
    fn every_template_key_is_in_the_catalogue() {
        let templates = crate::templates::SOURCES;
        let mut missing = Vec::new();
        for (name, source) in templates {
            let mut rest = *source;
            while let Some(i) = rest.find("t.get(\"") {
                rest = &rest[i + 7..];
                let Some(end) = rest.find('"') else { break };
                let key = &rest[..end];
                if !CATALOGUE.iter().any(|(k, _, _)| *k == key) {
                    missing.push(format!("{name}: {key}"));
                }
                rest = &rest[end..];
            }
        }
        assert!(missing.is_empty(), "missing catalogue keys: {missing:?}");
    }

    // Keys the handlers name in Rust (flashes, tiles, prepared words) are there too.
    #[test]
    fn every_key_the_handlers_name_is_in_the_catalogue() {
        let sources = [
            ("clerk.rs", include_str!("clerk.rs")),
            ("portal.rs", include_str!("portal.rs")),
            ("employers.rs", include_str!("employers.rs")),
            ("board.rs", include_str!("board.rs")),
            ("extract.rs", include_str!("extract.rs")),
            ("terminals.rs", include_str!("terminals.rs")),
        ];
        let mut missing = Vec::new();
        let mut seen = 0;
        for (name, source) in sources {
            for pattern in ["t.get(\"", "key: \"", "tile(\"", "form_refusal(\""] {
                let mut rest = source;
                while let Some(i) = rest.find(pattern) {
                    rest = &rest[i + pattern.len()..];
                    let Some(end) = rest.find('"') else { break };
                    let key = &rest[..end];
                    seen += 1;
                    if !CATALOGUE.iter().any(|(k, _, _)| *k == key) {
                        missing.push(format!("{name}: {key}"));
                    }
                    rest = &rest[end..];
                }
            }
        }
        assert!(seen > 20, "the scan finds the handlers' keys ({seen})");
        assert!(missing.is_empty(), "missing catalogue keys: {missing:?}");
    }

    #[test]
    fn keys_are_unique_and_both_languages_are_filled() {
        for (i, (k, zh, en)) in CATALOGUE.iter().enumerate() {
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
            assert!(
                !CATALOGUE[..i].iter().any(|(k2, _, _)| k2 == k),
                "duplicate {k}"
            );
        }
    }

    // The audit trail, the ledger and the evidence checklist show the service's vocabulary:
    // every value has its words in both languages, so a new action never shows as a raw code.
    #[test]
    fn every_value_the_service_records_has_its_words() {
        use shebao_service::model::{AuditAction, Authorisation, LedgerKind, Outcome};
        let mut keys: Vec<String> = Vec::new();
        keys.extend(AuditAction::ALL.iter().map(|a| format!("audit.action.{a}")));
        keys.extend(Outcome::ALL.iter().map(|o| format!("audit.outcome.{o}")));
        keys.extend(
            Authorisation::ALL
                .iter()
                .map(|a| format!("audit.authorised_by.{a}")),
        );
        keys.extend(
            shebao_domain::Role::ALL
                .iter()
                .map(|r| format!("role.{}", r.as_str())),
        );
        keys.extend(
            crate::employers::SKIP_REASONS
                .iter()
                .map(|r| format!("emp.apply.reason.{r}")),
        );
        keys.extend(LedgerKind::ALL.iter().map(|k| format!("ledger.kind.{k}")));
        keys.extend(
            shebao_domain::Missing::ALL
                .iter()
                .map(|m| format!("ev.missing.{}", m.code())),
        );
        let missing: Vec<&String> = keys
            .iter()
            .filter(|k| !CATALOGUE.iter().any(|(c, _, _)| c == k))
            .collect();
        assert!(missing.is_empty(), "no words for {missing:?}");
    }

    #[test]
    fn chinese_is_the_default() {
        assert_eq!(Tr::new(Lang::default()).get("nav.search"), "查询");
        assert_eq!(Tr::new(Lang::En).get("nav.search"), "Find");
    }
}
