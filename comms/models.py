"""How a thing is said and delivered: the outbox of messages and what providers report back."""
