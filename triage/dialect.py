"""Cantonese as it is typed in Guangdong service chats (唔凉, 冇反应, 换咗号码, 打佢老公)
read as Mandarin, so the cue words written for Mandarin (不凉, 没反应, 换了号, 他老公) match.

Only the rules read the converted text; what a customer said is kept as said. The conversion
maps one character to one character, so positions in the converted text are positions in the
original (phone numbers are cut out of the original at the places the rules found).
"""

import re

WORDS = {
    "而家": "现在", "呢个": "这个", "呢度": "这里", "嗰个": "那个", "嗰度": "那里", "听日": "明天",
    "琴日": "昨天", "寻日": "昨天", "返工": "上班", "放工": "下班", "屋企": "家里", "边度": "哪里",
    "点解": "为何", "唔该": "谢谢", "搞掂": "搞定", "佢哋": "他们", "冇得": "没有",
    "唔使": "不用", "唔洗": "不用", "仲有": "还有",
}  # fmt: skip
CHARS = {
    "唔": "不", "冇": "没", "咗": "了", "佢": "他", "嘅": "的", "喺": "在", "搵": "找", "揾": "找",
    "睇": "看", "嚟": "来", "哋": "们", "啲": "些", "俾": "给", "畀": "给", "嗰": "那", "係": "是",
    "咁": "这", "乜": "什", "冧": "塌", "攞": "拿", "噉": "这",
}  # fmt: skip
# 系 is Cantonese 是 (机器系RO-400) except in Mandarin words (联系, 系统, 关系, 体系).
IS = re.compile(r"(?<![联关体派维直])系(?![统列数])")
WORD = re.compile("|".join(WORDS))
CANTONESE = re.compile("[" + "".join(CHARS) + "系]|" + WORD.pattern)


def mandarin(text: str) -> str:
    """The text with Cantonese words as their Mandarin ones, character for character."""
    if not CANTONESE.search(text):
        return text
    text = WORD.sub(lambda m: WORDS[m.group(0)], text)
    text = text.translate(str.maketrans(CHARS))
    return IS.sub("是", text)
