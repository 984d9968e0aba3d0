"""Intents the bot handles before retrieval: asking for a person, and small talk.

Both are rule-based on purpose: they must be predictable, fast, and never fire on an
ordinary question that merely mentions people ("can the delivery person leave it at the
door?", "担当者名を領収書に入れたい"). Patterns are written for both languages and all
of them are tried whatever `lang` says, because customers mix scripts
("operatorにつないで") and a short message's detected language is only a hint.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Literal

SmallTalk = Literal["greeting", "thanks", "goodbye"]


def normalize(text: str) -> str:
    """NFKC (full-width and half-width forms folded) and lower case; curly quotes made plain."""
    text = unicodedata.normalize("NFKC", text).lower()
    return text.replace("’", "'").replace("‘", "'")


# ---------------------------------------------------------------------------------------
# Asking for a person: English
# ---------------------------------------------------------------------------------------

# Words that name a person to talk to; typos within one edit of the longer ones are fixed
# before matching ("huamn", "humna", "agnet"). "staff" is left out of the fuzzy fixing:
# "stuff" is one edit away and far more common.
_FUZZY_PERSON_WORDS: tuple[str, ...] = tuple(
    "human humans person agent agents operator representative employee someone somebody".split()
)

_QUALIFIER = (
    r"(?:real|live|actual|proper|living|human|customer|service|support|chat|sales|concerned|"
    r"relevant|right|appropriate)"
)
_PERSON = (
    r"(?:human(?: being)?s?|person|people|agents?|representatives?|reps?|operators?|"
    r"employees?|staff(?: members?)?|members? of (?:staff|the team|your team)|"
    r"some ?one|some ?body|(?:support|service|customer service|customer care) team|"
    r"customer service|customer support|customer care|managers?|supervisors?|"
    r"executives?|advis[eo]rs?)"
)
_DET = r"(?:(?:a|an|the|your|one of your|some|any|to|with)\s+)*"
_PERSON_NP = rf"{_DET}(?:{_QUALIFIER}\s+)*{_PERSON}\b"
_POLITE_TAIL = (
    r"(?:\s+(?:(?:who|that) can help(?: me| us)?|please|pls|plz|now|asap|right now|real|"
    r"instead|thanks|thank you|in here|here|involved|on (?:the )?(?:phone|line|chat)))*"
)

_EN_REQUESTS = [
    # talk / speak / chat to a person
    re.compile(rf"\b(?:talk|speak|chat|communicate)(?:ing)?\s+(?:to|with)\s+{_PERSON_NP}"),
    # connect / transfer / put through / hand over to a person
    re.compile(
        rf"\b(?:connect|transfer|put|pass|hand|switch|forward|route)(?:r?ed|r?ing)?"
        rf"\s+(?:me\s+|us\s+|this\s+(?:(?:chat|conversation|case|ticket)\s+)?|it\s+)?"
        rf"(?:over\s+|through\s+|across\s+|in touch\s+)?"
        rf"(?:to|with)\s+{_PERSON_NP}"
    ),
    # get / give me a person (the phrase ends the sentence, so "get a staff discount" is out)
    re.compile(
        rf"\b(?:get|give|want|need|bring|send)\s+(?:me\s+|us\s+)?{_PERSON_NP}"
        rf"{_POLITE_TAIL}\s*(?:$|[.!?,;:)-])"
    ),
    re.compile(
        r"\bescalat\w*\s+(?:\w+\s+){0,3}?to\s+(?:a\s+|an\s+|the\s+|your\s+)?(?:real\s+|live\s+)?"
        r"(?:human|person|agent|operator|someone|somebody|manager|supervisor|senior)\b"
    ),
    # I want to escalate this / can you escalate my complaint
    re.compile(r"\b(?:want|need|like|please|can you|could you|would you)\s+(?:to\s+)?escalate\b"),
    # a real / live / actual person, whatever follows ("i need a real person my parcel...")
    re.compile(
        r"\b(?:need|want|get|have|like)\s+(?:to\s+(?:talk|speak|chat)\s+(?:to|with)\s+)?"
        r"(?:a|an|some|one)\s+(?:real|live|actual|proper)\s+"
        r"(?:person|human|agent|employee|operator|rep|representative|staff)\b"
    ),
    # a call back / live support asked for
    re.compile(
        r"\b(?:want|need|request|like|get|arrange|book|schedule)\s+(?:a\s+)?"
        r"call ?-?backs?\b"
    ),
    re.compile(r"\b(?:get|want|need)\s+(?:some\s+)?live\s+(?:support|help|agent|person)\b"),
    # is anyone from your team available to chat (with me)?
    re.compile(
        r"\b(?:is|are)\s+(?:there\s+)?(?:any ?one|some ?one|any ?body|some ?body|"
        r"a (?:real |live )?(?:person|human))\b[^.?!]{0,40}\b(?:available|free|around|online)\b"
        r"[^.?!]{0,30}\b(?:chat|talk|speak)\b"
    ),
    # need a person to look at this / real person needed
    re.compile(
        rf"\b(?:need|want|would like)\s+(?:that\s+)?{_PERSON_NP}\s+(?:to\s+)?(?:look|check|"
        rf"help|call|contact|deal|handle|sort|review)\b"
    ),
    re.compile(rf"{_PERSON_NP}\s+(?:needed|required)\b"),
    # get someone on the phone / could somebody get in touch with me / call me back
    re.compile(
        r"\b(?:get|put)\s+(?:me\s+)?(?:some ?one|some ?body|a (?:real )?(?:person|human|rep))"
        r"\s+on the (?:phone|line)\b"
    ),
    re.compile(
        r"\b(?:some ?one|some ?body)\b[^.?!]{0,30}\b(?:get in touch with me|call me|contact me|"
        r"ring me|phone me|reach out to me|(?:e-?mail|message|text|write to) me back)\b"
    ),
    re.compile(r"\b(?:call|ring|phone) me back\b|\bgive me a (?:call|ring)\b"),
    # anyone there who isn't a bot
    re.compile(r"\b(?:who|that)\s+(?:is ?n'?t|is not|'s not)\s+a\s+(?:ro)?bot\b"),
    # a person who can take over / whom I can chat with
    re.compile(rf"{_PERSON_NP}\s+(?:to\s+)?take\s+over\b"),
    re.compile(rf"{_PERSON_NP}\s+(?:that\s+|who\s+)?i\s+can\s+(?:talk|speak|chat)\b"),
    # no more bot
    re.compile(
        r"\b(?:stop|enough of|no more|done with|bypass|skip)\s+(?:the |this |your )?"
        r"(?:ro)?bots?\b"
    ),
    re.compile(
        r"\b(?:don't|dont|do not)\s+want\s+(?:to\s+(?:talk|speak|chat)\s+(?:to|with)\s+)?"
        r"(?:a |the |this |your |some )?(?:ro)?bots?\b"
    ),
]

# The whole message is just the person asked for: "agent", "representative please".
_EN_BARE = re.compile(
    r"^(?:(?:hi|hello|hey|ok|okay|please|pls|so|um|erm)\W+)*"
    r"(?:(?:i\s+)?(?:want|need)\s+|(?:can|could|may)\s+i\s+(?:have|get)\s+)?"
    rf"{_PERSON_NP}{_POLITE_TAIL}\s*[.!?]*$"
)
# Questions about when people are available are information requests, not requests.
_EN_HOURS = re.compile(
    r"\b(?:what|which)\s+(?:time|times|hours|days)\b|\bwhen\s+(?:can|are|is|do)\b|"
    r"\b(?:business|opening|office|support|service|chat)\s+hours\b|"
    r"\bon\s+(?:weekends?|saturdays?|sundays?|holidays)\b"
)
_EN_WORD = re.compile(r"[a-z]+")


def _within_one_edit(a: str, b: str) -> bool:
    """True when `a` becomes `b` by one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        i, j = diffs[0], diffs[-1]
        return len(diffs) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


# Request verbs, fixed the same way from four letters on ("tlak to a human").
_FUZZY_VERBS: tuple[str, ...] = ("talk", "speak")


@lru_cache(maxsize=4096)  # bounded: the words are whatever customers type
def _fix_typo(word: str) -> str:
    if len(word) >= 4 and word not in _FUZZY_VERBS:
        for verb in _FUZZY_VERBS:
            if len(word) == len(verb) and _within_one_edit(word, verb):
                return verb
    if len(word) < 5 or word in _FUZZY_PERSON_WORDS:
        return word
    for target in _FUZZY_PERSON_WORDS:
        if _within_one_edit(word, target):
            return target
    return word


# "I don't need an agent, just tell me where my refund is"
_EN_NOT_WANTED = re.compile(
    rf"\b(?:don't|dont|do not|no)\s+(?:need|want)\s+(?:to\s+(?:talk|speak)\s+(?:to|with)\s+)?"
    rf"{_PERSON_NP}"
)


def _english_handoff(text: str) -> bool:
    fixed = _EN_WORD.sub(lambda m: _fix_typo(m.group()), text)
    fixed = re.sub(r"\s+", " ", fixed).strip()
    fixed = _EN_NOT_WANTED.sub(" ", fixed)
    if _EN_BARE.match(fixed):
        return True
    if _EN_HOURS.search(fixed):
        return False
    return any(pattern.search(fixed) for pattern in _EN_REQUESTS)


# ---------------------------------------------------------------------------------------
# Asking for a person: Japanese (and romaji)
# ---------------------------------------------------------------------------------------

_KANJI = r"\u3400-\u4dbf\u4e00-\u9fff"
_JA_PERSON = (
    r"(?:オペレーター?|おぺれーたー?|operator|"
    r"(?:担当|たんとう)(?:者|しゃ|の方|のかた|の人|のひと)?|"
    r"スタッフ|すたっふ|有人(?:チャット|対応|サポート)?|"
    r"人間|にんげん|"
    rf"(?<![{_KANJI}ァ-ヺ])人|(?<![{_KANJI}ぁ-ゖァ-ヺ])ひと|"  # not 受取人 / 個人 / 他人
    r"(?:中|係|窓口|サポート|カスタマーサポート|サポートセンター|お店|店|本物|生身|"
    r"誰か|だれか|係員|社員)の(?:人間|人|ひと|方|かた)|"
    r"サポート(?:担当|窓口|チーム)|係員|社員の方|責任者|せきにんしゃ|店長|店員|"
    r"スーパーバイザー|すーぱーばいざー|マネージャー|まねーじゃー|上司|上の(?:人|方)|"
    r"ゆうじん(?:ちゃっと|たいおう)?)"
    r"(?:さん|様|さま)?(?:の方|のかた)?"
)
_JA_END = (  # what may follow a request verb: "につないで[ください|もらえますか|!]"
    r"(?:ください|くださ|下さい|もらえ|もらい|いただけ|頂け|ほしい|欲しい|くれ|ちょうだい|"
    r"よ|ね|な|って|お願い|おねがい|プリーズ|ぷりーず|クレメンス|[!?。、.,…~〜ー]|$)"
)
# a request's ending, never a report's: いただきたい / もらえますか, not いただきました
_JA_ASK = (
    r"(?:ほしい|欲しい|もらいたい|もらえ|いただきた|いただけ|頂きた|頂け|ください|お願い|おねがい)"
)
# who is in charge (not any person: 配達の人に伝えたい is a message for the courier)
_JA_IN_CHARGE = (
    r"(?:責任者|せきにんしゃ|担当(?:者|の方)|スタッフ|店長|上司|上の(?:人|方)|マネージャー|"
    r"人間|有人|オペレーター?)(?:さん|様|さま)?(?:の方)?"
)
_JA_REQUESTS = [
    # につないで / に代わって / に引き継いで / に切り替えて / にして
    re.compile(
        rf"{_JA_PERSON}(?:に|へ|と)(?:つない|繋い|つなげ|繋げ|つなぎ|繋ぎ|代わっ|かわっ|変わっ|"
        rf"替わっ|換わっ|引き継い|ひきつい|切り替え|きりかえ|切りかえ|交代し|交替し)"
        rf"(?:で|て)?{_JA_END}"
    ),
    re.compile(r"有人(?:チャット|対応|サポート)?(?:に|へ)(?:し|切り替え|変え|替え)て"),
    # the message is just the person asked for: "オペレーター", "担当者さんお願いします"
    re.compile(
        rf"^{_JA_PERSON}(?:を|で)?(?:お願い\w*|おねがい\w*|がいい|が良い|希望|プリーズ|ぷりーず)?"
        r"[!?。.…]*$"
    ),
    # におつなぎください / と喋りたい / につないで (the person named earlier in the message)
    re.compile(rf"{_JA_PERSON}(?:に|へ)(?:お繋ぎ|おつなぎ)"),
    re.compile(rf"{_JA_PERSON}と(?:直接)?(?:喋|しゃべ)(?:り|れ|らせ)"),
    # a call back: 電話ください / 折り返しお電話いただけますか / でんわではなしたい
    re.compile(
        r"(?:お?電話|おでんわ|でんわ)(?:を|で|に)?(?:ください|下さい|くれ|して(?:ほしい|欲しい|"
        r"ください|もら|いただ|頂)|いただけ|頂け|もらえ|お願い|おねがい|で?話した|ではなした|"
        r"で?説明して)"
    ),
    re.compile(r"(?:折り?返し|おりかえし)(?:の)?(?:お?電話|おでんわ|でんわ|ご?連絡|ごれんらく)"),
    re.compile(rf"(?:じゃなく|ではなく)て?、?{_JA_PERSON}(?:が|の方が|のほうが)(?:いい|良い)"),
    # と話したい / と話せますか / とお話しさせて / と話をさせて
    re.compile(
        rf"{_JA_PERSON}と(?:直接|ちょくせつ)?(?:お?話|お?はな)(?:し|を|が)?"
        rf"(?:したい|させ|せ|したく|しをさせ|をさせ|がしたい|しがしたい|をしたい|させて|"
        rf"させていただ|さして)"
    ),
    # とチャットできますか / と直接やりとりしたい
    re.compile(
        rf"{_JA_PERSON}と(?:直接|ちょくせつ)?(?:チャット|やりとり|やり取り|会話)"
        rf"(?:を)?(?:でき|したい|させ|お願い|おねがい)"
    ),
    # に対応してほしい / に対応をお願い / に対応してもらえますか / に相談したい
    re.compile(
        rf"{_JA_PERSON}に(?:直接)?(?:ご?対応|ご?相談|みて|見て)(?:して|を|し|が)?"
        rf"(?:ほしい|欲しい|もらい|もらえ|もらう|いただ|頂|お願い|おねがい|ください|したい|"
        rf"させ|できます)"
    ),
    # を呼んで / 出して / お願い
    re.compile(
        rf"{_JA_PERSON}(?:を|に|が)?(?:呼んで|よんで|出して|だして|出せ|だせ|呼べ|よべ|"
        r"出てこい|出て来い|でてこい|出てきて|でてきて|いますか|います\?|いる\?|いない\?)"
    ),
    re.compile(
        rf"{_JA_PERSON}(?:を|で)?(?:お願い|おねがい|希望|きぼう)"
        rf"(?:します|いたします|したい|です|{_JA_END})"
    ),
    # a call back or a call: コールバック希望 / 電話かけてもらえますか / 電話で詳しく聞きたい
    re.compile(
        r"(?:コールバック|こーるばっく|callback|call back)(?:を|で)?"
        r"(?:お願い|おねがい|希望|して|ください)"
    ),
    re.compile(
        r"(?:お?電話|でんわ)(?:を)?(?:かけて|掛けて)(?:きて)?(?:もらえ|ください|ほしい|欲しい|いただ)"
    ),
    re.compile(
        r"(?:お?電話|でんわ)(?:で|にて)(?:詳しく|くわしく|直接)?(?:\w{0,3}に|\w{0,4}を)?"
        r"(?:(?:ご?説明|教えて|おしえて)(?:して)?(?:ほしい|欲しい|もらい|もらえ|いただきた|いただけ|"
        r"頂きた|頂け|ください|願)|(?:聞き|きき)た[いく]|相談(?:したい|させ)|"
        r"お?話し(?:したい|したく|させ)|おはなし(?:したい|させ))"
    ),
    # escalation / a person's help: エスカレーションして / 人に調べてもらいたい
    re.compile(r"エスカレーション|えすかれーしょん|エスカレして"),
    re.compile(
        rf"{_JA_PERSON}(?:に|が)(?:直接)?(?:調べて|しらべて|聞いて|きいて|確認して|かくにんして|"
        r"見て|みて|説明して)(?:ほしい|欲しい|もらい|もらえ|くれ|いただきた|いただけ|頂きた|頂け)"
    ),
    # the kind of service asked for: スタッフ対応希望 / 有人対応まだ？
    re.compile(
        r"(?:有人|ゆうじん|スタッフ|すたっふ|担当者|人間|にんげん)(?:の)?(?:対応|たいおう)(?:を|で)?"
        r"(?:希望|きぼう|お願い|おねがい|してほしい|して欲しい|まだ)"
    ),
    # an explanation, a reply or a call from a person: 責任者の方から説明してほしい /
    # 担当の方からご連絡いただけますと幸いです / メールで担当者から返事ちょうだい
    re.compile(
        rf"{_JA_PERSON}(?:の口)?(?:から|より)(?:の)?(?:直接|ちゃんと|きちんと)?、?\w{{0,8}}?"
        r"(?:ご?連絡|ごれんらく|お?電話|お?返事|ご?返信|ご?回答|ご?説明|説明)(?:を)?(?:して|し)?"
        rf"(?:{_JA_ASK}|下さい|ちょうだい|求め|賜り)"
    ),
    re.compile(
        rf"{_JA_IN_CHARGE}に(?:直接)?(?:報告(?:したい|させ)|伝えたい|お伝えしたい|お願いしたい)"
    ),
    re.compile(rf"{_JA_PERSON}(?:に|が)(?:判断|教えて)(?:して)?{_JA_ASK}"),
    re.compile(rf"{_JA_PERSON}で(?:ご?対応)(?:して|を)?{_JA_ASK}"),
    re.compile(r"(?:相談|質問|お話)を(?:スタッフ|担当|店員|人|係)\w{0,4}に(?:したい|させ)"),
    # who can answer: 詳しい方はいますか / 電話で教えてくれる人はいますか / 対応していただける方
    re.compile(
        r"(?:詳しい|くわしい|わかる|分かる|教えてくれる|説明できる|対応(?:して)?(?:いただける|くれる|できる))"
        r"\w{0,6}?(?:担当の方|方|人|かた|ひと)(?:は|が)?(?:いますか|いらっしゃ|いませんか|おりますか|"
        r"おらん|いない|いる[?？])"
    ),
    re.compile(
        r"(?:詳しい|くわしい|わかる|分かる)(?:方|人|かた|ひと)と(?:チャットで|電話で)?(?:直接)?"
        r"(?:やりとり|やり取り|お?話|相談)"
    ),
    # the person who served me before / the desk that people answer
    re.compile(r"(?:さん|様|さま)に(?:もう一度|もう一回|また)?(?:つない|繋い|つなげ)(?:で|て)"),
    re.compile(r"(?:そっち|そちら)に(?:回して|まわして)(?:ほしい|欲しい|ください|もらえ)"),
    re.compile(
        r"有人(?:チャット|対応|サポート)?(?:に|へ|を)?(?:切替|切り替え|きりかえ|使いたい|利用したい)"
    ),
    re.compile(r"有人(?:チャット|対応)\S{0,20}(?:つないで|繋いで)(?:ほしい|欲しい|ください)"),
    re.compile(rf"{_JA_PERSON}(?:カモン|かもん)"),
    re.compile(  # 折り返し is a hem too: a call must be in the message
        r"^(?=.*(?:電話|でんわ|連絡|れんらく)).*(?:折り?返し|おりかえし)(?:を)?"
        r"(?:お願い|おねがい|ください|いただけ|頂け|ほしい|欲しい)"
    ),
    re.compile(r"(?:お?電話|でんわ)しろ"),
    # how to reach one: オペレーターにつなぐ方法 / 人と話すにはどうしたら
    re.compile(
        rf"{_JA_PERSON}(?:に|と)(?:つなぐ|繋ぐ|つないでもらう|話す|はなす|つながる|繋がる)"
        r"(?:方法|ほうほう|には|やり方|まで)"
    ),
    # romaji: tantousha ni kawatte / operator ni tsunaide / hito to hanashitai
    re.compile(
        r"\b(?:tantou(?:sha)?|opere-?ta-?|operator|hito|sutaffu|staff|ningen|sekininsha)"
        r"\s*(?:san\s*)?(?:no\s*kata\s*)?"
        r"(?:ni|to)\s*(?:kawatte|tsunaide|hanashitai|hanasitai|hanasasete|hanasemasu|hanaseru)"
    ),
    re.compile(
        r"\b(?:sutaffu|staff|tantou(?:sha)?|operator|hito)\s*(?:no\s*kata\s*)?(?:imasu|iru|inai)\b"
    ),
]
# "オペレーターに電話がつながる時間帯", "有人チャットの対応時間", "何時まで?" ask about hours.
_JA_HOURS = re.compile(
    r"何時|なんじ|時間(?:帯|は|を|って|が知りたい)|営業時間|受付時間|対応時間|"
    r"いつまで|何曜|土日|平日|祝日"
)


# "平日の午後なら出られます", "14時以降ならいつでも": when the customer can take a call,
# not a question about the shop's hours.
_JA_AVAILABLE = re.compile(
    r"(?:平日|土日|祝日|週末|午前|午後|夕方|朝|夜|昼|\d+時)(?:の)?(?:\w{0,4}?)"
    r"(?:なら|でしたら|であれば|以降|以外)(?:は|で|に)?(?:、)?"
    r"(?:いつでも|出られ|でられ|大丈夫|だいじょうぶ|おります|います|可能|対応でき)"
)


# a call or a message asked for: the times around it are the customer's, not a question
_JA_CONTACT_ME = re.compile(
    r"(?:折り?返し|おりかえし)|(?:お?電話|ご?連絡)(?:を)?(?:ください|下さい|いただけますと|"
    r"いただきたく|頂きたく|お願い)"
)


def _japanese_handoff(text: str) -> bool:
    compact = re.sub(r"\s+", "", text)
    kana = _hiragana(compact)  # "ヒトニ カワッテ" typed in katakana
    # "ジャナクテ ヒトニ カワッテ": the space before ひと keeps it a word of its own
    spaced = re.sub(r"\s+(?!ひと)", "", _hiragana(text))
    forms = dict.fromkeys((compact, text, kana, spaced))  # mostly one or two distinct
    if not any(p.search(form) for p in _JA_REQUESTS for form in forms):
        return False
    return bool(_JA_CONTACT_ME.search(compact)) or not _asks_hours_ja(compact)


def _asks_hours_ja(compact: str) -> bool:
    """Japanese words about the shop's hours, the customer's own availability left out."""
    return bool(_JA_HOURS.search(_JA_AVAILABLE.sub("", compact)))


def _hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def asks_about_hours(text: str) -> bool:
    """A question about when people are available ("are agents there on weekends?",
    「土日でもスタッフと話せますか」): information, not a request for a person now."""
    norm = normalize(text)
    fixed = _EN_WORD.sub(lambda m: _fix_typo(m.group()), norm)
    return bool(_EN_HOURS.search(fixed) or _asks_hours_ja(re.sub(r"\s+", "", norm)))


def is_handoff_request(text: str, lang: str) -> bool:
    """Whether the customer explicitly asks to talk to a person.

    Args:
        text: The customer's message.
        lang: Its language ("en", "ja"); a hint only, both languages' patterns are tried.

    Returns:
        True for "talk to a person", "live agent pls", "オペレーターにつないで", "人と話したい";
        False for questions that only mention people ("customer service hours?",
        "配達員さんに置き配をお願いできますか").
    """
    del lang  # patterns are script-specific; see the module docstring
    return _asks_for_person(text)


@lru_cache(maxsize=1024)  # asked twice a reply: by the policy and by the learned heads' veto
def _asks_for_person(text: str) -> bool:
    norm = normalize(text)
    if not norm.strip():
        return False
    return _english_handoff(norm) or _japanese_handoff(norm)


# ---------------------------------------------------------------------------------------
# Small talk
# ---------------------------------------------------------------------------------------

_EN_SMALLTALK: dict[SmallTalk, re.Pattern[str]] = {
    "greeting": re.compile(
        r"\b(?:hi+|hello+|hey+|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|day)|"
        r"morning|evening|konnichiwa|konbanwa|ohayou?(?: gozaimasu)?)\b"
    ),
    "thanks": re.compile(
        r"\b(?:thanks?(?: you)?|thank u|thx|thnx|tysm|ty|cheers|much appreciated|"
        r"(?:i )?(?:really )?appreciate (?:it|that|this|(?:the|your) (?:quick |fast |kind )?"
        r"(?:help|reply|response|answer|support|info|information|assistance))|"
        r"arigat[oō]u?(?: gozaima(?:su|shita))?)\b"
    ),
    "goodbye": re.compile(
        r"\b(?:bye+|good ?bye|bye[- ]bye|see (?:you|ya)(?: later| soon)?|later|cya|take care|"
        r"have a (?:nice|good|great|lovely) (?:day|one|evening|weekend|night)|"
        r"that'?s all(?: for now| i needed)?|(?:that'?s|thats) it|sayonara|good night)\b"
    ),
}
# Words that may sit around small talk without asking anything.
_EN_FILLER = re.compile(
    r"\b(?:ok(?:ay)?|great|perfect|cool|nice|awesome|brilliant|lovely|wonderful|super|good|"
    r"so|very|much|a lot|lots|again|really|for (?:the|your|all the|all your) "
    r"(?:help|reply|quick reply|answer|info|information|support|time|assistance)|"
    r"for helping(?: me)?|for that|today|there|everyone|all|guys|team|bot|mate|oh|ah|well|"
    r"that (?:solved|fixed|answers|answered|helped|helps|sorted)(?: it| that| my question| me)?|"
    r"it (?:worked|works)|got it|all good|you(?:'re| are) (?:the best|great|a star)|"
    r"you too|and|then)\b|:\)|:d\b"
)
_JA_SMALLTALK: dict[SmallTalk, re.Pattern[str]] = {
    "greeting": re.compile(
        r"こんにち[はわ]|こんばん[はわ]|おはよう(?:ございます)?|はじめまして|初めまして|"
        r"もしもし|やあ|ハロー|はろー|お世話になっております|お世話になります"
    ),
    "thanks": re.compile(
        r"(?:どうも)?(?:ありがと|有難|有り難)(?:う|ー)?(?:ございます|ございました)?|"
        r"助かりました|助かります|たすかりました|感謝(?:します|いたします|しています)?|"
        r"お礼申し上げます|サンキュー|さんきゅー"
    ),
    "goodbye": re.compile(
        r"さようなら|さよなら|またね|ではまた|それでは|では|失礼(?:します|いたします)|"
        r"バイバイ|ばいばい|お疲れ様(?:でした|です)|よい一日を|良い一日を"
    ),
}
_JA_FILLER = re.compile(
    r"(?:どうも|本当に|ほんとうに|ほんとに|大変|とても|すごく|わかりました|分かりました|"
    r"了解(?:です|しました)?|"
    r"承知(?:しました|いたしました)|なるほど|解決しました|大丈夫です|またよろしくお願いします|"
    r"よろしくお願い(?:します|いたします)|です|ました|でした|ね|よ|〜|ー|[!?。、.,…~♪ｗw]|"
    r"[\U0001F300-\U0001FAFF\u2600-\u27BF])"
)


def smalltalk(text: str, lang: str) -> SmallTalk | None:
    """What kind of small talk a message is, when it is nothing but small talk.

    Args:
        text: The customer's message.
        lang: Its language; a hint only, both languages' phrases are recognised.

    Returns:
        "greeting" ("hi", "こんにちは"), "thanks" ("thanks!", "助かりました") or "goodbye"
        ("bye", "さようなら"); None when the message also says or asks something else
        ("hi, how do I return an item?").
    """
    del lang
    norm = normalize(text).strip()
    if not norm:
        return None
    found: set[SmallTalk] = set()
    rest = norm
    for kind in ("goodbye", "thanks", "greeting"):
        for pattern in (_EN_SMALLTALK[kind], _JA_SMALLTALK[kind]):
            rest, count = pattern.subn(" ", rest)
            if count:
                found.add(kind)
    if not found:
        return None
    rest = _EN_FILLER.sub(" ", rest)
    rest = _JA_FILLER.sub(" ", rest)
    if re.sub(r"[\s\W_]+", "", rest):
        return None  # something is left over: a question or a statement
    for kind in ("goodbye", "thanks", "greeting"):  # "thanks, bye" is a goodbye
        if kind in found:
            return kind
    return None
