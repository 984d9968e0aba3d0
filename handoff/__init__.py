"""Human handoff, the agents' side of the domain: the queue, assignment (claim,
transfer, hand back, close), presence, business hours, SLA, the summary, the states and
the reasons a conversation goes to a person.

Plain Python: nothing here imports the web layer.
"""
