"""The bot: decides, per customer message, whether to answer, offer choices or hand off.

Plain Python: it returns decisions and never sends messages itself.
"""
