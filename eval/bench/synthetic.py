"""Synthetic shop-support articles for the scale benchmark, in English and Japanese.

Product pages of an imaginary shop (care, sizes, warranty, stock, pickup...), built from the
word lists below with a random generator seeded by the article's number: article `i` is
the same in every run and whatever the total, so the 1k knowledge base is the start of the
10k one. Each article has four sections, so four passages. They are distractors around the
real articles, which `scale_kb` puts in so that retrieval quality is still measured on the
real questions.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from retrieval.chunking import chunk_article
from retrieval.kb import Article

ID_PREFIX = "bench-"
SECTIONS = 3  # plus the introduction: four passages an article

_EN_PRODUCTS = (
    "linen shirt, cotton tote bag, rice cooker, electric kettle, ceramic mug, bamboo cutting "
    "board, wool scarf, running shoes, desk lamp, travel pillow, steel water bottle, cast iron "
    "pan, canvas sneakers, down jacket, glass teapot, yoga mat, wireless earbuds, phone case, "
    "bath towel set, knitted beanie, denim jacket, leather wallet, folding umbrella, picnic "
    "blanket, bento box, kitchen knife, storage basket, hand cream, scented candle, notebook set"
).split(", ")
_EN_COLOURS = (
    "navy, charcoal, ivory, sage green, terracotta, black, sand beige, sky blue, burgundy, white"
).split(", ")
_EN_BRANDS = (
    "Hinoki Home, Sora Living, Kumo Outdoor, Nagi Kitchen, Tsuki Apparel, Mori Craft, "
    "Haru Basics, Yuki Travel"
).split(", ")
_EN_MATERIALS = (
    "organic cotton, recycled polyester, stainless steel, stoneware, merino wool, beech wood, "
    "borosilicate glass, vegetable-tanned leather"
).split(", ")
_EN_STORES = "Shibuya, Umeda, Sakae, Tenjin, Sapporo, Sendai, Yokohama, Kobe".split(", ")
_EN_TOPICS: dict[str, tuple[str, ...]] = {
    "Size and fit": (
        "The {product} runs true to size; if you are between two sizes, choose the larger one.",
        "Measurements for each size are in the size chart on the product page, in centimetres.",
        "The {colour} version is cut {n} cm longer than last season's model.",
    ),
    "Care instructions": (
        "Wash the {product} by hand in lukewarm water below {deg} degrees and dry it flat.",
        "Do not use bleach or a tumble dryer; the {material} keeps its shape better that way.",
        "Small marks can be removed with a soft cloth and a drop of mild detergent.",
    ),
    "Materials": (
        "The {product} is made of {material}, sourced from suppliers we visit every year.",
        "{brand} checks every batch for colour fastness before it reaches our warehouse.",
        "The {colour} dye is free of azo compounds and meets Japanese safety standards.",
    ),
    "Warranty": (
        "{brand} covers manufacturing defects of the {product} for {n} years from delivery.",
        "Keep your order number: it is your proof of purchase for a warranty claim.",
        "Wear and tear, accidents and changes made by the owner are not covered.",
    ),
    "What is in the box": (
        "The {product} comes with a printed manual and a {material} storage pouch.",
        "Spare parts for the {colour} model can be ordered separately for {n} years.",
        "The packaging is made of recycled card and can go out with paper recycling.",
    ),
    "Stock and restocks": (
        "The {colour} {product} sells out quickly; we restock it about every {n} weeks.",
        "Tap Notify me on the product page to get an e-mail the day it is back in stock.",
        "Pre-orders ship in the order they were placed, within {days} days of the restock.",
    ),
    "Picking it up in a store": (
        "You can pick up the {product} at our {store} store {n} days after ordering.",
        "Bring the pickup code from your confirmation e-mail; staff keep parcels for 7 days.",
        "Items picked up in a store can be returned there too, with the receipt.",
    ),
    "Gift options": (
        "The {product} can be wrapped in {colour} paper with a message card for {yen} yen.",
        "Prices are left off the delivery note when you choose gift wrapping.",
        "Several gifts in one order can be sent to different addresses.",
    ),
}
_EN_INTROS = (
    "This page answers common questions about the {brand} {product} in {colour}.",
    "Everything you need to know before buying the {product} from {brand}.",
    "Questions customers often ask about the {colour} {product} by {brand}.",
)

_JA_PRODUCTS = (
    "リネンシャツ、コットントートバッグ、炊飯器、電気ケトル、陶器のマグカップ、竹のまな板、"
    "ウールのマフラー、ランニングシューズ、デスクライト、トラベルピロー、ステンレスボトル、"
    "鉄のフライパン、キャンバススニーカー、ダウンジャケット、ガラスのティーポット、ヨガマット、"
    "ワイヤレスイヤホン、スマホケース、バスタオルセット、ニット帽、デニムジャケット、革の財布、"
    "折りたたみ傘、レジャーシート、お弁当箱、三徳包丁、収納かご、ハンドクリーム、"
    "アロマキャンドル、ノートセット"
).split("、")
_JA_COLOURS = (
    "ネイビー、チャコール、アイボリー、セージグリーン、テラコッタ、ブラック、サンドベージュ、"
    "スカイブルー、ボルドー、ホワイト"
).split("、")
_JA_BRANDS = (
    "ヒノキホーム、ソラリビング、クモアウトドア、ナギキッチン、ツキアパレル、モリクラフト、"
    "ハルベーシック、ユキトラベル"
).split("、")
_JA_MATERIALS = (
    "オーガニックコットン、再生ポリエステル、ステンレス、炻器、メリノウール、ブナ材、"
    "耐熱ガラス、ヌメ革"
).split("、")
_JA_STORES = "渋谷、梅田、栄、天神、札幌、仙台、横浜、神戸".split("、")
_JA_TOPICS: dict[str, tuple[str, ...]] = {
    "サイズと着用感": (
        "{product}は標準的なサイズ感です。サイズで迷われた場合は大きいほうをおすすめします。",
        "各サイズの寸法は商品ページのサイズ表（センチ表記）でご確認いただけます。",
        "{colour}のモデルは昨シーズンより着丈が{n}センチ長くなっています。",
    ),
    "お手入れ方法": (
        "{product}は{deg}度以下のぬるま湯で手洗いし、平らな場所で陰干ししてください。",
        "{material}の風合いを保つため、漂白剤と乾燥機のご使用はお控えください。",
        "軽い汚れは、中性洗剤を少量含ませたやわらかい布で拭き取れます。",
    ),
    "素材": (
        "{product}には、毎年産地を訪れて選んでいる{material}を使用しています。",
        "{brand}では、倉庫へ出荷する前にロットごとの色落ち検査を行っています。",
        "{colour}の染料はアゾ化合物を含まず、国内の安全基準を満たしています。",
    ),
    "保証": (
        "{brand}の{product}は、お届けから{n}年間、製造上の不具合を保証しています。",
        "保証のお申し込みには購入の証明として注文番号が必要です。",
        "経年劣化、事故による破損、お客様による改造は保証の対象外です。",
    ),
    "セット内容": (
        "{product}には取扱説明書と{material}の収納袋が付属しています。",
        "{colour}モデルの交換部品は、発売から{n}年間個別にご注文いただけます。",
        "梱包材は再生紙を使用しており、古紙としてリサイクルできます。",
    ),
    "在庫と再入荷": (
        "{colour}の{product}は品切れになりやすく、約{n}週間ごとに再入荷しています。",
        "商品ページの「入荷お知らせ」を押すと、再入荷の当日にメールでお知らせします。",
        "予約注文は、再入荷から{days}日以内にご注文順で発送します。",
    ),
    "店舗受け取り": (
        "{product}はご注文の{n}日後から{store}店で受け取れます。",
        "確認メールの受け取りコードをお持ちください。お荷物は7日間お預かりします。",
        "店舗で受け取った商品は、レシートがあれば同じ店舗で返品できます。",
    ),
    "ギフト対応": (
        "{product}は{yen}円で{colour}の包装紙とメッセージカードのギフト包装ができます。",
        "ギフト包装をお選びいただくと、納品書に金額を記載しません。",
        "一度のご注文で、複数のギフトを別々のお届け先に送ることができます。",
    ),
}
_JA_INTROS = (
    "{brand}の{product}（{colour}）についてよくあるご質問をまとめました。",
    "{brand}の{product}をご購入前に知っておきたいことをご案内します。",
    "{colour}の{product}（{brand}）について、お客様からよくいただくご質問です。",
)

_EN = (_EN_PRODUCTS, _EN_COLOURS, _EN_BRANDS, _EN_MATERIALS, _EN_STORES, _EN_TOPICS, _EN_INTROS)
_JA = (_JA_PRODUCTS, _JA_COLOURS, _JA_BRANDS, _JA_MATERIALS, _JA_STORES, _JA_TOPICS, _JA_INTROS)


def synthetic_article(number: int, lang: str) -> Article:
    """Synthetic article `number` in `lang` ("en" or "ja"): the same in every run."""
    products, colours, brands, materials, stores, topics, intros = _EN if lang == "en" else _JA
    rng = random.Random(f"kakehashi-bench-{lang}-{number}")
    slots = {
        "product": rng.choice(products),
        "colour": rng.choice(colours),
        "brand": rng.choice(brands),
        "material": rng.choice(materials),
        "store": rng.choice(stores),
        "n": rng.randint(2, 9),
        "deg": rng.choice((30, 40)),
        "days": rng.randint(3, 14),
        "yen": rng.choice((110, 220, 330, 550)),
    }
    headings = rng.sample(sorted(topics), SECTIONS)
    sections = [rng.choice(intros).format(**slots)]
    for heading in headings:
        sentences = rng.sample(topics[heading], 2 + rng.randint(0, 1))
        joined = (" " if lang == "en" else "").join(s.format(**slots) for s in sentences)
        sections.append(f"## {heading}\n{joined}")
    if lang == "en":
        title = f"{slots['brand']} {slots['product']} ({slots['colour']}): {headings[0].lower()}"
    else:
        title = f"{slots['brand']}の{slots['product']}（{slots['colour']}）：{headings[0]}"
    return Article(
        id=f"{ID_PREFIX}{lang}-{number:06d}",
        title=title,
        lang=lang,
        body="\n\n".join(sections),
        tags=("bench",),
    )


def synthetic_articles() -> Iterator[Article]:
    """Synthetic articles without end, English and Japanese in turn."""
    number = 0
    while True:
        yield synthetic_article(number, "en")
        yield synthetic_article(number, "ja")
        number += 1


def scale_kb(real: list[Article], chunks: int, max_chars: int = 1200) -> tuple[list[Article], int]:
    """The real articles plus synthetic ones until the knowledge base has at least `chunks`
    passages; returns the articles and their exact passage count."""
    articles = list(real)
    total = sum(len(chunk_article(a, max_chars)) for a in real)
    source = synthetic_articles()
    while total < chunks:
        article = next(source)
        articles.append(article)
        total += len(chunk_article(article, max_chars))
    return articles, total
