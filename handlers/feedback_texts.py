"""What the feedback conversation says, in Chinese and English.

Templates use `str.format`; callers pass values already escaped for HTML (`handlers.common.esc`).
Kept apart from `handlers.texts` because the feedback flow owns these strings.
"""

from __future__ import annotations

ZH: dict[str, str] = {
    "kind_suggestion": "意见建议",
    "kind_complaint": "投诉举报",
    "kind_other": "其他",
    "ask_kind": (
        "<b>向眉山高新区党工委反映意见</b>\n"
        "您写的内容会转交通报公布的邮箱 {email}。全程匿名，除非您自己留下联系方式。\n\n"
        "第 1 步：请选择类型"
    ),
    "ask_kind_item": "（关于第 {n} 项：{title}）",
    "ask_text": (
        "第 2 步：请写下您的{kind}（{min}–{max} 个字）。\n可以附上照片或文件（最多 {files} 个）。"
    ),
    "ask_item": (
        "第 3 步：这条意见和通报里的哪一项有关？\n"
        "下面是根据您写的内容找到的最接近的几项；也可以直接发送编号（1–{count}），"
        "或选择“不涉及具体事项”。"
    ),
    "ask_item_nothing": (
        "第 3 步：这条意见和通报里的哪一项有关？\n"
        "没有找到明显相关的事项。可以直接发送编号（1–{count}），或选择“不涉及具体事项”。"
    ),
    "ask_contact": (
        "第 4 步：联系方式（可选）\n"
        "默认<b>匿名</b>提交。如果希望工作人员联系您，请直接发送姓名和/或电话，"
        "例如：<i>张先生 13800000000</i>。"
    ),
    "contact_how": "请发送您的姓名和/或电话，例如：<i>张先生 13800000000</i>。",
    "contact_bad": (
        "没有看懂这个联系方式。请发送姓名和/或电话（电话 7–15 位数字），或点“匿名提交”。"
    ),
    "btn_anonymous": "匿名提交",
    "btn_give_contact": "留下联系方式",
    "btn_no_item": "不涉及具体事项",
    "btn_item": "第{n}项 · {title}",
    "btn_confirm": "✅ 确认提交",
    "btn_edit": "✏️ 修改",
    "btn_cancel": "取消",
    "btn_resume": "继续填写草稿",
    "btn_restart": "重新开始",
    "btn_back_preview": "« 返回预览",
    "btn_edit_kind": "类型",
    "btn_edit_text": "内容",
    "btn_edit_item": "相关事项",
    "btn_edit_contact": "联系方式",
    "preview": (
        "<b>请核对，以下内容将被发送：</b>\n"
        "类型：{kind}\n"
        "相关事项：{item}\n"
        "联系方式：{contact}\n"
        "{files}"
        "内容：\n<blockquote>{text}</blockquote>\n\n"
        "{where}"
    ),
    "preview_files": "附件：{count} 个\n",
    "preview_no_item": "不涉及具体事项",
    "preview_item": "第{n}项 {title}",
    "preview_anonymous": "匿名（不会发送您的任何身份信息）",
    "preview_contact": "{parts}（将随意见一并发送，便于工作人员联系您）",
    "contact_name": "姓名 {name}",
    "contact_phone": "电话 {phone}",
    "where_email": (
        "确认后，机器人会把它发送到高新区党工委公布的邮箱 <b>{email}</b>。\n"
        "您也可以直接反映：电话 {phone}，或写信寄至 {address}。"
    ),
    "where_stored": (
        "确认后，意见会保存在本机器人中，由工作人员收取（目前未配置邮件转发）。\n"
        "如需立即反映：电话 {phone}，或写信寄至 {address}，邮箱 {email}。"
    ),
    "edit_which": "要修改哪一部分？",
    "confirmed": (
        "✅ 已收到，编号 <b>{reference}</b>。\n\n"
        "接下来：您的意见将转交高新区党工委（邮箱 {email}），由工作人员阅处。"
        "机器人不承诺答复时间；{reply}\n"
        "发送 /myfeedback 可随时查看转交状态。"
    ),
    "confirmed_stored": (
        "✅ 已收到并保存，编号 <b>{reference}</b>。\n\n"
        "接下来：工作人员会从机器人中收取并阅处（目前未配置邮件转发）。"
        "机器人不承诺答复时间；{reply}\n"
        "如需立即反映：电话 {phone}，或写信寄至 {address}。\n"
        "发送 /myfeedback 可随时查看状态。"
    ),
    "reply_contact": "如需联系，工作人员会使用您留下的联系方式。",
    "reply_anonymous": "您是匿名提交的，所以工作人员无法直接回复您。",
    "cancelled": "已取消，没有发送任何内容。需要时发送 /feedback 重新开始。",
    "timeout": (
        "这份意见 {minutes} 分钟没有继续，表单已暂停，草稿已为您保存（尚未发送）。\n"
        "发送 /feedback 即可从上次的步骤继续。"
    ),
    "draft_exists": (
        "您有一份尚未发送的草稿：\n<blockquote>{summary}</blockquote>\n要继续填写还是重新开始？"
    ),
    "draft_empty": "（还没有写内容）",
    "too_short": "内容有点短（{length} 个字），请至少写 {min} 个字，说清楚时间、地点或事情经过。",
    "too_long": "内容太长了（{length} 个字），最多 {max} 个字。请精简后重新发送，或分成两条意见。",
    "duplicate": (
        "您今天已经发送过完全相同的内容，无需重复提交。"
        "可以用 /myfeedback 查看它的编号和状态；如有补充，请写下新的内容。"
    ),
    "daily_limit": (
        "为防止滥用，每人每天最多通过机器人提交 {limit} 条意见，今天已达上限。"
        "请明天再来，或直接拨打电话 {phone}。"
    ),
    "file_added": "已添加附件（共 {count} 个）。",
    "file_added_need_text": (
        "已添加附件（共 {count} 个）。请再用文字写下您的意见（{min}–{max} 个字）。"
    ),
    "too_many_files": "最多只能附 {files} 个文件，这个没有添加。",
    "file_too_big": "这个文件超过 20 MB，机器人无法转交。请改用邮箱 {email} 发送。",
    "item_unknown": "通报里没有第 {n} 项（共 {count} 项），请重新选择。",
    "need_text": "请用文字写下您的意见（{min}–{max} 个字），也可以附上照片或文件。",
    "use_buttons": "请点上面的按钮选择，或发送 /cancel 取消。",
    "use_buttons_item": "请点按钮选择，或直接发送编号（1–{count}）。发送 /cancel 取消。",
    "stale": "这个按钮已过期。",
    "stale_alert": "这个按钮来自已结束的意见表单。发送 /feedback 重新开始。",
    "private_only": "为保护您的隐私，请在与我的私聊中发送 /feedback 提交意见。",
    "already_sending": "正在提交，请稍候。",
    "save_failed": "抱歉，保存时出错，意见尚未提交。请稍后再点“确认提交”，或直接拨打 {phone}。",
    "my_title": "<b>您提交的意见</b>（最近 {count} 条）",
    "my_line": "{reference} · {date} · {kind}{item} · {state}\n<i>{snippet}</i>",
    "my_empty": "您还没有通过机器人提交过意见。发送 /feedback 开始。",
    "state_received": "已收到，待转交",
    "state_forwarded": "已转交邮箱",
    "state_retrying": "转交重试中",
    "state_failed": "邮件转交失败，已保存，工作人员会处理",
    "state_stored": "已保存，待工作人员收取",
    "staff_only": "抱歉，这个命令只供工作人员使用。",
    "export_caption": "全部意见 {count} 条（CSV，UTF-8，可用 Excel 打开）。",
}

EN: dict[str, str] = {
    "kind_suggestion": "Suggestion",
    "kind_complaint": "Complaint / report",
    "kind_other": "Other",
    "ask_kind": (
        "<b>Send an opinion to the Meishan High-tech Zone Party Working Committee</b>\n"
        "What you write is forwarded to the published address {email}. It is anonymous unless "
        "you choose to leave contact details.\n\n"
        "Step 1: what kind of message is it?"
    ),
    "ask_kind_item": "(about item {n}: {title})",
    "ask_text": (
        "Step 2: please write your {kind} ({min}–{max} characters).\n"
        "You may attach photos or files (up to {files})."
    ),
    "ask_item": (
        "Step 3: which item of the notice is it about?\n"
        "These are the closest items to what you wrote; you can also send a number "
        "(1–{count}) or choose “Not about a specific item”."
    ),
    "ask_item_nothing": (
        "Step 3: which item of the notice is it about?\n"
        "No item clearly matches. Send a number (1–{count}) or choose “Not about a specific item”."
    ),
    "ask_contact": (
        "Step 4: contact details (optional)\n"
        "By default you stay <b>anonymous</b>. If you want the office to contact you, send your "
        "name and/or phone number, e.g. <i>Mr Zhang 13800000000</i>."
    ),
    "contact_how": "Send your name and/or phone number, e.g. <i>Mr Zhang 13800000000</i>.",
    "contact_bad": (
        "I could not read that. Send a name and/or a phone number (7–15 digits), "
        "or tap “Stay anonymous”."
    ),
    "btn_anonymous": "Stay anonymous",
    "btn_give_contact": "Leave contact details",
    "btn_no_item": "Not about a specific item",
    "btn_item": "Item {n} · {title}",
    "btn_confirm": "✅ Send",
    "btn_edit": "✏️ Edit",
    "btn_cancel": "Cancel",
    "btn_resume": "Continue the draft",
    "btn_restart": "Start again",
    "btn_back_preview": "« Back to preview",
    "btn_edit_kind": "Kind",
    "btn_edit_text": "Text",
    "btn_edit_item": "Item",
    "btn_edit_contact": "Contact",
    "preview": (
        "<b>Please check — this is exactly what will be sent:</b>\n"
        "Kind: {kind}\n"
        "Item: {item}\n"
        "Contact: {contact}\n"
        "{files}"
        "Text:\n<blockquote>{text}</blockquote>\n\n"
        "{where}"
    ),
    "preview_files": "Attachments: {count}\n",
    "preview_no_item": "Not about a specific item",
    "preview_item": "Item {n}: {title}",
    "preview_anonymous": "anonymous (nothing that identifies you is sent)",
    "preview_contact": "{parts} (sent with your message so that the office can contact you)",
    "contact_name": "name {name}",
    "contact_phone": "phone {phone}",
    "where_email": (
        "When you confirm, the bot emails it to the committee's published address <b>{email}</b>.\n"
        "You can also reach them directly: phone {phone}, or post to {address}."
    ),
    "where_stored": (
        "When you confirm, it is stored in this bot and collected by the office (email "
        "forwarding is not set up).\n"
        "To reach them right away: phone {phone}, post to {address}, email {email}."
    ),
    "edit_which": "What would you like to change?",
    "confirmed": (
        "✅ Received. Your reference is <b>{reference}</b>.\n\n"
        "What happens next: your message is forwarded to the committee (email {email}) for "
        "the office to read. The bot cannot promise a reply; {reply}\n"
        "Send /myfeedback at any time to see whether it has been forwarded."
    ),
    "confirmed_stored": (
        "✅ Received and stored. Your reference is <b>{reference}</b>.\n\n"
        "What happens next: the office collects it from the bot (email forwarding is not set "
        "up). The bot cannot promise a reply; {reply}\n"
        "To reach them right away: phone {phone}, or post to {address}.\n"
        "Send /myfeedback at any time to see its state."
    ),
    "reply_contact": "if needed, the office will use the contact details you left.",
    "reply_anonymous": "you sent it anonymously, so the office cannot reply to you directly.",
    "cancelled": "Cancelled — nothing was sent. Send /feedback whenever you want to start again.",
    "timeout": (
        "This opinion was left for {minutes} minutes, so the form is paused. Your draft is saved "
        "(not sent).\nSend /feedback to continue where you left off."
    ),
    "draft_exists": (
        "You have an unsent draft:\n<blockquote>{summary}</blockquote>\nContinue it or start again?"
    ),
    "draft_empty": "(no text yet)",
    "too_short": (
        "That is a little short ({length} characters). Please write at least {min}: "
        "when, where, what happened."
    ),
    "too_long": (
        "That is too long ({length} characters); the limit is {max}. Please shorten it or "
        "split it into two messages."
    ),
    "duplicate": (
        "You already sent exactly this text today, so there is no need to send it again. "
        "/myfeedback shows its reference and state; to add something, write the new part."
    ),
    "daily_limit": (
        "To prevent abuse, each person can send {limit} opinions a day through the bot, and "
        "today's limit is reached. Please come back tomorrow or phone {phone}."
    ),
    "file_added": "Attachment added ({count} in total).",
    "file_added_need_text": (
        "Attachment added ({count} in total). Now please write your opinion in words "
        "({min}–{max} characters)."
    ),
    "too_many_files": "At most {files} files can be attached; this one was not added.",
    "file_too_big": (
        "This file is over 20 MB, which the bot cannot forward. Please email it to {email}."
    ),
    "item_unknown": "The notice has no item {n} (it has {count}); please choose again.",
    "need_text": (
        "Please write your opinion in words ({min}–{max} characters); photos or files may be "
        "attached."
    ),
    "use_buttons": "Please tap one of the buttons above, or send /cancel.",
    "use_buttons_item": "Tap a button or send an item number (1–{count}). Send /cancel to stop.",
    "stale": "This button has expired.",
    "stale_alert": (
        "This button belongs to a feedback form that has ended. Send /feedback to start again."
    ),
    "private_only": "To protect your privacy, please send /feedback in a private chat with me.",
    "already_sending": "Sending, please wait.",
    "save_failed": (
        "Sorry, saving failed and nothing was sent. Please tap “Send” again in a moment, "
        "or phone {phone}."
    ),
    "my_title": "<b>Your opinions</b> (latest {count})",
    "my_line": "{reference} · {date} · {kind}{item} · {state}\n<i>{snippet}</i>",
    "my_empty": "You have not sent any opinion through the bot yet. Send /feedback to start.",
    "state_received": "received, waiting to be forwarded",
    "state_forwarded": "forwarded by email",
    "state_retrying": "forwarding, retrying",
    "state_failed": "email failed; stored, the office will handle it",
    "state_stored": "stored, waiting for the office to collect it",
    "staff_only": "Sorry, this command is for staff only.",
    "export_caption": "All {count} opinions (CSV, UTF-8, opens in Excel).",
}

TEXTS = {"zh": ZH, "en": EN}


def ft(lang: str, key: str, **values: object) -> str:
    """The feedback string `key` in `lang` (Chinese if missing), formatted with `values`."""
    template = TEXTS.get(lang, ZH).get(key) or ZH[key]
    return template.format(**values) if values else template
