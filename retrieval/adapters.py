"""A LangChain retriever over `HybridRetriever`, so it plugs into any LangChain chain."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from retrieval.hybrid import HybridRetriever


class KakehashiRetriever(BaseRetriever):
    """Returns one `Document` per article: its best passages as content, with metadata
    `article_id`, `title`, `url`, `lang`, `score` and the query's `confidence`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: HybridRetriever
    k: int = 3
    mode: str = "hybrid"
    lang: str | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        result = self.retriever.retrieve(
            query, lang=kwargs.get("lang", self.lang), k=kwargs.get("k", self.k), mode=self.mode
        )
        return [
            Document(
                page_content="\n\n".join(p.text for p in article.passages),
                metadata={
                    "article_id": article.article_id,
                    "title": article.title,
                    "url": article.url,
                    "lang": article.lang,
                    "score": article.score,
                    "confidence": result.confidence if rank == 0 else None,
                    "headings": [p.heading for p in article.passages],
                },
            )
            for rank, article in enumerate(result.articles)
        ]
