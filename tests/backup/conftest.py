"""The backup command's package lives in the role (roles/backup/files/ft_backup)."""

import sys
from pathlib import Path

# No __pycache__ inside the role's files.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "roles" / "backup" / "files"))
