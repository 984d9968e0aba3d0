"""Delivery: how events reach the people watching, and the state servers must share.

Each piece is a small protocol with an in-process implementation (one server); a Redis
implementation beside each lets several servers share them, picked in `app/main.py`:

- `Hub`: publish/subscribe of events on channels (`channels` names them);
- `Locks`: one holder at a time per key (a conversation's messages are stored in order);
- `ReplyQueue`: jobs run in order per key, one key's jobs never blocking another's;
- `PresenceStore`: which agents are connected and available, with a grace period.

`EventBus` carries the domain's typed events (`events`) to listeners after the action's
transaction has committed; `HubDelivery` is the listener that turns them into frames.
Plain Python: nothing here imports the web layer or another domain package.
"""
