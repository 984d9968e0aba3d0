"""Evaluation of retrieval and answer quality on labelled customer messages."""
