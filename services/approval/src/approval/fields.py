"""Column types shared by approval's tables (the common ones live in invite_common.db)."""
from invite_common.db import UTCDateTimeField, utcnow

__all__ = ["UTCDateTimeField", "utcnow"]
