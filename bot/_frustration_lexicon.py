"""The words and patterns that `bot.frustration` reads as signs of frustration, with weights.

Data only: each signal family is a list of `(compiled pattern, weight)` rules; the scoring
(how rules and signals combine) lives in `bot.frustration`. English lists are matched
against the NFKC, lower-cased text; Japanese lists against it with white space removed.
"""

from __future__ import annotations

import re

# Rule strengths: STRONG reaches the threshold alone, MODERATE needs company, MILD is a hint.
STRONG = 0.6
MODERATE = 0.4
MILD = 0.25

Rules = list[tuple[re.Pattern[str], float]]


def _rule(weight: float, *alternatives: str) -> tuple[re.Pattern[str], float]:
    """One signal phrase family: any of `alternatives` matches, contributing `weight`."""
    return re.compile("|".join(alternatives)), weight


_N = r"(?:\d+|two|three|four|five|six|seven|several|many|multiple)"
_JA_N = r"(?:[2-9]|[二三四五六七八九十])"

# --- English --------------------------------------------------------------------------

EN_ABUSIVE: Rules = [
    _rule(
        STRONG,
        r"\bf+[u*@#]+c*k+\w*",
        r"\bfk+\b",
        r"\bfuk\w*",
        r"\bwtf\b",
        r"\bstfu\b",
        r"\bffs\b",
        r"\bsh[i*]t(?:s|ty|ting)?\b",
        r"\bbullshit\b",
        r"\bdamn\w*",
        r"\bgoddamn\w*",
        r"\bcrap\w*",
        r"\bbloody\b",
        r"\b(?:the|what the|in) (?:hell|heck)\b",
        r"\bfreaking\b",
        r"\bfrigging\b",
        r"\beffing\b",
    ),
    _rule(STRONG, r"\bidiot\w*", r"\bstupid\b", r"\bmorons?\b", r"\bclowns?\b", r"\bdumb\b"),
    _rule(
        STRONG,
        r"\bscam\w*",
        r"\bfraud\w*",
        r"\brip[- ]?off\b",
        r"\bthie(?:f|ves)\b",
        r"\bliars?\b",
        r"\brobbed\b",
        r"\b(?:you|they|u) (?:lied|lie|are lying|keep lying)\b",
    ),
]
EN_NEGATIVE: Rules = [
    _rule(
        STRONG,
        r"\b(?:ridiculous|useless|pathetic|incompeten|unacceptabl|disgrac|disgust|outrag|absurd|"
        r"shameful|hopeless|appall|atrocious|unprofessional|shocking|pointless|terribl|horribl|"
        r"awful|dreadful|unbelievabl|insane)\w*",
    ),
    _rule(STRONG, r"\bworst\b(?! (?:case|part|bit|thing))(?<!\bat worst)"),
    _rule(
        STRONG,
        r"\b(?:is|are|was|'s|what|such|total|complete|absolute)\s+(?:an? )?(?:total |complete |"
        r"absolute |utter )?(?:joke|garbage|trash|rubbish|crap|nightmare|shambles|disaster)\b",
    ),
    _rule(
        STRONG,
        r"\b(?:are|you)\s+(?:you\s+)?(?:kidding|joking|serious)\b",
        r"\b(?:got|have) to be (?:kidding|joking)\b",
        r"\bseriously\s*[?!]",
    ),
    _rule(
        STRONG,
        r"\bwast(?:e|ed|ing)\b.{0,12}\b(?:my|our) (?:time|money)\b",
        r"\bwaste of (?:time|money)\b",
        r"\bfed up\b",
        r"\bsick (?:and tired )?of\b",
        r"\bhad enough\b",
        r"\benough is enough\b",
        r"\bi'?m done\b",
        r"\bgiv(?:e|ing) up\b",
        r"\b(?:losing|lost|out of|no more|testing) (?:my )?patience\b",
        r"\bpatience (?:is )?(?:wearing|running)",
        r"\bregret (?:ever )?(?:buying|ordering|shopping)",
    ),
    _rule(
        STRONG,
        r"\bfor nothing\b",
        r"\bthanks? (?:you )?(?:so much |a lot )?for (?:ruining|wasting|nothing)",
        r"\b(?:no ?one|nobody) (?:cares|gives|listens|helps|bothers)\b",
        r"\bjust wow\b",
        r"\b(?:do|does) (?:you|anyone|anybody) (?:even )?care\b",
        r"\b(?:don'?t|doesn'?t) (?:even )?care\b",
    ),
    _rule(
        STRONG,
        r"\bwhat kind of (?:a )?(?:company|shop|store|service|business|support)\b",
        r"\bget your act together\b",
        r"\bdo your (?:job|jobs)\b",
        r"\bignor(?:ed|ing) (?:me|my|us)\b",
        r"\b(?:no|not) help(?:ful|ing)? at all\b",
        r"\byou(?:'re| are) not helping\b",
        r"\bwhat(?:'s| is) wrong with (?:you|this company|your (?:company|shop|staff|people))\b",
    ),
    _rule(
        STRONG,
        r"\b(?:so|very|really|extremely|incredibly|beyond|absolutely|totally|"
        r"utterly)\s+(?:disappointed|annoyed|annoying|frustrated|frustrating|upset|angry|mad|"
        r"pissed)\b",
        r"\bthis is (?:so |really |very )?frustrating\b",
        r"\bpissed\b",
    ),
    _rule(
        0.45,
        r"\b(?:angry|furious|livid|outraged|infuriat\w*)\b",
        r"\byour (?:mistake|fault|error)\b",
        r"\b(?:messed|screwed) up\b",
        r"\byou(?:'ve| have)? (?:lost|ruined|broke) (?:my|the)\b",
    ),
    _rule(
        STRONG,
        r"\b(?:real|proper|legit) (?:company|business|shop)\?",
        r"\bfor real\?",
        r"\bdeserve my (?:business|money)\b",
        r"\bnothing but (?:excuses|problems|trouble|lies|issues|errors|grief)\b",
        r"\bdon'?t (?:tell|ask) me to\b",
        r"\b(?:didn'?t|don'?t|never) (?:even )?read (?:my|what)\b",
        r"\b(?:knows?|know) what (?:they'?re|you'?re|they are|you are) doing\b",
        r"\bso done\b",
        r"\b(?:very|really|extremely|so) unhappy\b",
        r"\bcomplete waste\b",
        r"\bnot good enough\b",
        r"\bfuming\b",
        r"\blaughable\b",
        r"\blast straw\b",
        r"\b(?:tired|weary) of\b",
        r"\bwhat(?:'s| is) the point\b",
        r"\bcan'?t you (?:read|understand|see)\b",
        r"\bwhy (?:won'?t|doesn'?t|can'?t) (?:anyone|anybody)\b",
        r"\bruin(?:ed|ing) my\b",
        r"\b(?:expect|want|demand|owe me|deserve)\b.{0,30}\bapolog",
        r"\byou promised\b",
        r"\bi was (?:told|promised)\b.*\b(?:wasn'?t|isn'?t|didn'?t|never|still)\b",
        r"\bseriously (?:disappointed|annoyed|upset)\b",
        r"\bi hate\b(?! to (?:bother|ask|trouble|say|be))",
        r"\bhow is (?:this|that|it) (?:acceptable|ok|okay|fair|possible)\b",
        r"\b(?:total|complete|absolute|such a) mess\b",
        r"\b(?:this is|it'?s|that'?s) (?:just |getting )?too much\b",
        r"\btoo much to ask\b",
        r"\b(?:take|taking) (?:this|it|the matter) further\b",
    ),
    _rule(  # rhetorical or not, depending on the rest of the message
        MODERATE,
        r"\bwhat(?:'s| is| the hell is) going on\b",
        r"\bhow (?:hard|difficult) (?:is|can) it\b",
        r"\bevery (?:single )?time\b.*\b(?:you|wrong|again)\b",
        r"\bwhy (?:won'?t|doesn'?t|can'?t) you\b",
    ),
    _rule(
        MODERATE,
        r"\bcan'?t believe\b",
        r"\bhow bad\b",
        r"\bso bad\b",
        r"\byou people\b",
        r"\bexcuses\b",
        r"\bsmh\b",
    ),
    _rule(
        MILD,
        r"\b(?:disappointed|annoyed|annoying|frustrated|frustrating|upset|not happy|unhappy|"
        r"come on|ugh+|omg)\b",
        r"\bnot (?:going to |gonna )?pay(?:ing)? for\b",
    ),
]
EN_COMPLAINT: Rules = [
    _rule(
        0.45,
        rf"\b(?:asked|told|emailed|e-mailed|written|wrote|contacted|called|messaged|explained|"
        rf"complained)\b.{{0,25}}\b(?:twice|{_N} times)\b",
    ),
    _rule(
        MODERATE,
        rf"\b(?:second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th|{_N}) (?:time|email|e-mail|"
        rf"message|call|request|attempt)s?\b(?=.*\b(?:ask|email|write|wrote|contact|messag|call|"
        rf"tell|told|repl|answer|chat))",
    ),
    _rule(
        STRONG,
        r"\b(?:third|fourth|fifth|3rd|4th|5th) (?:time|email|message|request)\b",
        r"\bhow many (?:more )?times\b",
        r"\bhow much longer\b",
    ),
    _rule(
        MODERATE,
        r"\bstill (?:no|not|nothing|waiting|haven'?t|hasn'?t|didn'?t|don'?t|doesn'?t)\b",
        r"\byet again\b",
        r"\bagain\?",
        r"\band (?:still )?nothing\b",
    ),
    _rule(
        MODERATE,
        r"\bwaiting (?:for )?(?:an hour|hours|days|weeks|ages|forever)\b",
        r"\bfor (?:ages|weeks)\b",
        rf"\b(?:it'?s|it has|its) been (?:{_N}|a|an|over a) (?:days?|weeks?|months?)\b",
        rf"\b{_N} (?:weeks|months) (?:now|already|later)\b",
    ),
    _rule(STRONG, rf"\b{_N} (?:days|weeks|months) and (?:still )?(?:nothing|no\b)"),
    _rule(
        STRONG,
        r"\b(?:no ?one|nobody|no-one)\s+(?:is\s+|ever\s+)?(?:answer|repl|respond|get|got|help|"
        r"doing)\w*",
        r"\bzero (?:replies|response|responses|help)\b",
        r"\bno (?:reply|response|answer) (?:at all|whatsoever|yet)\b",
        r"\bis any ?(?:one|body) (?:even )?(?:there|working|reading|listening|home)\b",
        r"\bis (?:this|this thing|it|anything) (?:even )?working\b",
        r"\bare you (?:even |actually )?(?:reading|listening)\b",
    ),
    _rule(MODERATE, r"\b(?:anyone|anybody|hello+)\s*(?:there)?\s*\?{2,}"),
    _rule(
        STRONG,
        r"\bsame (?:copy[- ]?paste |canned |useless )?(?:answer|reply|response|message|thing|"
        r"excuse)s?\b.*\b(?:again|stop|keep|explain|read)",
        r"\b(?:stop|keep) (?:sending|giving|telling|saying) (?:me |the same)",
        r"\bactually (?:read|listen|help|answer)\b",
        r"\banswer (?:the|my) question\b",
    ),
    _rule(
        MODERATE,
        r"\bjust (?:answer|reply|respond|help|fix|refund|tell)\b",
        r"\banswer me\b",
        r"\b(?:i )?demand\b",
    ),
    _rule(
        STRONG,
        r"\bwhy (?:do|should|must) i (?:have to |always )?(?:chase|keep|explain|repeat|beg)\b",
        r"\bwhy is (?:it|this|that|everything) so (?:hard|difficult|complicated)\b",
        r"\bis it (?:so|that|really that) hard\b",
    ),
    _rule(
        MODERATE,
        r"\bwant (?:my|the|a) (?:money|refund)\b.*\b(?:now|today|immediately)\b",
        r"\bwant (?:my|the) money back\b",
    ),
    _rule(STRONG, r"^(?:just )?(?:give me|refund me|send me) (?:my )?(?:money|refund)"),
    _rule(MODERATE, r"^(?:just )?(?:fix|sort|solve) (?:this|it)\b"),
]
EN_THREAT: Rules = [
    _rule(
        STRONG,
        r"\bnever (?:ever )?(?:buy|order|shop|use|come|coming|buying|ordering|shopping|using|"
        r"recommend)\w*\b.*\b(?:again|here|from you|with you)\b",
        r"\blast time i (?:order|buy|shop|use)",
        r"\bnever (?:want to )?hear from you\b",
    ),
    _rule(
        STRONG,
        r"\b(?:1|one)[- ]star\b",
        r"\b(?:bad|negative|terrible) review\b",
        r"\breview everywhere\b",
        r"\b(?:post|write|tell) (?:this |it )?(?:on|about it on) (?:twitter|instagram|social)",
        r"\bcancell?ing everything\b",
        r"\b(?:i'?m|i am|i'?ll|i will) cancel\w* (?:everything|all of it|my account and)\b",
        r"\bcancel(?:l?ing)? my (?:membership|account|subscription) (?:because|over|after)\b",
        r"\btell(?:ing)? (?:all (?:of )?)?(?:my friends|my family|everyone|everybody)\b",
        r"\bavoid (?:you|this (?:shop|store|company))\b",
    ),
    _rule(
        STRONG,
        r"\breport(?:ing)? you\b",
        r"\bconsumer (?:affairs|protection|agency|centre|center)\b",
        r"\b(?:lawyer|legal action|chargeback|sue you|small claims|trading standards|ombudsman|"
        r"better business bureau|bbb)\b",
        r"\bdispute (?:the|this) (?:charge|payment)\b",
        r"\b(?:call|calling|contact|contacting) my (?:bank|card company)\b",
    ),
    _rule(
        MODERATE,
        r"\bunless\b.*\b(?:today|now|immediately)\b",
        r"\bif (?:this|it) (?:isn'?t|is not|doesn'?t)\b.*\b(?:fixed|sorted|resolved|"
        r"arrive)\b.*\b(?:today|tomorrow|now)\b",
        r"\bi swear\b",
    ),
]
EN_SARCASM: Rules = [
    _rule(STRONG, r"\b(?:thanks|thank you) for (?:the|your|nothing)\b.*,? not\b", r"\bnot!$"),
    _rule(
        STRONG,
        r"^(?:oh )?(?:great|wonderful|perfect|brilliant|fantastic|lovely|"
        r"nice one)\b[.,!]*\s+(?:another|the|just|again|so|now)\b",
        r"\bjust (?:perfect|great|brilliant|wonderful)\b",
        r"\boh (?:wonderful|great|perfect|brilliant)\b",
        r"^incredible\.",
    ),
]

# --- Japanese -------------------------------------------------------------------------

JA_ABUSIVE: Rules = [
    _rule(
        STRONG,
        r"ふざけ(?:るな|んな|んじゃ|てる|てん|ないで)",
        r"(?:舐め|なめ)(?:てん|てる|てます|た(?:対応|態度|真似))",
        r"バカ(?:に|じゃ|か|野郎)",
        r"馬鹿(?:に|じゃ|か|野郎)",
        r"ばかに",
        r"クソ",
        r"くそ(?:が|すぎ|みたい|な)",
        r"糞",
        r"死ね",
        r"(?<!ピン)ボケ",
        r"カス(?:みたい|すぎ|が)",
        r"ゴミ(?:みたい|すぎ|対応|サービス|店|アプリ|だ)",
    ),
    _rule(
        STRONG,
        r"金(?:を)?返せ",
        r"かね(?:を)?かえせ",
        r"返金しろ",
        r"詐欺",
        r"さぎかよ",
        r"泥棒",
        r"(?<![もっ])(?:しろ|しやがれ)(?:よ|や)?(?:[!?。]|$)",
        r"(?:寄越せ|よこせ)",
        r"謝れ",
        r"(?:責任者|上司|上の者|社長)(?:を)?(?:出せ|呼べ)",
        r"(?:客|お客|消費者)を(?:なんだと|何だと|馬鹿|バカ)",
        r"なんだと思って",
        r"何だと思って",
    ),
]
JA_NEGATIVE: Rules = [
    # 最悪 as a judgement, not "最悪キャンセルでも大丈夫" / "最悪の場合" (worst case)
    _rule(STRONG, r"最悪(?!の(?:事態|場合|ケース))(?![^。!?]{0,12}(?:ても|でも|場合|なら))"),
    _rule(
        STRONG,
        r"いい加減",
        r"いいかげん",
        r"ありえ(?:な|ん|ねー)",
        r"あり得(?:な|ん)",
        r"有り得な",
        r"信じられな",
        r"話が通じな",
        r"何なの",
        r"なんなの",
        r"何なん",
        r"なんなん",
        r"(?:ひど|酷)(?:い|すぎ)(?!(?:雨|風|天気|雪|渋滞|寒|暑|風邪|頭痛|熱|咳))",
        r"最低",
        r"許せな",
        r"許さな",
        r"むかつ",
        r"ムカつ",
        r"腹(?:が)?(?:立|たつ|たっ)",
        r"頭に(?:く|き|来)",
        r"うざ",
        r"ウザ",
        r"不愉快",
        r"呆れ",
        r"あきれ(?:た|ます|る)",
        r"激怒",
        r"怒って(?:い|ま)",
        r"怒り(?:ました|ます|です)",
        r"怒った",
        r"キレ(?:そう|た|る)",
        r"うんざり",
        r"我慢(?:でき|なら)",
        r"(?:嘘|うそ|ウソ)(?:ばっか|ばかり|つき|をつ)",
        r"信じませ",
        r"(?:ひど|酷)くない",
        r"迷惑(?:です|だ|なんですけど|してい)",
        r"客なん(?:です|だ)けど",
        r"誠意が感じられ",
        r"ふざけた",
        r"ばかばかしい",
        r"馬鹿馬鹿しい",
        r"期待外れ",
        r"期待はずれ",
        r"(?:なんで|なぜ|どうして)こんなに[^。]{0,10}(?:かか|遅|待)",
        r"勘弁",
        r"時間の無駄",
        r"おかし(?:い|くない)(?:でしょ|だろ)",
        r"一体(?:どう|何|なに|なん)",
        r"(?:謝罪|お詫び)の(?:一言|言葉)も",
        r"がっかりです",
        r"限界",
        r"信用でき(?:な|ませ)",
        r"信頼でき(?:な|ませ)",
        r"約束(?:が|と)違",
    ),
    _rule(
        STRONG,
        r"(?:対応|サービス|態度|サポート|説明|梱包|仕事)(?:が|は|も)?(?:悪|雑|ひど|酷|最悪|最低|"
        r"遅)(?:い|すぎ)",
        r"話にならな",
        r"役に立たな",
        r"役にたたな",
        r"使い物にならな",
        r"使えね",
        r"つかえね",
        r"意味がな(?:い|さすぎ)",
        r"(?:本当に|ほんとうに|ほんっとうに|ほんっとに|ほんと|マジで|まじで|全く|まったく|全然|"
        r"ぜんぜん)(?:使えな|ダメ|だめ|役に立)",
    ),
    _rule(
        STRONG,
        r"何のための",
        r"なんのための",
        r"何やってる",
        r"なにやってる",
        r"ちゃんと(?:仕事|対応して|読んで|答えて|使って|やって|調べて|説明して|確認して)",
        r"まとも(?:に|な)(?:対応|答え|回答|返事|読ん|仕事)",
        r"無視(?:され|しない|するな|すんな)",
        r"謝罪(?:も|が)?(?:なし|ない|な[?!]|しろ)",
        r"責任(?:を)?取(?:れ|って)",
        r"(?:なぜ|なんで|どうして)(?:毎回|いつも)",
        r"頼むから",
    ),
    _rule(
        MODERATE,
        r"意味(?:わからん|わかんね|分からん|不明)",
        r"なんで(?:なん|だよ)",
        r"^おい",
        r"不親切",
        r"失礼(?:な|です|すぎ)",
        r"もう結構です",
        r"毎回毎回",
        r"いつもいつも",
    ),
    _rule(0.5, r"(?:大変|本当に|ほんとうに|非常に|とても|すごく|かなり)(?:困って|不満)"),
    _rule(MODERATE, r"(?:大変|本当に|ほんとうに|非常に|とても|すごく|かなり)残念"),
    _rule(MODERATE, r"^(?:は[?!]|はぁ|はあ|はー|ちっ)", r"は[?!]+(?=.*(?:どういう|なんで|何で))"),
    _rule(MILD, r"がっかり", r"残念です", r"困ってい", r"困ります", r"不満"),
]
JA_POLITE_COMPLAINT: Rules = [  # keigo on the surface, anger underneath
    _rule(
        STRONG,
        r"不信感",
        r"遺憾",
        r"失望",
        r"心外",
        r"憤り",
        r"納得(?:が|の)?(?:いき|でき|いか)(?:ません|ない|かね)",
        r"誠意(?:の|が)?(?:ある|ない|見せ|を持)",
        r"不誠実",
        r"ずさん",
        r"杜撰",
    ),
    _rule(STRONG, r"(?:いまだに|未だに|今だに)[^。]{0,20}(?:ない|ません|ておりません)"),
    _rule(
        STRONG,
        rf"これで{_JA_N}(?:回|度)目",
        rf"{_JA_N}(?:度|回)目の(?:ご|お)?(?:連絡|問い合わせ|問合せ|メール|質問|お願い)",
    ),
    _rule(
        MODERATE,
        r"これ以上[^。]{0,20}(?:なら|ようでしたら|でしたら|ようなら)",
        r"どのようにお考え",
    ),
]
JA_COMPLAINT: Rules = [
    _rule(
        STRONG,
        r"いつまで(?:待た|またせ|待て|まて|待つ|かか|放置|この|こんな)",
        r"放置(?:です|され|する|かよ|して)",
        r"(?:そちら|御社|貴社|お宅)の(?:ミス|せい|責任)",
        r"何度目",
        r"何回目",
        r"(?:なんで|なぜ|どうして)[^。]{0,8}(?:返事|返信|連絡|対応)(?:が|を)?(?:くれ|こない|"
        r"来ない|ない|し(?:て)?(?:くれ|もらえ))",
        r"いつになったら",
        r"何日待った",
        r"何週間待",
        r"何ヶ月待",
        r"どれだけ待た",
        r"待たせすぎ",
    ),
    _rule(
        STRONG,
        r"何度も(?:言|いっ|聞|きい|連絡|問い合わせ|お問い合わせ|お願い|説明|同じ|申し上げ)",
        r"何回(?:目|も|同じ|言わ|言っ|言え|説明)",
        r"何[回度][^。]{0,10}(?:たら|れば|ても)[^。]{0,8}(?:返事|返信|連絡|対応|いい|わかる|"
        r"分かる|解決)",
        rf"{_JA_N}(?:回|度)も(?:問い合わせ|問合せ|連絡|言|聞|電話|メール|説明|お願い)",
        r"同じこと(?:を)?(?:何度|何回|言わせ|ばかり)",
        r"同じ(?:説明|回答|返事|返信|答え|内容)(?:ばかり|ばっかり|の繰り返し|しか)",
    ),
    _rule(
        STRONG,
        r"音沙汰(?:なし|が?な|も?な)",
        r"(?:返事|返信|回答|連絡|ご連絡|ご回答|ご返信)(?:が|も)?(?:ない|来ない|こない|ありません|"
        r"いただけて(?:い|お)りません)",
        r"何の(?:ご)?(?:連絡|返事|回答)も",
    ),
    _rule(
        STRONG,
        r"(?:全然|ぜんぜん|zenzen|まったく|全く)[^。、]{0,6}(?:進ん|進ま|届か|解決|返事|連絡|対応|"
        r"改善|直ら|直って|返金され)",
    ),
    _rule(STRONG, r"(?:遅|おそ)(?:すぎ|っ|ー|い[!?])", r"おっそ", r"おせー", r"おせぇ"),
    _rule(
        MODERATE,
        r"まだ(?:届か|届いて(?:い)?な|返金され|連絡(?:が)?な|返事(?:が)?な|解決して(?:い)?な)",
        r"と思って(?:る|い|ん)(?:ん|の)?(?:です|ます)?か",
        r"と思ってんの",
        r"どういうこと",
        r"もういい(?:です|よ|わ|って|。|$)",
        r"ずっと待って",
        r"もう[0-9一二三四五六七八九十]+(?:日|週間|ヶ月|か月|カ月)(?:も|です|だ|経|た|待)",
        r"[0-9一二三四五六七八九十]+(?:日|週間|ヶ月|か月|カ月)も待",
        r"急いで(?:る|いる)(?:んだけど|のに|んですけど)",
        r"前回も(?:全く|まったく)?同じ",
        r"また(?:エラー|不具合|ですか|かよ|だよ|これ)",
        r"(?:エラー|落ち)まくり",
        r"落ちまく",
    ),
    _rule(0.45, r"どうなって(?:る|い|ん)"),
    _rule(STRONG, r"(?:お宅|御社|貴社|この会社|この店)(?:は|って)?どうなって"),
    _rule(
        MILD,
        r"待たされ",
        r"(?:返金|返事|返信|連絡|発送)(?:は)?まだ(?:です|なん|なの)?(?:か|の)",
        r"んですけど[!?]*$",
        r"んだけど[!?]*$",
        r"クレーム(?:を)?(?:入れ|言い|つけ)",
    ),
]
JA_THREAT: Rules = [
    _rule(
        STRONG,
        r"二度と(?!(?:この|こういう|同じ|ない))",
        r"もう(?:買わ|使わ|頼ま|利用しませ|使いませ|頼みませ|注文しませ|買いませ)",
        r"別の(?:店|ところ|サイト)で買",
        r"他(?:の店|所)で買い?ます",
    ),
    _rule(
        STRONG,
        r"消費者センター",
        r"消費生活センター",
        r"国民生活センター",
        r"消費者庁",
        r"弁護士",
        r"訴え",
        r"訴訟",
        r"法的",
        r"然るべき",
        r"しかるべき",
        r"カード会社に(?:連絡|相談)",
        r"支払いを止め",
        r"チャージバック",
    ),
    _rule(
        STRONG,
        r"レビュー(?:に|で)(?:書|晒|拡散)",
        r"口コミ(?:に|で)(?:書|晒)",
        r"(?:sns|ツイッター|twitter|x)(?:で|に)(?:拡散|晒|書)",
        r"拡散(?:する|します|しま)",
    ),
]
JA_SARCASM: Rules = [
    _rule(
        STRONG,
        r"さすが[^。]{0,40}(?:なんて|とは)",
        r"(?:なんて|とは)(?:さすが|素晴らし|すばらし|ご立派|大したもの|最高)",
        r"素晴らしい(?:サービス|対応)ですね",
        r"ご丁寧な自動",
    ),
]
# Hurrying: each one mild, several together ("【至急】【至急】早く…") add up.
URGENCY: Rules = [
    _rule(MILD, r"至急"),
    _rule(MILD, r"至急[^。]{0,3}至急"),
    _rule(MODERATE, r"早くして(?:くれ|よ|って)"),
    _rule(MILD, r"早く(?:返金|返事|対応|して|送|連絡|直)", r"今すぐ", r"すぐに(?:返金|対応|連絡)"),
    _rule(MILD, r"\b(?:asap|immediately|right now|right away)\b", r"\brefund (?:me )?now\b"),
]

# --- Shouting and repeated punctuation ------------------------------------------------

# Loud but pleased: "THANK YOU SO MUCH" is not shouting at anyone.
# The customer says the bot's reply did not help: what makes asking again a sign of
# frustration (see `bot.frustration._repeated_question`).
EN_NOT_HELPED = re.compile(
    r"\b(?:did ?n[o']?t|does ?n[o']?t|did not|does not|do not|don'?t|not) (?:help|answer|work)|"
    r"\bnot (?:what i (?:asked|meant|wanted)|my question|helpful|it)\b|"
    r"\b(?:that'?s|thats|this is) (?:not|wrong)\b|\bwrong (?:answer|article)\b|"
    r"\b(?:already|just) (?:asked|told you|said)\b|\bi (?:said|asked)\b|\bagain\b|"
    r"\bstill (?:don'?t|doesn'?t|not|no)\b|\bread my (?:question|message)\b"
)
JA_NOT_HELPED = re.compile(
    r"(?:答え|回答)になって(?:い)?(?:な|ませ)|そうじゃな|そうではな|そういうことじゃ|"
    r"違います|ちがいます|違うって|ちがうって|聞いてな|聞いていな|質問に答え|"
    r"解決しな|解決してな|役に立た|わからない|分からない|意味がわから|だから|もう一度|"
    r"何度も|さっきも|また同じ"
)
HAPPY = re.compile(
    r"\b(?:thank|thanks|thx|love|great|awesome|amazing|perfect|happy|congrat\w*|yay)\b"
)
PUNCTUATION = re.compile(r"[!?]{2,}")
LATIN_WORD = re.compile(r"[A-Za-z]+")
FULLWIDTH_UPPER_RUN = re.compile(r"[Ａ-Ｚ]{2,}")
# All-capital words that are names, not shouting.
ACRONYMS = frozenset(
    "ok id usa uk eu us jp nyc faq url pdf sms usb gps dhl ems ups usps fedex tv pc atm cod "
    "jcb amex visa line qr ios os api app xl xxl xs cm kg mm ceo vip sns ai tel am pm "
    "mr mrs ms dr nhk jr yen jpy usd eur".split()
)
