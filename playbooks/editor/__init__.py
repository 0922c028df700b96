"""The playbook editor in the console: settings, stages, words per language and channel with a live
preview, the checklist, versions with their differences, duplicating and translating."""
