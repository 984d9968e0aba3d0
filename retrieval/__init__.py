"""Knowledge base loading and hybrid (dense + lexical) retrieval.

Plain Python: nothing here imports the web layer.
"""

from retrieval.kb import Article, KBProblem, LoadResult, load_kb

__all__ = ["Article", "KBProblem", "LoadResult", "load_kb"]
