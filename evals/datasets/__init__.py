"""Golden datasets (JSONL) and the script that builds the retail one from the demo store."""
