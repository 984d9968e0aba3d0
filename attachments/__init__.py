"""Files customers and agents attach to a conversation: images and PDFs.

What a file is comes from its bytes, never from its name or the type a browser claims
(`kinds`); images are decoded to prove it and get a thumbnail (`images`); the bytes are
kept in a `FileStore` under their SHA-256 (`store`: on disk by default, another kind of
store later). `service.Attachments` joins them: check, store, and hand back for serving.

Plain Python: nothing here imports the web layer or the conversations.
"""
