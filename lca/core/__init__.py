"""The floor every package stands on, knowing nothing of HTTP: the database and its typed
base, configuration, the rule error, the audit writer, file storage and checked uploads, dates
and the Buddhist-era calendar."""
