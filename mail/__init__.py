"""E-mail: the support inbox the bot answers, agents' replies by mail, the outbox.

Inbound mail (IMAP, or SMTP straight to Kakehashi) is parsed (`parse`), screened for
robots (`robots`), threaded into its conversation (`threads`) and stored by `intake`;
outgoing mail waits in the database (`conversations.mailing` writes it with its message)
until `outbox` has sent it. See docs/email.md.
"""
