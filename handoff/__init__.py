"""Human handoff: conversation states, the queue of conversations waiting for a person.

Plain Python: nothing here imports the web layer.
"""

from handoff.states import ConversationState, IllegalTransition, check_transition

__all__ = ["ConversationState", "IllegalTransition", "check_transition"]
