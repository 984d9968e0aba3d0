"""Exceptions raised by the retrieval package."""


class RetrievalError(Exception):
    """Base class for retrieval errors; `code` is a stable machine-readable name."""

    code = "retrieval_error"


class KBError(RetrievalError):
    """A knowledge-base file or folder cannot be used."""

    code = "kb_invalid"


class ModelLoadError(RetrievalError):
    """The embedding model could not be loaded from the local disk."""

    code = "model_unavailable"


class IndexMismatchError(RetrievalError):
    """A persisted index was built with another model or format."""

    code = "index_mismatch"
