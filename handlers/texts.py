"""Every fixed string the bot says, in Chinese and English.

Templates use `str.format` placeholders; the caller passes values that are already escaped for
HTML (see `handlers.common.esc`). `t(lang, key, **values)` falls back to Chinese for a language
it does not know, so a new language can be added one key at a time.
"""

from __future__ import annotations

Lang = str  # "zh" | "en"

ZH: dict[str, str] = {
    # welcome and help
    "welcome": (
        "您好！我是<b>巡察整改通报</b>问答助手。\n"
        "我知道 {issuer} {date} 公布的《{title}》：{count} 项问题，分 {areas} 个方面，"
        "每项的整改情况和进度。\n\n"
        "您可以直接用自己的话提问，例如：<i>污水处理厂扩建了吗？</i>\n"
        "也可以按领域浏览、查看总体进度、向公布的渠道反映意见、订阅进展。"
    ),
    "help": (
        "<b>怎么用</b>\n"
        "• 直接发问题，例如 <i>电力设施建设进度</i>、<i>食堂管理</i>、<i>第12项</i>\n"
        "• /browse 按领域浏览全部 {count} 项\n"
        "• /progress 整改进度统计\n"
        "• /item 12 查看第 12 项\n"
        "• /contact 通报公布的联系方式\n"
        "• /feedback 提意见建议\n"
        "• /subscribe 订阅整改进展\n"
        "• /lang 切换语言 (中文 / English)\n\n"
        "在群里请 @我 或用命令；在任何聊天里输入 @{bot} 关键词 可以分享某一项。"
    ),
    # buttons
    "btn_browse": "📂 按领域浏览",
    "btn_progress": "📊 整改进度",
    "btn_contact": "☎️ 联系方式",
    "btn_feedback": "✍️ 提意见建议",
    "btn_subscribe": "🔔 订阅进展",
    "btn_sub_item": "🔔 订阅此项进展",
    "btn_fb_item": "✍️ 就此项提意见",
    "btn_related": "相关：第{n}项",
    "btn_none_of_these": "都不是，联系有关部门",
    "btn_all_areas": "« 全部领域",
    "btn_back_area": "« 返回列表",
    "btn_prev": "‹ 上一页",
    "btn_next": "下一页 ›",
    "btn_open_in_bot": "在机器人中打开",
    "btn_area": "({numeral}) {short} · {count}项",
    # item card
    "item_heading": "第{n}项 · {title}",
    "item_area": "领域：({numeral}){area}",
    "item_status": "状态：{badge}",
    "item_words": "<b>整改情况（通报原文）</b>",
    "item_source": "来源：{issuer} {date} 通报",
    "item_not_found": "通报里没有第 {n} 项。通报共 {count} 项（1–{count}），试试 /browse 浏览。",
    "item_usage": "请在命令后写上编号，例如：/item 12（共 {count} 项）。",
    # decisions
    "ambiguous": "您问的可能是以下几项，请选择：",
    "none": (
        "抱歉，这份通报没有涉及您问的内容，我不想猜测。\n\n"
        "如需向有关部门反映，可以使用通报公布的渠道：\n{channels}\n\n"
        "{hint}"
    ),
    "not_said": (
        "通报谈到了<b>第{n}项 · {title}</b>，但没有说到您问的这一点（例如具体日期、金额、"
        "名称或办理方式），我不想猜测。\n\n"
        "可以看看该项的原文，或通过通报公布的渠道询问：\n{channels}"
    ),
    "btn_see_item": "查看第{n}项",
    "hints": (
        "试试问：<i>污水处理</i>、<i>电力设施</i>、<i>招标</i>，"
        "或发送 /browse 浏览全部 {count} 项。"
    ),
    "quote": "您的问题：<i>{question}</i>",
    # contact
    "contact": (
        "<b>通报公布的联系方式</b>\n"
        "{invitation}\n\n"
        "{channels}\n\n"
        "也可以通过本机器人发送意见：/feedback（会转交上述邮箱）。"
    ),
    "channels": "☎️ 电话：{phone}\n📮 邮政地址：{address}\n📧 电子邮箱：{email}",
    # meta
    "meta_inspection": (
        "根据{authority}统一部署，{group}于 {start} 至 {end} 对{target}开展了{kind}，"
        "并于 {feedback} 反馈了巡察意见。"
    ),
    "meta_count": (
        "通报列出了巡察反馈的 <b>{count}</b> 项问题，分 {areas} 个方面：\n{per_area}\n\n"
        "其中 {counts}。"
    ),
    "meta_counts": "已完成 {completed} 项、推进中 {in_progress} 项、长期坚持 {long_term} 项",
    "meta_per_area": "({numeral}) {title}：{count} 项",
    "meta_publisher": "这份通报由 <b>{issuer}</b> 于 {date} 公布。",
    "meta_next_steps": "<b>下一步整改工作安排</b>\n{plans}",
    "meta_plan": "({numeral}) {title}",
    "meta_overview": "《{title}》\n{issuer}，{date}\n\n{inspection}\n\n{count}",
    # progress
    "progress_title": "<b>整改进度</b>（{date} 通报）",
    "progress_overall": "全部 {count} 项",
    "progress_legend": "▓ 已完成　░ 推进中或长期坚持",
    "progress_line": "已完成 {completed} · 推进中 {in_progress} · 长期坚持 {long_term}",
    # browse
    "browse_areas": "<b>按领域浏览</b>\n通报共 {count} 项问题，分 {areas} 个方面。请选择：",
    "browse_area": "<b>({numeral}) {title}</b>\n{counts}\n第 {page}/{pages} 页，点编号查看：",
    # language
    "lang_choose": "请选择语言 / Choose a language:",
    "lang_set": "已切换为中文。",
    # throttle, errors, stale
    "slow_down": "您发得太快了，请稍等几秒再发。",
    "expired": "这个按钮已过期，请重新发送 /start。",
    "error_apology": "抱歉，处理您的消息时出错了，我们已记录下来。请稍后再试。",
    "nontext": (
        "我目前只能读文字消息。请用文字描述您的问题，例如 <i>污水处理</i>；"
        "如需提交图片或文件作为意见的附件，请先发送 /feedback。"
    ),
    # staff
    "staff_only": "抱歉，这个命令只供工作人员使用。",
    "unanswered_title": "<b>最近 {days} 天未能回答的问题</b>（按次数）",
    "unanswered_line": "{i}. {count}次 · {kind} · {language} · {text}",
    "unanswered_empty": "最近 {days} 天没有未能回答的问题。",
    "coming_soon": "这项功能即将上线。",
    "unknown_command": "我不认识这个命令。发送 /help 查看可用的命令，或直接用文字提问。",
    # inline mode
    "inline_description": "{badge} · {area}",
    "edited": "（您修改了问题，以下是新的回答）",
}

EN: dict[str, str] = {
    "welcome": (
        "Hello! I answer questions about a published <b>inspection rectification notice</b>.\n"
        "I know the notice “{title}” published by {issuer} on {date}: {count} problems in "
        "{areas} areas, and what was done about each.\n\n"
        "Ask in your own words, for example: <i>Was the wastewater plant expanded?</i>\n"
        "You can also browse by area, see overall progress, send an opinion to the published "
        "channels and subscribe to progress."
    ),
    "help": (
        "<b>How to use me</b>\n"
        "• Just send a question, e.g. <i>power lines</i>, <i>canteen</i>, <i>item 12</i>\n"
        "• /browse all {count} items by area\n"
        "• /progress counts by status\n"
        "• /item 12 shows item 12\n"
        "• /contact the channels published in the notice\n"
        "• /feedback send an opinion\n"
        "• /subscribe follow the progress\n"
        "• /lang switch language (中文 / English)\n\n"
        "In groups, mention me or use a command; in any chat type @{bot} and a keyword "
        "to share an item."
    ),
    "btn_browse": "📂 Browse by area",
    "btn_progress": "📊 Progress",
    "btn_contact": "☎️ Contact",
    "btn_feedback": "✍️ Send an opinion",
    "btn_subscribe": "🔔 Subscribe",
    "btn_sub_item": "🔔 Follow this item",
    "btn_fb_item": "✍️ Opinion on this",
    "btn_related": "Related: item {n}",
    "btn_none_of_these": "None of these: contact the office",
    "btn_all_areas": "« All areas",
    "btn_back_area": "« Back to list",
    "btn_prev": "‹ Previous",
    "btn_next": "Next ›",
    "btn_open_in_bot": "Open in the bot",
    "btn_area": "{short} · {count} items",
    "item_heading": "Item {n} · {title}",
    "item_area": "Area: {area}",
    "item_status": "Status: {badge}",
    "item_words": "<b>The notice's own words (Chinese)</b>",
    "item_summary": "<b>What was done</b>",
    "item_problem_zh": "Problem as written: {title}",
    "item_source": "Source: notice of {date} by {issuer}",
    "item_not_found": (
        "The notice has no item {n}. It has {count} items (1–{count}); try /browse."
    ),
    "item_usage": "Put the number after the command, e.g. /item 12 ({count} items).",
    "ambiguous": "Did you mean one of these?",
    "none": (
        "Sorry, the notice does not cover that, and I would rather not guess.\n\n"
        "To raise it with the office, use the channels published in the notice:\n{channels}\n\n"
        "{hint}"
    ),
    "not_said": (
        "The notice speaks of <b>item {n} · {title}</b>, but not of what you asked (such as "
        "a date, an amount, a name or a procedure), and I would rather not guess.\n\n"
        "See the item's own words, or ask through the channels published in the notice:\n"
        "{channels}"
    ),
    "btn_see_item": "See item {n}",
    "hints": (
        "Try asking about <i>wastewater</i>, <i>power lines</i>, <i>tendering</i>, "
        "or send /browse to see all {count} items."
    ),
    "quote": "Your question: <i>{question}</i>",
    "contact": (
        "<b>Channels published in the notice</b>\n"
        "{invitation}\n\n"
        "{channels}\n\n"
        "You can also send an opinion through this bot: /feedback (it is forwarded to the email "
        "address above)."
    ),
    "channels": "☎️ Phone: {phone}\n📮 Post: {address}\n📧 Email: {email}",
    "meta_inspection": (
        "On the {authority}'s instructions, {group} carried out a {kind} of {target} from "
        "{start} to {end}, and reported its findings on {feedback}."
    ),
    "meta_count": (
        "The notice lists <b>{count}</b> problems found by the inspection, in {areas} areas:\n"
        "{per_area}\n\nOf these, {counts}."
    ),
    "meta_counts": "{completed} are completed, {in_progress} in progress, {long_term} long-term",
    "meta_per_area": "{title}: {count}",
    "meta_publisher": "The notice was published by <b>{issuer}</b> on {date}.",
    "meta_next_steps": "<b>Next steps announced in the notice</b>\n{plans}",
    "meta_plan": "{number}. {title}",
    "meta_overview": "“{title}”\n{issuer}, {date}\n\n{inspection}\n\n{count}",
    "progress_title": "<b>Progress</b> (notice of {date})",
    "progress_overall": "All {count} items",
    "progress_legend": "▓ completed  ░ in progress or long-term",
    "progress_line": "completed {completed} · in progress {in_progress} · long-term {long_term}",
    "browse_areas": (
        "<b>Browse by area</b>\nThe notice lists {count} problems in {areas} areas. Choose one:"
    ),
    "browse_area": "<b>{title}</b>\n{counts}\nPage {page}/{pages}; tap a number:",
    "lang_choose": "请选择语言 / Choose a language:",
    "lang_set": "Language set to English.",
    "slow_down": "You are sending messages too fast; please wait a few seconds.",
    "expired": "This button has expired; please send /start again.",
    "error_apology": "Sorry, something went wrong while handling your message. It has been logged.",
    "nontext": (
        "I can only read text for now. Please describe your question in words, e.g. "
        "<i>wastewater</i>; to attach photos or files to an opinion, send /feedback first."
    ),
    "staff_only": "Sorry, this command is for staff only.",
    "unanswered_title": "<b>Unanswered questions, last {days} days</b> (most frequent first)",
    "unanswered_line": "{i}. {count}× · {kind} · {language} · {text}",
    "unanswered_empty": "No unanswered questions in the last {days} days.",
    "coming_soon": "This is coming soon.",
    "unknown_command": "I don't know that command. Send /help for the list, or just ask in words.",
    "inline_description": "{badge} · {area}",
    "edited": "(You edited your question; here is the new answer.)",
}

TEXTS: dict[Lang, dict[str, str]] = {"zh": ZH, "en": EN}
LANGUAGES: tuple[Lang, ...] = ("zh", "en")


def t(lang: Lang, key: str, **values: object) -> str:
    """The string `key` in `lang` (Chinese if missing), formatted with `values`."""
    template = TEXTS.get(lang, ZH).get(key) or ZH[key]
    return template.format(**values) if values else template
