"""Runtime: settings, database, migrations, checkpointers, logging, errors. Imports no sibling."""
