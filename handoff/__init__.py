"""Human handoff: the agent queue and conversation ownership (built in a later issue)."""
