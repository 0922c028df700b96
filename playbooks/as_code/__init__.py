"""Playbooks as code: a playbook as one versioned YAML document a person edits and reviews as a diff
(format.py: the document and its JSON Schema; services.py: export, and import that checks everything
first and changes nothing on any error)."""
