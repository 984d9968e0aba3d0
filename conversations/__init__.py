"""The customers' side of conversations: start, resume, receive, the bot's replies,
feedback, offline contact, ending and rating (CSAT).

Plain Python: nothing here imports the web layer. It depends on `handoff` only for the
conversation states and handoff reasons, and reaches the agents' side through the
`ports` protocols that `app/main.py` wires.
"""
