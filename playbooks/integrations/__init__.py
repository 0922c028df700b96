"""Integrations with the organisation's own tools: outgoing webhooks for incident events (which
events exist, what each carries) and the team channels (Slack, Teams) a playbook's notices go to.
The delivery itself (signing, attempts, retries) is comms'."""
