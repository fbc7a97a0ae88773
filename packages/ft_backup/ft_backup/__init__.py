"""ft-backup: consistent backups of freqtrade bots (trade databases, configs, strategies,
journals) into checksummed archives, with pruning, an optional restic copy and restore."""
