"""The backup command's package (packages/ft_backup) is installed editable in the dev venv
(`make venv`)."""
