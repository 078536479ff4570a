"""Chinese for the English codes the services speak: error codes, history entries.

The API keeps its English codes and messages; the console shows these instead. A message a
service already wrote in Chinese (console-side checks) is shown as it is; an English one is
shown by its code, even when it names a Chinese value (see written_in_chinese).
"""

import re
from typing import Any

from console.accounts import MIN_PASSWORD

ERRORS: dict[str, str] = {
    "not_found": "找不到该记录，可能编号有误或已被删除。",
    "conflict": "该工单刚被其他人修改过，请查看最新内容后重新提交。",
    "already_reviewed": "该工单已被审核过，不能重复审核；如需修改请直接改字段。",
    "ticket_final": "该工单已结束（已关闭或已取消），不能再修改。",
    "invalid_transition": "工单当前状态不允许这个操作。",
    "reason_required": "此操作必须填写原因。",
    "unknown_kb_id": "没有这个已发布的知识库条目编号。",
    "invalid_fields": "字段取值不合法。",
    "invalid_sort": "不支持的排序方式。",
    "unknown_status": "未知的工单状态。",
    "invalid_request": "请求参数不正确。",
    "no_recording": "该工单没有通话录音。",
    "file_too_large": "文件太大。",
    "unsupported_format": "不支持的文件格式。",
    "not_an_image": "上传的文件不是图片。",
    "required_fields": "还有必填字段未填写。",
    "already_merged": "该工单已合并到其他工单。",
    "merge_self": "不能把工单合并到它自己。",
    "invalid_outcome": "未知的关闭结果。",
    "field_not_required": "该字段当前不是必填项。",
    "empty_note": "备注内容不能为空。",
    "already_assigned": "该工单已在这位技术员手上，无需改派；如需换人请选择其他技术员。",
    "technician_inactive": "该技术员已停用，请选择其他技术员。",
    "invalid_date": "日期格式不正确，请按 2026-12-05 的格式填写。",
    "invalid_cursor": "翻页链接已失效，请回到第一页重新查询。",
    "invalid_query": "搜索内容含有不可见的非法字符，请重新输入。",
    "empty_text": "请先输入来电描述。",
    "text_too_long": "来电描述太长：一次只输入一位来电者的描述（上限 HOTLINE_MAX_TEXT_CHARS）。",
    "duplicate_username": "这个用户名已被占用，请换一个。",
    "invalid_username": "用户名不符合规则：2–64 个字母、数字、“.”“_”“-”，以字母或数字开头。",
    "weak_password": f"密码太短：至少 {MIN_PASSWORD} 个字符。",
    "invalid_display_name": "姓名最多 120 个字，且不能含控制字符。",
    "not_a_technician": "只有技术员角色的账号才能关联技术员。",
    "technician_linked": "这位技术员已关联了另一个账号；请先解除那个账号的关联。",
    "last_admin": "这是最后一个启用中的管理员账号，不能停用或改为其他角色。",
    "department_exists": "已有同名的协作部门。",
    "department_in_use": "该部门已有协作请求记录，不能删除（记录会引用它）。",
}
HTTP_TITLES = {
    404: "页面不存在",
    405: "不支持的请求方式",
    409: "操作冲突",
}
KINDS = {
    "ticket": "工单",
    "technician": "技术员",
    "entry": "知识库条目",
    "import": "导入批次",
    "user": "账号",
    "token": "API 令牌",
    "department": "协作部门",
}
_NOT_FOUND = re.compile(r"^No (\w+) with id '?(.*?)'?\.$")
# Chinese punctuation: a sentence written in Chinese has some, an English one never.
_CHINESE_PUNCTUATION = re.compile(r"[，。：；！？、（）“”《》【】]")
# A value an English message quotes (`f"... {name!r} ..."`): not the message's own words.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def written_in_chinese(message: str) -> bool:
    """Whether a message's own words are Chinese (it starts with a Chinese character or uses
    Chinese punctuation): a Chinese value it quotes or names (a department, a region) does not
    make an English message Chinese."""
    own = _QUOTED.sub("", message).strip()
    starts_chinese = bool(own) and "\u4e00" <= own[0] <= "\u9fff"
    return starts_chinese or bool(_CHINESE_PUNCTUATION.search(own))


def error_message(code: str, message: str) -> str:
    """What an agent reads for an error: a message the service wrote in Chinese (console
    checks, the technician's and customer's pages) as it is; otherwise the Chinese for its code,
    or a general sentence for a code without one."""
    if written_in_chinese(message):
        return message
    m = _NOT_FOUND.match(message)
    if code == "not_found" and m:
        kind = KINDS.get(m.group(1), m.group(1))
        where = "，或到“工单”页搜索" if m.group(1) == "ticket" else ""
        return f"找不到{kind} {m.group(2)}，请检查编号是否正确{where}。"
    return ERRORS.get(code, "操作未能完成，请刷新页面后重试。")


def error_title(status: int) -> str:
    """A short Chinese title for an HTTP status."""
    return HTTP_TITLES.get(status, "操作未完成")


FIELD_LABELS = {
    "product_type": "产品类型",
    "model": "型号",
    "firmware": "固件版本",
    "fault_code": "故障码",
    "phone": "电话",
    "address": "地址",
    "customer_name": "客户姓名",
    "hardware_id": "设备编号",
    "region": "区域",
    "latitude": "纬度",
    "longitude": "经度",
    "kb_id": "知识库条目",
    "confidence": "置信度",
    "no_match": "无匹配",
    "channel": "渠道",
    "outcome": "结果",
    "merged_into": "合并到",
    "merged_from": "合并自",
    "unavailable": "客户无法提供",
    "attachment": "附件",
    "phones": "全部电话",
}
CHANNEL_LABELS = {
    "phone": "电话",
    "app": "App",
    "web": "网页",
    "wechat": "微信",
    "excel": "Excel 导入",
    "cli": "命令行",
    "agent": "坐席录入",
    "api": "API",
}
# The console's own form and link fields by their labels on the page, for a refused value
# (the triage fields' and KB fields' labels are passed in by the caller).
FORM_LABELS = {
    "note": "备注",
    "reason": "原因",
    "q": "搜索关键词",
    "into": "合并到工单号",
    "kb_other": "其他条目",
    "username": "用户名",
    "display_name": "姓名",
    "password": "密码",
    "name": "名称",
    "contact": "联系人",
    "supervisor": "主管",
    "director": "区域总监",
    "actor": "查看人",
    "text": "来电描述",
}


def control_character_message(field: str, codepoint: str, labels: dict[str, str]) -> str:
    """A value refused for an invisible control character, as the person who typed it reads
    it: the field by its label on the page (never its form name, e.g. "f_model"), and what to
    do about a character they cannot see."""
    name = field.removeprefix("f_")
    label = labels.get(name) or FORM_LABELS.get(field) or FIELD_LABELS.get(name)
    where = f"“{label}”中" if label else "填写的内容中"
    return (
        f"{where}含有不可见的控制字符（{codepoint}，常见于从别处复制来的文字）。"
        "请返回上一页，删掉这一项里的内容重新输入后再提交。"
    )


OUTCOMES = {
    "not_a_fault": "非故障（咨询/无关来电）",
    "duplicate": "重复工单",
    "solved_by_phone": "电话指导解决",
    "solved_remotely": "远程处理解决",
}
REASONS = {"confirmed": "确认无误", "corrected": "已更正"}


def _value(v: Any) -> str:
    if v is None or v == "":
        return "（空）"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return f"{v:.2f}"
    if isinstance(v, dict):
        return "；".join(f"{FIELD_LABELS.get(k, k)}：{_value(x)}" for k, x in v.items())
    if isinstance(v, list):
        return "、".join(_value(x) for x in v)
    return str(v)


def describe_changes(changes: dict[str, Any], labels: dict[str, str] | None = None) -> str:
    """A history entry's changes as a Chinese sentence instead of raw JSON: `[old, new]` pairs
    as "旧 → 新", nested field dicts flattened, labels from the triage rules first."""
    names = {**FIELD_LABELS, **(labels or {})}
    parts = []
    for key, value in changes.items():
        if key == "fields" and isinstance(value, dict):
            inner = describe_changes(value, labels)
            if inner:
                parts.append(inner)
            continue
        if key == "outcome":
            value = OUTCOMES.get(str(value), value)
        elif key == "channel" and isinstance(value, str):
            value = CHANNEL_LABELS.get(value, value)
        label = names.get(key, key)
        if isinstance(value, list) and len(value) == 2 and not isinstance(value[0], dict):
            parts.append(f"{label}：{_value(value[0])} → {_value(value[1])}")
        else:
            parts.append(f"{label}：{_value(value)}")
    return "；".join(parts)


def reason_text(reason: str | None) -> str:
    """A history reason in Chinese where it is one of the services' fixed words."""
    if not reason:
        return ""
    return REASONS.get(reason, reason)


ACTOR_KINDS = {
    "agent": "坐席",
    "supervisor": "主管",
    "admin": "管理员",
    "technician": "技术员",
    "knowledge_engineer": "知识工程师",
    "integration": "系统对接",
    "system": "系统",
}
SYSTEM_ACTORS = {"triage": "系统（自动分诊）", "dispatch": "系统（派单）", "sla": "系统（SLA）"}


def actor_label(actor: str) -> str:
    """ "agent:zhang" → "坐席 zhang"; system actors by what they are."""
    kind, _, name = actor.partition(":")
    if kind == "system":
        return SYSTEM_ACTORS.get(name, f"系统（{name}）" if name else "系统")
    return f"{ACTOR_KINDS[kind]} {name}" if kind in ACTOR_KINDS and name else actor


_FILTERS = {
    "radius": "超出半径",
    "unavailable": "暂停接单",
    "off_shift": "不在班",
    "skills": "缺少技能或证书",
    "region": "不在服务区域",
    "daily_cap": "今日已满",
    "declined": "已拒单",
}
_PENDING: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(r"^qualified technicians were all given other tickets this round"),
        "合格的技术员本轮都已分到其他工单，下一轮再派",
    ),
    (re.compile(r"^no technician within ([\d.]+) km"), lambda m: f"{m[1]} 公里内没有技术员"),
    (
        re.compile(r"^nobody qualifies within ([\d.]+) km: (.*)$"),
        lambda m: (
            f"{m[1]} 公里内没有符合条件的技术员："
            + "、".join(
                f"{_FILTERS.get(p.split(' ', 1)[1], p.split(' ', 1)[1])} {p.split(' ', 1)[0]} 人"
                for p in m[2].split(", ")
                if " " in p
            )
        ),
    ),
    (re.compile(r"^ticket is (\w+)"), lambda m: f"工单状态为“{STATUS.get(m[1], m[1])}”，暂不派单"),
    (
        re.compile(r"^no site coordinates: the address '?(.*?)'? is not placed"),
        lambda m: f"没有现场坐标：地址“{m[1]}”未能定位，请在工单上填写经纬度",
    ),
    (re.compile(r"^no site coordinates"), "没有现场坐标：请填写经纬度或登记设备"),
    (re.compile(r"^no diagnosis yet"), "尚未诊断：等待坐席审核"),
    (re.compile(r"^the diagnosis says remote fix first"), "诊断建议先远程处理，未派上门"),
    (re.compile(r"^queued$"), "排队等待派单"),
    (re.compile(r"^dispatch error"), "派单出错，稍后自动重试"),
    (re.compile(r"^address not geocoded: (.*)$"), lambda m: f"地址未能定位：{m[1]}"),
    (re.compile(r"^declined: (.*)$"), lambda m: f"技术员拒单：{m[1]}"),
]
STATUS = {
    "new": "新建",
    "pending_qc": "待质检",
    "triaged": "待审核",
    "reviewed": "已审核",
    "dispatched": "已派单",
    "in_progress": "处理中",
    "resolved": "已解决",
    "closed": "已关闭",
    "cancelled": "已取消",
}


def pending_reason(reason: str | None) -> str:
    """Why dispatch has not sent anyone yet, in Chinese (unknown reasons pass through)."""
    if not reason:
        return ""
    for pattern, out in _PENDING:
        m = pattern.match(reason)
        if m:
            return out(m) if callable(out) else out
    return reason


# Why core.webhook_targets refuses an address, by the kind it names.
_ADDRESS_KINDS = {
    "loopback": "本机回环",
    "link-local": "链路本地（如云主机元数据）",
    "private": "内网",
    "non-public": "非公网",
}
_TARGET_REFUSED = re.compile(r"webhook target (\S+) refused: (\S+) is a ([\w-]+) address")


def webhook_refusal(message: str, labels: dict[str, str]) -> str:
    """core.webhook_targets' refusal of a URL being saved ('field: why'), in Chinese."""
    field, _, why = message.partition(": ")
    label = labels.get(field, field)
    if m := _TARGET_REFUSED.search(why):
        kind = _ADDRESS_KINDS.get(m[3], "非公网")
        return (
            f"{label}：{m[1]} 指向{kind}地址 {m[2]}。为防止服务被用来访问公司内网，不向这类地址"
            "发送 Webhook；确需发送时，请运维在 HOTLINE_WEBHOOK_ALLOW_PRIVATE 中放行该网段。"
        )
    if "invalid port" in why:
        return f"{label}：网址的端口不正确。"
    if "http(s) URL" in why:
        return f"{label}：须是 http:// 或 https:// 开头、带主机名的网址。"
    return f"{label}：这个地址不能用作 Webhook。"


def form_problems(errors: list[Any], labels: dict[str, str]) -> list[str]:
    """A form's validation errors (pydantic's, from the API's own model) in Chinese."""
    problems = []
    for e in errors:
        label = labels.get(str(e["loc"][0]), str(e["loc"][0])) if e["loc"] else "表单"
        kind = e["type"]
        if kind in ("missing", "string_too_short"):
            problems.append(f"请填写{label}。")
        elif kind == "string_too_long":
            problems.append(f"{label}最多 {e['ctx']['max_length']} 个字。")
        elif kind == "string_pattern_mismatch":
            problems.append(f"{label}须以 http:// 或 https:// 开头。")
        else:
            problems.append(f"{label}格式不正确。")
    return problems
